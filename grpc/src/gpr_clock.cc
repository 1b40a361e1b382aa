#include "gpr_clock.h"

#include <chrono>
#include <cstdint>

#include "ctx/internal/clock_pair.h"

namespace ctx::grpc::internal {
namespace {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

__int128 Nanos(gpr_timespec t) {
  return static_cast<__int128>(t.tv_sec) * kNanosPerSecond + t.tv_nsec;
}

int64_t Nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

}  // namespace

std::optional<TimePoint> FromGprDeadline(gpr_timespec deadline) {
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
    return std::nullopt;
  const auto [now, gpr_now_t] = ctx::internal::NowWith(
      [type = deadline.clock_type] { return gpr_now(type); });
  const __int128 ns = Nanos(now) + (Nanos(deadline) - Nanos(gpr_now_t));
  if (ns >= Nanos(TimePoint::max())) return TimePoint::max();
  if (ns <= Nanos(TimePoint::min())) return TimePoint::min();
  return TimePoint(std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(static_cast<int64_t>(ns))));
}

gpr_timespec ToGprMonotonic(TimePoint t) {
  if (t == TimePoint::max()) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  const auto [now, gpr_now_t] =
      ctx::internal::NowWith([] { return gpr_now(GPR_CLOCK_MONOTONIC); });
  const __int128 ns = Nanos(gpr_now_t) + (Nanos(t) - Nanos(now));
  if (ns <= 0) return gpr_time_0(GPR_CLOCK_MONOTONIC);  // long past
  if (ns >= static_cast<__int128>(INT64_MAX) * kNanosPerSecond)
    return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  gpr_timespec out;
  out.tv_sec = static_cast<int64_t>(ns / kNanosPerSecond);
  out.tv_nsec = static_cast<int32_t>(ns % kNanosPerSecond);
  out.clock_type = GPR_CLOCK_MONOTONIC;
  return out;
}

}  // namespace ctx::grpc::internal
