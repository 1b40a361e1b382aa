// SPDX-License-Identifier: Apache-2.0
// grpc/src/gpr_clock.h: deadlines between ctx::Clock and gRPC's own clocks
// (gpr_timespec), without a detour through system_clock. Internal.
//
// grpc::ServerContext::deadline() and ClientContext::set_deadline(system_clock)
// each cross between gRPC's monotonic clock and the system clock from two clock
// reads a preempted thread can take apart (seen: a deadline 180 ms late under
// TSan). These functions make one crossing, between ctx::Clock and the gpr
// clock the deadline is on, read at one instant (internal::NowWith).

#ifndef CTX_GRPC_SRC_GPR_CLOCK_H_
#define CTX_GRPC_SRC_GPR_CLOCK_H_

#include <grpc/support/time.h>

#include <chrono>
#include <optional>

#include "ctx/done_signal.h"

namespace ctx::grpc::internal {

// NanosOf is t's distance from its clock's epoch in nanoseconds (wide enough
// for sums and differences of a few such values).
__int128 NanosOf(gpr_timespec t);

// FromGprDeadline converts a deadline on any gpr clock to ctx::Clock, or
// nullopt for gpr's infinite future (no deadline). Saturates: an absurd
// deadline maps to TimePoint::min() or TimePoint::max() - 1 ns (finite: in ctx
// TimePoint::max() means "never"), never overflows.
//
// A deadline on gpr's monotonic clock (what a server call's is) converts by
// the two clocks' offset, measured (NowWith) at most kGprOffsetLifetime before
// `now` on ctx::Clock, so most conversions read no clock; the two clocks tick
// at one rate (both are CLOCK_MONOTONIC), so the offset is as exact as one
// measured for this call (were gpr's clock replaced by one that drifts, the
// error would be their drift over kGprOffsetLifetime). Any other gpr clock is
// read at the call. `now` is ctx::Clock's reading at about this instant.
// Thread-safe.
std::optional<TimePoint> FromGprDeadline(gpr_timespec deadline, TimePoint now);
inline constexpr Clock::duration kGprOffsetLifetime =
    std::chrono::milliseconds(100);

// ToGprMonotonic converts t to gRPC's monotonic clock (what gRPC uses inside,
// so a ClientContext given it converts nothing). TimePoint::max() maps to the
// infinite future.
gpr_timespec ToGprMonotonic(TimePoint t);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_GPR_CLOCK_H_
