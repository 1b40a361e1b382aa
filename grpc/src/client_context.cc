// SPDX-License-Identifier: Apache-2.0
// Outgoing calls bound to a context. See ctx/grpc/client_context.h.

#include "ctx/grpc/client_context.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "ctx/internal/margin.h"
#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"
#include "gpr_clock.h"
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

namespace {

// What gRPC's C++ core (1.51, transport/timeout_encoding.cc) sends as
// grpc-timeout for a timeout of `ms` milliseconds (ms >= 1): the value rounded
// UP to three significant digits of the largest unit it fits in (1 ms steps
// below 1 s, 10 ms below 10 s, 100 ms below 100 s, 1 s below 1000 s, 10 s,
// 100 s, then 10 and 100 minutes, then hours), at most 27000 hours.
constexpr int64_t kMsPerHour = 3'600'000;
constexpr int64_t kMaxSentMs = int64_t{27'000} * kMsPerHour;

int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// GrpcTimeoutStep is the step gRPC rounds a timeout of `ms` up to.
int64_t GrpcTimeoutStep(int64_t ms) {
  for (const int64_t unit : {int64_t{1}, int64_t{1'000}, int64_t{60'000}}) {
    const int64_t v = CeilDiv(ms, unit);
    if (v < 1'000) return unit;
    if (v < 10'000) return unit * 10;
    if (v < 100'000) return unit * 100;
  }
  return kMsPerHour;
}

// GrpcSentTimeout is what gRPC sends for a timeout of `ms` (>= 1).
int64_t GrpcSentTimeout(int64_t ms) {
  if (ms >= kMaxSentMs) return kMaxSentMs;
  const int64_t step = GrpcTimeoutStep(ms);
  return std::min(CeilDiv(ms, step) * step, kMaxSentMs);
}

// LargestSentAtMost is the largest timeout of at most `ms` (>= 1) that gRPC
// sends unchanged (GrpcSentTimeout(t) == t; GrpcSentTimeout is monotonic, so
// any timeout up to it is sent as at most it). Flooring to the step at `ms`
// gives it, except where that step is not one of the range below: just above
// 100000 minutes (10000 minutes and up go in 100-minute steps, 100000 in
// hours), 99960 minutes rounds up to 100000, which is itself sent as 1667
// hours. Then it floors again below.
int64_t LargestSentAtMost(int64_t ms) {
  if (ms >= kMaxSentMs) return kMaxSentMs;
  int64_t c = ms;
  for (;;) {
    const int64_t floor = c - c % GrpcTimeoutStep(c);
    if (GrpcSentTimeout(floor) == floor) return floor;
    c = floor - 1;  // ends: below 1 s every value is sent unchanged
  }
}

// OutgoingDeadline is the deadline to give gRPC for a call made under a context
// whose deadline is `deadline`, or `now` when nothing is left (fail fast).
//
// What the callee gets must end before `deadline`. gRPC sends the deadline as
// a timeout: the client computes it in whole milliseconds (the deadline
// rounded up, its clock rounded down: up to 1 ms more) and rounds that up to
// three significant digits (GrpcSentTimeout); the callee adds it to its own
// clock, read in whole milliseconds (up to 1 ms later). So the budget is what
// is left minus the options' margin (the hop's latency) and kCalleeSlack,
// rounded down to a timeout gRPC sends unchanged, and the deadline handed to
// gRPC is client_slack (and kCrossing) earlier still, so that its own rounding
// lands on that timeout and not on the next step up.
TimePoint OutgoingDeadline(TimePoint deadline, TimePoint now,
                           const ClientOptions& options) {
  constexpr Clock::duration kCalleeSlack = std::chrono::milliseconds(1);
  // Checked first: no difference is taken with a deadline far in the past.
  if (deadline <= now) return now;
  const Clock::duration remaining = deadline - now;
  // client_slack: the client's rounding (1 ms), and its clock, which gRPC
  // caches per unit of work and which was seen 2 ms or more ahead of
  // CLOCK_MONOTONIC in the timeouts it sent (10058 ms left went out as 10100m
  // under TSan): 1 ms + 0.1 % of what is left.
  const Clock::duration client_slack =
      std::chrono::milliseconds(2) + remaining / 1000;
  // kCrossing: the conversion to gRPC's clock (ToGprMonotonic: a kept offset
  // is off by at most kTightPair / 2) can be off by a few microseconds; a
  // deadline past the target by even 1 ns is rounded up by a whole
  // millisecond.
  constexpr Clock::duration kCrossing = std::chrono::microseconds(20);
  const Clock::duration proportional = ::ctx::internal::ProportionalMargin(
      remaining, options.deadline_margin_ratio);
  const Clock::duration margin =
      std::max(Clock::duration::zero(), options.deadline_margin);
  const Clock::duration spare = remaining - proportional;
  if (margin >= spare) return now;
  const int64_t budget_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(spare - margin -
                                                            kCalleeSlack)
          .count();
  // Less than a millisecond to send: fail fast.
  if (budget_ms < 1) return now;
  const TimePoint out =
      now + std::chrono::milliseconds(LargestSentAtMost(budget_ms));
  return out - now > client_slack + kCrossing ? out - client_slack - kCrossing
                                              : now;
}

}  // namespace

BoundClientContext::BoundClientContext(const Context& c,
                                       const ClientOptions& options)
    : context_(c) {
  const TimePoint now = Clock::now();
  if (std::optional<TimePoint> deadline = c.Deadline();
      deadline && *deadline != TimePoint::max()) {
    const TimePoint out = OutgoingDeadline(*deadline, now, options);
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
