// SPDX-License-Identifier: Apache-2.0
// grpc/src/callback_context.h: the CallbackServerContext that
// MakeContextAllocator's allocator hands to gRPC (ctx/grpc/callback_server.h).
// Internal.
#ifndef CTX_GRPC_SRC_CALLBACK_CONTEXT_H_
#define CTX_GRPC_SRC_CALLBACK_CONTEXT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <optional>
#include <typeinfo>

#include "call_state.h"
#include "ctx/context.h"
#include "ctx/grpc/server_interceptor.h"
#include "mutex.h"

namespace ctx::grpc::internal {

// CallbackContext is one callback call's grpc::CallbackServerContext with the
// call's ctx state inside: the context, built on first use (Get), and the
// reactor that ends it. gRPC allocates one per call through the allocator and
// releases it after the call's OnDone.
class CallbackContext final : public ::grpc::CallbackServerContext {
 public:
  // `options`: normalized (NormalizeOptions), outlives this object.
  // gRPC allocates the context when it matches the call to a method (for a
  // unary call, once its message is read; gRPC 1.51's CallbackRequest): the
  // budget counts from then, however late the handler first asks for the
  // context. The allocator must therefore create contexts on demand, never
  // ahead of time.
  explicit CallbackContext(const ServerOptions* options) noexcept
      : options_(options), arrived_(Clock::now()), reactor_(this) {}

  // Get returns the call's context, building it on the first call (see
  // BuildCall). Thread-safe. Call it while the call's metadata is readable
  // (from the handler on).
  Context Get();
  // End ends the call's context with `cause` (see CallState::End); before the
  // context is built, it records `cause` (the first one) and when it came, for
  // Get to apply as of then: a client's cancel long before the deadline ends
  // the context with kCanceled even when the handler first asks for it once
  // the deadline is due or past, as on the interceptor path.
  // `cause` must outlive this object (the bridge's causes live forever).
  void End(const Error& cause) noexcept;
  // BelowMinimum builds the context if needed and says whether the call
  // arrived with less budget than ServerOptions::min_timeout.
  bool BelowMinimum();

  ::grpc::ServerUnaryReactor* reactor() noexcept { return &reactor_; }

 private:
  // Reactor ends its owner's context on OnCancel and OnDone; nothing else.
  class Reactor final : public ::grpc::ServerUnaryReactor {
   public:
    explicit Reactor(CallbackContext* owner) noexcept : owner_(owner) {}
    void OnCancel() override;
    void OnDone() override;
    // Its reactions only cancel a context (whose callbacks must not block,
    // see callback_server.h): gRPC may run them inline, without a hop through
    // its executor.
    bool InternalInlineable() override { return true; }

   private:
    CallbackContext* const owner_;
  };

  const ServerOptions* const options_;
  const TimePoint arrived_;
  Reactor reactor_;
  mutable Mutex mu_;
  // call_: built by the first Get (under mu_), never reset; once set, read
  // without mu_ (it lives as long as this object).
  std::optional<CallState> call_;
  // ended_, ended_at_: the first End's cause while call_ was not built yet,
  // and when it came (under mu_).
  const Error* ended_ CTX_GUARDED_BY(mu_) = nullptr;
  TimePoint ended_at_ CTX_GUARDED_BY(mu_);
  bool below_minimum_ CTX_GUARDED_BY(mu_) = false;
};

// AsCallbackContext returns `sc` as the allocator's CallbackContext, or null
// when it is another kind of context (or null). CallbackContext is final, so
// an exact type match is the whole test, at a fraction of a dynamic_cast's
// cost on every call.
inline CallbackContext* AsCallbackContext(
    const ::grpc::ServerContextBase* sc) noexcept {
  if (sc == nullptr || typeid(*sc) != typeid(CallbackContext)) return nullptr;
  // gRPC hands the allocator's contexts to handlers as mutable objects; Get
  // and End lock what they change.
  return const_cast<CallbackContext*>(static_cast<const CallbackContext*>(sc));
}

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALLBACK_CONTEXT_H_
