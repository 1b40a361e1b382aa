// SPDX-License-Identifier: Apache-2.0
// The handler's accessor. See ctx/grpc/call_context.h.

#include "ctx/grpc/call_context.h"

#include <optional>
#include <utility>

#include "call_registry.h"
#include "call_state.h"
#include "callback_context.h"
#include "sync_watcher.h"

namespace ctx::grpc {

Context CallContext(const ::grpc::ServerContextBase* server_context) {
  // The interceptor-free path (callback_server.h): the context lives in the
  // ServerContext itself. gRPC owns it as a mutable object; Get only builds the
  // context once, under the object's lock.
  if (internal::CallbackContext* own =
          internal::AsCallbackContext(server_context))
    return own->Get();
  internal::CallState* call = nullptr;
  std::optional<Context> context =
      server_context
          ? internal::CallRegistry::Global().Find(server_context, &call)
          : std::nullopt;
  if (!context) {
    auto [c, cancel] = WithCancelCause(Background());
    cancel(internal::NoCallContextCause());
    return c;
  }
  // Nested in the call's first hook (a sync handler, or another interceptor's
  // hook: see StartingCallScope): enroll it with the watcher. Compare first:
  // only then is `call` known to be alive.
  if (internal::StartingCallScope::Current() == call && !call->callback_api()) {
    call->watcher()->Watch(call);
  }
  return *std::move(context);
}

}  // namespace ctx::grpc
