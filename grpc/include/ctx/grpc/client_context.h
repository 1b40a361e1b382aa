// SPDX-License-Identifier: Apache-2.0
// ctx/grpc/client_context.h: an outgoing gRPC call that carries a ctx::Context.
//
// BoundClientContext owns a grpc::ClientContext set up from a context: the
// remaining deadline (minus a safety margin), the request id and session id as
// metadata, and cancellation: when the context is canceled, so is the call
// (TryCancel). A context that is already done makes the call fail at once,
// without reaching the network.
//
//   ctx::Context c = ctx::grpc::CallContext(sc);  // or any other context
//   ctx::grpc::BoundClientContext call(c);
//   grpc::Status s = stub->Echo(call.get(), request, &response);
//   if (!s.ok() && c.Err()) return ctx::grpc::StatusFromContext(c);
//
// Main names: ClientOptions, BoundClientContext.

#ifndef CTX_GRPC_CLIENT_CONTEXT_H_
#define CTX_GRPC_CLIENT_CONTEXT_H_

#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>

#include "ctx/context.h"
#include "ctx/export.h"

namespace ctx::grpc {

namespace internal {
class CancelTarget;
}  // namespace internal

// ClientOptions configures BoundClientContext. The defaults suit a service
// calling another service.
struct ClientOptions {
  // deadline_margin and deadline_margin_ratio shorten the budget sent
  // downstream to remaining - deadline_margin - remaining *
  // deadline_margin_ratio - 1 ms (and by 3.1 % of that and of the margin, see
  // allow_for_resent_timeouts), then aim below it for a grpc-timeout gRPC
  // sends unchanged (three significant digits: 1 ms steps below 1 s, 10 ms
  // below 10 s, 100 ms below 100 s, 1 s below 1000 s, ...; at most 27000
  // hours) such that gRPC's cached clock, lagging by less than the margin,
  // cannot make it round up past the budget plus that lag (which costs up to
  // one step more), and hand gRPC the deadline 2 ms + 0.1 % earlier still for
  // its rounding to whole milliseconds. What the callee's ServerContext gets
  // therefore ends before the caller's deadline while the time the call took
  // to arrive plus that lag stay under the margin: the margin should cover
  // the hop's latency. A remaining budget too small for that fails the call
  // with DEADLINE_EXCEEDED without sending it. Defaults: 1 ms and 0.5 %.
  Clock::duration deadline_margin = std::chrono::milliseconds(1);
  double deadline_margin_ratio = 0.005;

  // allow_for_resent_timeouts: gRPC's C++ client may send, in place of a
  // call's grpc-timeout, one it sent earlier on the same connection when the
  // call's is shorter by less than 3 % of it (so up to about 3.1 % longer; its
  // HPACK encoder saves the header's bytes so). true (default): the budget
  // aimed at is cut by 3.1 % of itself and of the margin, so that the callee
  // still ends first. Set it to false only for channels made with the channel
  // argument grpc.http2.hpack_table_size.encoder = 0, which keeps gRPC from
  // doing so.
  bool allow_for_resent_timeouts = true;

  // forward_request_id / forward_session_id: send the context's
  // ctx::kRequestIdKey / ctx::kSessionIdKey values as x-request-id /
  // x-session-id metadata. Values that fail IsValidRequestId / IsValidSessionId
  // are not sent (gRPC's C++ client would abort the process on a value with
  // bytes outside 0x20..0x7E, and others would be refused or logged raw
  // downstream). Defaults: true.
  bool forward_request_id = true;
  bool forward_session_id = true;

  // forward_trace_context: send the context's ctx::kTraceContextKey value as
  // traceparent (same trace id and flags, a new span id per call), tracestate
  // and baggage metadata (see ctx::OutgoingTrace). Default true.
  bool forward_trace_context = true;

  // forward_pass_through: send the context's ctx::kPassThroughKey headers
  // (those that still pass IsValidPassThroughName / IsValidPassThroughValue)
  // as metadata. Default true.
  bool forward_pass_through = true;
};

// BoundClientContext is a grpc::ClientContext bound to a ctx::Context for one
// call.
//
// Construction (on any thread) reads the context once: it sets the deadline and
// metadata, and arranges for TryCancel() to be called when the context is
// canceled (via ctx::AfterFunc; the TryCancel runs on the thread that cancels
// the context). A context that ends by its deadline needs no TryCancel: gRPC's
// own deadline, earlier by the margin, ends the call with DEADLINE_EXCEEDED. A
// context that is already done before the call starts makes the call fail fast
// without network I/O: DEADLINE_EXCEEDED if it ended by its deadline, else
// CANCELLED.
//
// Lifetime: use get() for exactly one call, as with grpc::ClientContext, and
// keep this object alive until that call has completed. The destructor first
// stops the cancel registration and waits for a TryCancel that is running on
// another thread, so no callback ever touches a destroyed ClientContext; do not
// destroy it from inside a callback of the same context. Neither copyable nor
// movable.
//
// Thread-safety: get() and the accessors may be called from any thread; using
// the grpc::ClientContext is subject to gRPC's rules (set its options before
// the call starts).
class [[nodiscard]] BoundClientContext {
 public:
  CTX_EXPORT explicit BoundClientContext(const Context& c,
                                         const ClientOptions& options = {});
  CTX_EXPORT ~BoundClientContext();

  BoundClientContext(const BoundClientContext&) = delete;
  BoundClientContext& operator=(const BoundClientContext&) = delete;
  BoundClientContext(BoundClientContext&&) = delete;
  BoundClientContext& operator=(BoundClientContext&&) = delete;

  // get returns the grpc::ClientContext to pass to a stub. The same pointer on
  // every call.
  [[nodiscard]] ::grpc::ClientContext* get() noexcept {
    return &client_context_;
  }
  [[nodiscard]] ::grpc::ClientContext& operator*() noexcept {
    return client_context_;
  }
  [[nodiscard]] ::grpc::ClientContext* operator->() noexcept {
    return &client_context_;
  }

  // context returns the ctx::Context the call is bound to.
  [[nodiscard]] const Context& context() const noexcept { return context_; }

 private:
  // client_context_ is declared first so that it is destroyed last: the
  // destructor body detaches the cancel callback from it before anything is
  // torn down.
  ::grpc::ClientContext client_context_;
  Context context_;
  // target_: what the AfterFunc callback cancels; shared with the callback,
  // cleared by the destructor.
  std::shared_ptr<internal::CancelTarget> target_;
  StopFunc stop_;
};

}  // namespace ctx::grpc

#endif  // CTX_GRPC_CLIENT_CONTEXT_H_
