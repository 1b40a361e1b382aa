// SPDX-License-Identifier: Apache-2.0
// ctx/internal/clock_pair.h: reading ctx::Clock and another clock at one
// instant, for converting deadlines between them (ctx/clock.h, the gRPC
// bridge's gpr clocks). Not API.

#ifndef CTX_INTERNAL_CLOCK_PAIR_H_
#define CTX_INTERNAL_CLOCK_PAIR_H_

#include <chrono>
#include <utility>

#include "ctx/done_signal.h"

namespace ctx::internal {

// NanosOf is t's distance from its clock's epoch in nanoseconds, wide enough
// that sums and differences of a few such values cannot overflow.
template <class TimePointT>
__int128 NanosOf(TimePointT t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}

// FromNanos is the TimePointT `ns` nanoseconds after its epoch, clamped to its
// range (saturating, never overflowing).
template <class TimePointT>
TimePointT FromNanos(__int128 ns) {
  if (ns >= NanosOf(TimePointT::max())) return TimePointT::max();
  if (ns <= NanosOf(TimePointT::min())) return TimePointT::min();
  return TimePointT(std::chrono::duration_cast<typename TimePointT::duration>(
      std::chrono::nanoseconds(static_cast<int64_t>(ns))));
}

// ClockPair is ctx::Clock's reading and another clock's, taken together;
// `tight` says the two were read within kTightPair of each other, so `now` is
// off from the instant of `other` by at most half of that.
template <class Other>
struct ClockPair {
  TimePoint now;
  Other other;
  bool tight;
};
inline constexpr std::chrono::microseconds kTightPair{20};

// ReadClockPair reads Clock, then read_other(), then Clock again, retried when
// the two Clock reads are more than kTightPair apart (the thread was preempted
// in between, which would shift every time converted with the pair by the
// length of the preemption); Clock's reading is their midpoint. After five
// loose attempts it returns the last one, with `tight` false. Thread-safe if
// read_other is.
template <class ReadOther>
auto ReadClockPair(ReadOther read_other) -> ClockPair<decltype(read_other())> {
  for (int attempt = 0;; ++attempt) {
    const TimePoint before = Clock::now();
    auto other = read_other();
    const TimePoint after = Clock::now();
    const bool tight = after - before <= kTightPair;
    if (tight || attempt == 4)
      return {before + (after - before) / 2, std::move(other), tight};
  }
}

// NowWith returns ReadClockPair's {Clock::now(), read_other()}, tight or not.
template <class ReadOther>
auto NowWith(ReadOther read_other)
    -> std::pair<TimePoint, decltype(read_other())> {
  auto pair = ReadClockPair(std::move(read_other));
  return {pair.now, std::move(pair.other)};
}

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_CLOCK_PAIR_H_
