// SPDX-License-Identifier: Apache-2.0
// Outgoing calls bound to a context. See ctx/grpc/client_context.h.

#include "ctx/grpc/client_context.h"

#include <string>

#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"
#include "gpr_clock.h"
#include "grpc_timeout.h"
#include "mutex.h"

namespace ctx::grpc {
namespace internal {

// CancelTarget is the ClientContext an AfterFunc may cancel, shared between the
// BoundClientContext and its callback. Detach() makes later Cancel() calls
// no-ops and waits for one in progress (the lock is held across TryCancel,
// which does not block and takes no lock of ours).
class CancelTarget {
 public:
  explicit CancelTarget(::grpc::ClientContext* target) : target_(target) {}

  void Cancel() CTX_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    if (target_ != nullptr) target_->TryCancel();
  }

  void Detach() CTX_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    target_ = nullptr;
  }

 private:
  Mutex mu_;
  ::grpc::ClientContext* target_ CTX_GUARDED_BY(mu_);
};

}  // namespace internal

BoundClientContext::BoundClientContext(const Context& c,
                                       const ClientOptions& options)
    : context_(c) {
  const TimePoint now = Clock::now();
  if (std::optional<TimePoint> deadline = c.Deadline();
      deadline && *deadline != TimePoint::max()) {
    const TimePoint out = internal::OutgoingDeadline(*deadline, now, options);
    // Nothing left (out <= now): the infinite past, which gRPC fails at once,
    // before the call is sent (a deadline of about now would be rounded up and
    // sent).
    client_context_.set_deadline(out <= now
                                     ? gpr_inf_past(GPR_CLOCK_MONOTONIC)
                                     : internal::ToGprMonotonic(out, now));
  }
  if (options.forward_request_id) {
    if (const std::string* id = c.Value(kRequestIdKey);
        id && IsValidRequestId(*id)) {
      client_context_.AddMetadata(std::string(kRequestIdHeader), *id);
    }
  }
  if (options.forward_session_id) {
    if (const std::string* id = c.Value(kSessionIdKey);
        id && IsValidSessionId(*id)) {
      client_context_.AddMetadata(std::string(kSessionIdHeader), *id);
    }
  }
  if (options.forward_trace_context) {
    if (const TraceContext* tc = c.Value(kTraceContextKey)) {
      const OutgoingTraceHeaders out = OutgoingTrace(*tc);
      if (!out.traceparent.empty()) {
        client_context_.AddMetadata(std::string(kTraceparentHeader),
                                    out.traceparent);
      }
      if (!out.tracestate.empty()) {
        client_context_.AddMetadata(std::string(kTracestateHeader),
                                    std::string(out.tracestate));
      }
      if (!out.baggage.empty()) {
        client_context_.AddMetadata(std::string(kBaggageHeader),
                                    std::string(out.baggage));
      }
    }
  }
  if (options.forward_pass_through) {
    if (const PassThroughHeaders* pass = c.Value(kPassThroughKey)) {
      for (const PassThroughHeader& h : *pass) {
        if (IsValidPassThroughName(h.name) && IsValidPassThroughValue(h.value))
          client_context_.AddMetadata(h.name, h.value);
      }
    }
  }
  // Already done: fail the call before it starts, with the matching code and no
  // network I/O.
  if (const std::error_code err = c.Err()) {
    if (err == Errc::kDeadlineExceeded) {
      client_context_.set_deadline(gpr_inf_past(GPR_CLOCK_MONOTONIC));
    } else {
      client_context_.TryCancel();
    }
    return;
  }
  // Background and friends: nothing to watch.
  if (!c.Done().CanBeDone()) return;
  target_ = std::make_shared<internal::CancelTarget>(&client_context_);
  stop_ = AfterFunc(c, [target = target_, c] {
    // A context that reached its deadline needs no TryCancel: gRPC's own
    // deadline, earlier by the margin, ends the call and reports
    // DEADLINE_EXCEEDED rather than CANCELLED.
    if (c.Err() != Errc::kDeadlineExceeded) target->Cancel();
  });
}

BoundClientContext::~BoundClientContext() {
  stop_.Stop();
  // The callback may have started before Stop(): wait for it, and disarm it for
  // good.
  if (target_) target_->Detach();
}

}  // namespace ctx::grpc
