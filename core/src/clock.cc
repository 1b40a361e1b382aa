// SPDX-License-Identifier: Apache-2.0
#include "ctx/clock.h"

#include "ctx/internal/clock_pair.h"

namespace ctx {
namespace {

using SysClock = std::chrono::system_clock;

// Shift returns t re-expressed on another clock (to_now + (t - from_now)),
// computed in 128 bits and clamped to the target's range, so no input
// overflows.
template <class To, class FromPoint>
To Shift(FromPoint t, FromPoint from_now, To to_now) {
  return internal::FromNanos<To>(internal::NanosOf(t) -
                                 internal::NanosOf(from_now) +
                                 internal::NanosOf(to_now));
}

}  // namespace

std::optional<Clock::duration> Remaining(const Context& c, TimePoint now) {
  std::optional<TimePoint> d = c.Deadline();
  if (!d) return std::nullopt;
  if (*d == TimePoint::max()) return Clock::duration::max();
  if (*d == TimePoint::min()) return Clock::duration::min();
  // In 128 bits, clamped: *d - now overflows when they are far apart.
  const __int128 left = internal::NanosOf(*d) - internal::NanosOf(now);
  if (left >= internal::NanosOf(TimePoint::max()))
    return Clock::duration::max();
  if (left <= internal::NanosOf(TimePoint::min()))
    return Clock::duration::min();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(static_cast<int64_t>(left)));
}

SysClock::time_point ToSystemTime(TimePoint t) {
  if (t == TimePoint::max()) return SysClock::time_point::max();
  if (t == TimePoint::min()) return SysClock::time_point::min();
  const auto [now, sys_now] = internal::NowWith(&SysClock::now);
  return Shift<SysClock::time_point>(t, now, sys_now);
}

TimePoint FromSystemTime(SysClock::time_point t) {
  if (t == SysClock::time_point::max()) return TimePoint::max();
  if (t == SysClock::time_point::min()) return TimePoint::min();
  const auto [now, sys_now] = internal::NowWith(&SysClock::now);
  return Shift<TimePoint>(t, sys_now, now);
}

}  // namespace ctx
