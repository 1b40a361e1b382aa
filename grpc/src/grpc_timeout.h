// SPDX-License-Identifier: Apache-2.0
// grpc/src/grpc_timeout.h: the grpc-timeout gRPC's C++ core (1.51) sends for
// a deadline, and the deadline to hand it so that what the callee gets ends
// before the caller's own. Internal.
//
// gRPC sends a deadline as a timeout: it takes its clock (cached per unit of
// work, so possibly some time behind), the deadline rounded up and the clock
// rounded down to whole milliseconds, and rounds the difference UP to three
// significant digits of the largest unit it fits in (1 ms steps below 1 s,
// 10 ms below 10 s, 100 ms below 100 s, 1 s below 1000 s, 10 s, 100 s, then
// 10 and 100 minutes, then hours), at most 27000 hours; a whole number of
// minutes it re-encodes in minutes, rounding up again from 1000 minutes. Its
// HPACK encoder may then send, in place of that, a timeout it sent earlier on
// the connection that is up to about 3.1 % longer.

#ifndef CTX_GRPC_SRC_GRPC_TIMEOUT_H_
#define CTX_GRPC_SRC_GRPC_TIMEOUT_H_

#include <cstdint>

#include "ctx/done_signal.h"
#include "ctx/grpc/client_context.h"

namespace ctx::grpc::internal {

// GrpcSentTimeout is what gRPC sends for a timeout of `ms` (>= 1)
// milliseconds. Monotonic.
int64_t GrpcSentTimeout(int64_t ms);

// LargestSentAtMost is the largest timeout of at most `ms` (>= 1) that gRPC
// sends unchanged (GrpcSentTimeout(t) == t).
int64_t LargestSentAtMost(int64_t ms);

// WorstOvershoot is the most GrpcSentTimeout rounds up a timeout in
// (lo, hi], for lo sent unchanged and lo < hi: max of GrpcSentTimeout(y) - y.
int64_t WorstOvershoot(int64_t lo, int64_t hi);

// AimedTimeout is the timeout, sent unchanged, to aim for with `budget_ms`
// (>= 1) to spend and a gRPC clock up to `window_ms` (>= 0) behind: a t <=
// budget_ms such that every timeout y in (t, t + window_ms] is sent as at most
// budget_ms + (y - t), so that a clock s behind costs the callee at most s
// beyond the budget; the first it finds going down from the largest sent
// unchanged, which may be up to one step short of the largest. 0 when it
// finds none >= 1.
int64_t AimedTimeout(int64_t budget_ms, int64_t window_ms);

// OutgoingDeadline is the deadline to give gRPC for a call made at `now` under
// a context whose deadline is `deadline`, with `options`' margin and resent
// timeouts (see ClientOptions); `now` when nothing is left to send (fail
// fast). What the callee's ServerContext gets ends before `deadline` as long as
// the hop's latency plus how far gRPC's clock lags behind stay under the
// margin.
TimePoint OutgoingDeadline(TimePoint deadline, TimePoint now,
                           const ClientOptions& options);

// OutgoingClientSlack is how much earlier than the aimed timeout
// OutgoingDeadline hands gRPC the deadline, with `remaining` left: gRPC's
// rounding to whole milliseconds and the conversion to its clock.
Clock::duration OutgoingClientSlack(Clock::duration remaining);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_GRPC_TIMEOUT_H_
