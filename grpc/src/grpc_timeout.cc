// SPDX-License-Identifier: Apache-2.0
#include "grpc_timeout.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>

#include "ctx/internal/margin.h"

namespace ctx::grpc::internal {

namespace {

constexpr int64_t kMsPerHour = 3'600'000;
// The most a grpc-timeout says: 27000 hours.
constexpr int64_t kMaxSentMs = int64_t{27'000} * kMsPerHour;
// The first timeout gRPC counts in hours: more than 99999 minutes. There the
// step shrinks from 100 minutes to 1 hour, the one place where a larger
// timeout is rounded by a smaller step.
constexpr int64_t kFirstInHoursMs = int64_t{99'999} * 60'000 + 1;
constexpr int64_t kHundredThousandMinutesMs = int64_t{100'000} * 60'000;

int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// Runs of the timeouts gRPC sends unchanged: from `first` to `last`, every
// multiple of `step`, the step gRPC rounds up to there (three significant
// digits of the largest unit that fits: ms, s, minutes, hours). A timeout
// within a run is sent rounded up to its step; one between two runs as the
// next run's first, except in the gap before the hours: there gRPC sends a
// timeout before kFirstInHoursMs as 100000 minutes (a value it would itself
// send as more) and one from it on as 1667 hours. One run is not gRPC's own
// encoding but a bound on it: gRPC re-encodes a whole number of minutes in
// minutes, and from 1000 minutes on rounds that up again to 10 minutes (60300
// s goes out as 1010 minutes), so from 1000 minutes to 99999 s the run's step
// is 10 minutes, which gRPC never exceeds.
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
    {10'000'000, 60'000'000, 100'000},
    {60'600'000, 599'400'000, 600'000},
    {600'000'000, 5'994'000'000, 6'000'000},
    {6'001'200'000, kMaxSentMs, kMsPerHour},
};

// RunFrom is the last run that starts at or below `ms` (the first, below 1).
const SentRun& RunFrom(int64_t ms) {
  const SentRun* run = &kSentRuns[0];
  for (const SentRun& r : kSentRuns) {
    if (r.first <= ms) run = &r;
  }
  return *run;
}

// RunStart is the first millisecond of the run of timeouts gRPC sends as it
// sends `ms` (ms > 1). Each run ends at a timeout sent unchanged, except in
// the gap (see kSentRuns), where the timeouts before kFirstInHoursMs are sent
// as 100000 minutes and those from it as 1667 hours.
int64_t RunStart(int64_t ms) {
  const int64_t first = LargestSentAtMost(ms - 1) + 1;
  return first < kFirstInHoursMs && kFirstInHoursMs <= ms ? kFirstInHoursMs
                                                          : first;
}

// OvershootAtRunOf is how much gRPC rounds up the first millisecond of the
// run of timeouts it sends as it sends `ms` (ms > 1): the most of that run.
int64_t OvershootAtRunOf(int64_t ms) {
  const int64_t first = RunStart(ms);
  return GrpcSentTimeout(first) - first;
}

}  // namespace

int64_t GrpcSentTimeout(int64_t ms) {
  const SentRun& run = RunFrom(ms);
  if (ms <= run.last) return CeilDiv(ms, run.step) * run.step;
  if (&run == &kSentRuns[std::size(kSentRuns) - 1]) return kMaxSentMs;
  const SentRun& next = *(&run + 1);
  // In the gap before the hours, the timeouts before kFirstInHoursMs.
  if (next.first > kFirstInHoursMs && ms < kFirstInHoursMs)
    return kHundredThousandMinutesMs;
  return next.first;
}

int64_t LargestSentAtMost(int64_t ms) {
  const SentRun& run = RunFrom(ms);
  return ms >= run.last ? run.last : ms - ms % run.step;
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
// (seen: at most two, the window's top step, then a lower aim that fits it).
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
// margin and kCalleeSlack, in whole milliseconds. gRPC may send instead a
// timeout it sent before on the connection, up to about 3.1 % longer (see
// ClientOptions::allow_for_resent_timeouts): the budget aimed at is cut to
// kResentFactor of it, less (1 - kResentFactor) of the window, so that even
// that one, resent in place of a timeout a lagging clock made longer, ends
// within the budget plus the lag. A gRPC clock s behind sends up to s more
// than aimed, and just across a step that is rounded up by the whole step
// (100 ms from 10 s): so the aim is the timeout that keeps any overshoot
// within the lag (AimedTimeout), for lags up to the margin, and the deadline
// handed to gRPC is OutgoingClientSlack earlier still.
TimePoint OutgoingDeadline(TimePoint deadline, TimePoint now,
                           const ClientOptions& options) {
  constexpr Clock::duration kCalleeSlack = std::chrono::milliseconds(1);
  // gRPC resends an earlier timeout when the new one is shorter by less than
  // 3 % of it (a ratio it computes in floating point): 0.969 keeps clear of
  // that bound.
  constexpr double kResentFactor = 0.969;
  // Checked first: no difference is taken with a deadline far in the past.
  if (deadline <= now) return now;
  const Clock::duration remaining = deadline - now;
  const Clock::duration proportional = ::ctx::internal::ProportionalMargin(
      remaining, options.deadline_margin_ratio);
  const Clock::duration fixed =
      std::max(Clock::duration::zero(), options.deadline_margin);
  const Clock::duration spare = remaining - proportional;
  if (fixed >= spare) return now;
  const Clock::duration hop = proportional + fixed;  // < remaining
  int64_t budget_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          spare - fixed - kCalleeSlack)
                          .count();
  const int64_t window_ms =
      std::chrono::ceil<std::chrono::milliseconds>(hop).count();
  if (options.allow_for_resent_timeouts) {
    budget_ms = static_cast<int64_t>(
        std::floor(kResentFactor * static_cast<double>(budget_ms) -
                   (1 - kResentFactor) * static_cast<double>(window_ms)));
  }
  // Less than a millisecond to send: fail fast.
  if (budget_ms < 1) return now;
  const int64_t aimed = AimedTimeout(budget_ms, window_ms);
  const Clock::duration aim = std::chrono::milliseconds(aimed);
  const Clock::duration slack = OutgoingClientSlack(remaining);
  return aim > slack ? now + (aim - slack) : now;
}

}  // namespace ctx::grpc::internal
