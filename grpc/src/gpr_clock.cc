// SPDX-License-Identifier: Apache-2.0
#include "gpr_clock.h"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "ctx/internal/clock_pair.h"

namespace ctx::grpc::internal {

__int128 NanosOf(gpr_timespec t) {
  return static_cast<__int128>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

namespace {

// The offset of ctx::Clock from gpr's monotonic clock, in nanoseconds, and the
// ctx::Clock nanoseconds at which it was measured. A reader that sees a
// measurement's time (acquire) sees that measurement's offset or a later one's:
// any of them is a valid offset.
constinit std::atomic<int64_t> g_monotonic_offset_ns{0};
constinit std::atomic<int64_t> g_offset_measured_at_ns{INT64_MIN};

int64_t ClampToInt64(__int128 v) {
  return static_cast<int64_t>(std::clamp<__int128>(v, INT64_MIN, INT64_MAX));
}

// OffsetOf is the offset of ctx::Clock from the gpr clock a pair read.
__int128 OffsetOf(const ctx::internal::ClockPair<gpr_timespec>& pair) {
  return ctx::internal::NanosOf(pair.now) - NanosOf(pair.other);
}

// MonotonicOffsetNs returns the offset, measuring it again unless the last
// kept measurement lies within kGprOffsetLifetime of `now`.
int64_t MonotonicOffsetNs(TimePoint now) {
  constexpr int64_t kLifetimeNs =
      std::chrono::nanoseconds(kGprOffsetLifetime).count();
  const int64_t at = g_offset_measured_at_ns.load(std::memory_order_acquire);
  const __int128 age = ctx::internal::NanosOf(now) - at;
  if (at != INT64_MIN && age <= kLifetimeNs && age >= -kLifetimeNs)
    return g_monotonic_offset_ns.load(std::memory_order_relaxed);
  const auto pair =
      ctx::internal::ReadClockPair([] { return gpr_now(GPR_CLOCK_MONOTONIC); });
  const int64_t offset = ClampToInt64(OffsetOf(pair));
  // A loose pair serves this call only: kept, its error would reach every
  // call for the offset's lifetime.
  if (pair.tight) {
    g_monotonic_offset_ns.store(offset, std::memory_order_relaxed);
    g_offset_measured_at_ns.store(
        std::chrono::nanoseconds(pair.now.time_since_epoch()).count(),
        std::memory_order_release);
  }
  return offset;
}

}  // namespace

void ResetGprOffsetForTesting(int64_t poison) {
  g_monotonic_offset_ns.store(poison, std::memory_order_relaxed);
  g_offset_measured_at_ns.store(INT64_MIN, std::memory_order_release);
}

std::optional<TimePoint> FromGprDeadline(gpr_timespec deadline, TimePoint now) {
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0)
    return std::nullopt;
  const __int128 offset =
      deadline.clock_type == GPR_CLOCK_MONOTONIC
          ? MonotonicOffsetNs(now)
          : OffsetOf(ctx::internal::ReadClockPair(
                [type = deadline.clock_type] { return gpr_now(type); }));
  // A finite deadline stays finite: TimePoint::max() means "never" in ctx,
  // and a context bound for a call would then forward no deadline at all.
  return std::min(
      ctx::internal::FromNanos<TimePoint>(NanosOf(deadline) + offset),
      TimePoint::max() - Clock::duration(1));
}

gpr_timespec GprMonotonicFromNanos(__int128 ns) {
  // Floor division: tv_nsec in [0, 1e9).
  constexpr __int128 kNs = 1'000'000'000;
  __int128 sec = ns / kNs;
  __int128 nsec = ns % kNs;
  if (nsec < 0) {
    nsec += kNs;
    --sec;
  }
  gpr_timespec out;
  out.clock_type = GPR_CLOCK_MONOTONIC;
  out.tv_sec = static_cast<int64_t>(sec);
  out.tv_nsec = static_cast<int32_t>(nsec);
  return out;
}

gpr_timespec ToGprMonotonic(TimePoint t, TimePoint now) {
  if (t == TimePoint::max()) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  // Both terms are int64 nanoseconds, so |ns| < 2^64 and its seconds (under
  // 2^35) stay far from gpr's infinities (INT64_MIN and INT64_MAX seconds).
  return GprMonotonicFromNanos(ctx::internal::NanosOf(t) -
                               MonotonicOffsetNs(now));
}

}  // namespace ctx::grpc::internal
