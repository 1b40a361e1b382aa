// SPDX-License-Identifier: Apache-2.0
#include "gpr_clock.h"

#include <algorithm>
#include <cstdint>

#include "ctx/internal/clock_pair.h"

namespace ctx::grpc::internal {

__int128 NanosOf(gpr_timespec t) {
  return static_cast<__int128>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

std::optional<TimePoint> FromGprDeadline(gpr_timespec deadline) {
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
    return std::nullopt;
  const auto [now, gpr_now_t] = ctx::internal::NowWith(
      [type = deadline.clock_type] { return gpr_now(type); });
  // A finite deadline stays finite: TimePoint::max() means "never" in ctx,
  // and a context bound for a call would then forward no deadline at all.
  return std::min(
      ctx::internal::FromNanos<TimePoint>(
          ctx::internal::NanosOf(now) + NanosOf(deadline) - NanosOf(gpr_now_t)),
      TimePoint::max() - Clock::duration(1));
}

gpr_timespec ToGprMonotonic(TimePoint t) {
  if (t == TimePoint::max()) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  const auto [now, gpr_now_t] =
      ctx::internal::NowWith([] { return gpr_now(GPR_CLOCK_MONOTONIC); });
  // gpr's arithmetic saturates at its infinities; the delta fits: both points
  // are steady_clock nanoseconds.
  const __int128 delta =
      ctx::internal::NanosOf(t) - ctx::internal::NanosOf(now);
  const int64_t clamped = static_cast<int64_t>(
      std::clamp<__int128>(delta, INT64_MIN + 1, INT64_MAX - 1));
  return gpr_time_add(gpr_now_t, gpr_time_from_nanos(clamped, GPR_TIMESPAN));
}

}  // namespace ctx::grpc::internal
