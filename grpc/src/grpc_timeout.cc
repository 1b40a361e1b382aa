// SPDX-License-Identifier: Apache-2.0
#include "grpc_timeout.h"

#include <algorithm>
#include <chrono>

#include "ctx/internal/margin.h"

namespace ctx::grpc::internal {

namespace {

constexpr int64_t kMsPerHour = 3'600'000;
// The most a grpc-timeout says: 27000 hours.
constexpr int64_t kMaxSentMs = int64_t{27'000} * kMsPerHour;
// The first timeouts gRPC counts in minutes (more than 99999 s) and in hours
// (more than 99999 minutes; there the step shrinks from 100 minutes to 1 hour:
// the one place where a larger timeout is rounded by a smaller step).
constexpr int64_t kFirstInMinutesMs = int64_t{99'999} * 1'000 + 1;
constexpr int64_t kFirstInHoursMs = int64_t{99'999} * 60'000 + 1;

int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// GrpcTimeoutStep is the step gRPC rounds a timeout of `ms` up to: the first
// unit (ms, s, minute) in which the timeout, rounded up, counts fewer than
// 100000, and within it 1, 10 or 100 units for fewer than 1000, 10000 or
// 100000 (rounded up to whole units, fewer than n means at most n - 1 units);
// else hours.
int64_t GrpcTimeoutStep(int64_t ms) {
  for (const int64_t unit : {int64_t{1}, int64_t{1'000}, int64_t{60'000}}) {
    if (ms <= 999 * unit) return unit;
    if (ms <= 9'999 * unit) return unit * 10;
    if (ms <= 99'999 * unit) return unit * 100;
  }
  return kMsPerHour;
}

// Runs of the timeouts gRPC sends unchanged: from `first` to `last`, every
// multiple of `step` (a multiple of the unit that fits, with fewer than four
// significant digits). Between two pairs of runs lie gaps: there gRPC sends a
// timeout before kFirstInMinutesMs (kFirstInHoursMs) as 100000 s (100000
// minutes), a value it would itself send as more, and one from it on as the
// next run's first (1670 minutes, 1667 hours).
struct SentRun {
  int64_t first;
  int64_t last;
  int64_t step;
};
constexpr SentRun kSentRuns[] = {
    {1, 999, 1},
    {1'000, 9'990, 10},
    {10'000, 99'900, 100},
    {100'000, 999'000, 1'000},
    {1'000'000, 9'990'000, 10'000},
    {10'000'000, 99'900'000, 100'000},
    {100'200'000, 599'400'000, 600'000},
    {600'000'000, 5'994'000'000, 6'000'000},
    {6'001'200'000, kMaxSentMs, kMsPerHour},
};

// RunStart is the first millisecond of the run of timeouts gRPC sends as it
// sends `ms` (ms > 1). Each run ends at a timeout sent unchanged, except in
// the two gaps (see kSentRuns), where the timeouts before kFirstInMinutesMs
// (kFirstInHoursMs) are sent as 100000 s (minutes) and those from it as the
// next run's first.
int64_t RunStart(int64_t ms) {
  int64_t first = LargestSentAtMost(ms - 1) + 1;
  for (const int64_t split : {kFirstInMinutesMs, kFirstInHoursMs}) {
    if (first < split && split <= ms) first = split;
  }
  return first;
}

// OvershootAtRunOf is how much gRPC rounds up the first millisecond of the
// run of timeouts it sends as it sends `ms` (ms > 1): the most of that run.
int64_t OvershootAtRunOf(int64_t ms) {
  const int64_t first = RunStart(ms);
  return GrpcSentTimeout(first) - first;
}

}  // namespace

int64_t GrpcSentTimeout(int64_t ms) {
  if (ms >= kMaxSentMs) return kMaxSentMs;
  const int64_t step = GrpcTimeoutStep(ms);
  return std::min(CeilDiv(ms, step) * step, kMaxSentMs);
}

int64_t LargestSentAtMost(int64_t ms) {
  const SentRun* run = &kSentRuns[0];
  for (const SentRun& r : kSentRuns) {
    if (r.first <= ms) run = &r;
  }
  return ms >= run->last ? run->last : ms - ms % run->step;
}

// Within a run of timeouts sent as one value, the first millisecond is rounded
// up the most, and runs are no shorter at larger timeouts, except below
// kFirstInHoursMs (see there) and beyond kMaxSentMs (sent as less): so the
// run that holds the window's top, and the last run below kFirstInHoursMs if
// the window spans it.
int64_t WorstOvershoot(int64_t lo, int64_t hi) {
  const int64_t top = std::min(hi, kMaxSentMs);
  if (top <= lo) return kMaxSentMs - (lo + 1);  // all beyond the cap
  int64_t worst = OvershootAtRunOf(top);
  if (lo < kFirstInHoursMs - 1 && top >= kFirstInHoursMs)
    worst = std::max(worst, OvershootAtRunOf(kFirstInHoursMs - 1));
  return worst;
}

// Starting from the largest timeout sent unchanged, a round that fails aims
// below the budget by the overshoot it found, so the next round fails only on
// a strictly larger overshoot: a few rounds, as there are a dozen step sizes
// (usually two: the window's top step, then a lower aim that fits it).
int64_t AimedTimeout(int64_t budget_ms, int64_t window_ms) {
  int64_t t = LargestSentAtMost(budget_ms);
  if (window_ms < 1) return t;
  for (;;) {
    const int64_t worst = WorstOvershoot(t, t + window_ms);
    if (worst <= budget_ms - t) return t;
    if (budget_ms - worst < 1) return 0;
    t = LargestSentAtMost(budget_ms - worst);
  }
}

Clock::duration OutgoingClientSlack(Clock::duration remaining) {
  // The client's rounding (up to 1 ms each for the deadline and the clock),
  // 0.1 % of what is left for clock readings, and kCrossing: the conversion
  // to gRPC's clock (ToGprMonotonic: a kept offset is off by at most
  // kTightPair / 2) can be off by a few microseconds, and a deadline past the
  // aim by even 1 ns is rounded up by a whole millisecond.
  constexpr Clock::duration kCrossing = std::chrono::microseconds(20);
  return std::chrono::milliseconds(2) + remaining / 1000 + kCrossing;
}

// The callee adds the timeout to its own clock read in whole milliseconds (up
// to 1 ms later: kCalleeSlack), so the budget is what is left minus the
// margin and kCalleeSlack, in whole milliseconds. A gRPC clock s behind sends
// up to s more than aimed, and just across a step that is rounded up by the
// whole step (100 ms from 10 s): so the aim is the timeout that keeps any
// overshoot within the lag (AimedTimeout), for lags up to the margin, and the
// deadline handed to gRPC is OutgoingClientSlack earlier still.
TimePoint OutgoingDeadline(TimePoint deadline, TimePoint now,
                           Clock::duration margin, double margin_ratio) {
  constexpr Clock::duration kCalleeSlack = std::chrono::milliseconds(1);
  // Checked first: no difference is taken with a deadline far in the past.
  if (deadline <= now) return now;
  const Clock::duration remaining = deadline - now;
  const Clock::duration proportional =
      ::ctx::internal::ProportionalMargin(remaining, margin_ratio);
  const Clock::duration fixed = std::max(Clock::duration::zero(), margin);
  const Clock::duration spare = remaining - proportional;
  if (fixed >= spare) return now;
  const Clock::duration hop = proportional + fixed;  // < remaining
  const int64_t budget_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(spare - fixed -
                                                            kCalleeSlack)
          .count();
  // Less than a millisecond to send: fail fast.
  if (budget_ms < 1) return now;
  const int64_t aimed = AimedTimeout(
      budget_ms, std::chrono::ceil<std::chrono::milliseconds>(hop).count());
  const Clock::duration aim = std::chrono::milliseconds(aimed);
  const Clock::duration slack = OutgoingClientSlack(remaining);
  return aim > slack ? now + (aim - slack) : now;
}

}  // namespace ctx::grpc::internal
