// The handler's accessor. See ctx/grpc/call_context.h.

#include "ctx/grpc/call_context.h"

#include <memory>

#include "call_state.h"
#include "sync_watcher.h"

namespace ctx::grpc {

Context CallContext(const ::grpc::ServerContextBase* server_context) {
  std::shared_ptr<internal::CallState> call =
      server_context ? internal::CallRegistry::Global().Find(server_context)
                     : nullptr;
  if (!call) {
    auto [c, cancel] = WithCancelCause(Background());
    cancel(internal::NoCallContextCause());
    return c;
  }
  // On a sync handler's own thread (nested in the call's first hook): enroll it
  // with the watcher.
  if (!call->callback_api() &&
      internal::StartingCallScope::Current() == call.get()) {
    call->watcher()->Watch(call);
  }
  return call->context();
}

std::ostream& operator<<(std::ostream& os, const CallInfo& info) {
  return os << "method=" << LogSafe(info.method, 256)
            << " peer=" << LogSafe(info.peer, 256);
}

}  // namespace ctx::grpc
