// SPDX-License-Identifier: Apache-2.0
// grpc/src/gpr_clock.h: deadlines between ctx::Clock and gRPC's own clocks
// (gpr_timespec), without a detour through system_clock. Internal.
//
// grpc::ServerContext::deadline() and ClientContext::set_deadline(system_clock)
// each cross between gRPC's monotonic clock and the system clock from two clock
// reads a preempted thread can take apart (seen: a deadline 180 ms late under
// TSan). These functions make one crossing, between ctx::Clock and the gpr
// clock the deadline is on, read at one instant (internal::ReadClockPair); for
// gRPC's monotonic clock, the pair's offset is reused (FromGprDeadline,
// ToGprMonotonic).

#ifndef CTX_GRPC_SRC_GPR_CLOCK_H_
#define CTX_GRPC_SRC_GPR_CLOCK_H_

#include <grpc/support/time.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "ctx/done_signal.h"

namespace ctx::grpc::internal {

// NanosOf is t's distance from its clock's epoch in nanoseconds (wide enough
// for sums and differences of a few such values).
__int128 NanosOf(gpr_timespec t);

// kGprOffsetLifetime is how long FromGprDeadline reuses a measured offset
// between ctx::Clock and gpr's monotonic clock.
inline constexpr Clock::duration kGprOffsetLifetime =
    std::chrono::milliseconds(100);

// FromGprDeadline converts a deadline on any gpr clock to ctx::Clock, or
// nullopt for gpr's infinite future (no deadline). Saturates: an absurd
// deadline maps to TimePoint::min() or TimePoint::max() - 1 ns (finite: in ctx
// TimePoint::max() means "never"), never overflows. Thread-safe.
//
// `now` is a ctx::Clock reading taken just before the call. A deadline on
// gpr's monotonic clock (a server call's) converts by the clocks' offset as
// last measured, if that was within kGprOffsetLifetime of `now`, else by a new
// measurement (internal::ReadClockPair), kept for other calls only if tight.
// Both clocks are CLOCK_MONOTONIC, so the offset never changes and a kept one
// is off by at most kTightPair / 2; a loose one serves its own call, as a
// deadline on another gpr clock does (a pair read per call). Were gpr's clock
// replaced (gpr_now_impl), conversions would follow within kGprOffsetLifetime.
std::optional<TimePoint> FromGprDeadline(gpr_timespec deadline, TimePoint now);

// ResetGprOffsetForTesting forgets the kept offset, and leaves `poison` in its
// place for a reader that would take it without a measurement's time. Not
// thread-safe: no conversion may run beside it.
void ResetGprOffsetForTesting(int64_t poison);

// GprMonotonicFromNanos is the time `ns` nanoseconds from the epoch of gpr's
// monotonic clock (|ns| < 2^64: the seconds stay finite).
gpr_timespec GprMonotonicFromNanos(__int128 ns);

// ToGprMonotonic converts t to gRPC's monotonic clock (what gRPC uses inside,
// so a ClientContext given it converts nothing), by the offset FromGprDeadline
// keeps (measured again, as there, unless kept within kGprOffsetLifetime of
// `now`, a ctx::Clock reading taken just before the call; were gpr's clock
// replaced, conversions would follow within kGprOffsetLifetime).
// TimePoint::max() maps to the infinite future; any other t to a finite time.
// Thread-safe.
gpr_timespec ToGprMonotonic(TimePoint t, TimePoint now);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_GPR_CLOCK_H_
