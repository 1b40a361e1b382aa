// SPDX-License-Identifier: Apache-2.0
// The deadline a call hands gRPC: whatever gRPC's rounding, and with gRPC's
// clock behind by up to the margin less the hop's latency, what the callee
// gets ends before the caller's deadline; and it costs the callee no more than
// the margin and about two of gRPC's rounding steps.
//
// gRPC's side is modelled here (its C++ core's encoding, GrpcSentTimeout, is
// checked against real gRPC hops by deadline_hop_test.cc): the client computes
// the timeout from the deadline rounded up and its clock, s behind, rounded
// down, so up to 1 ms more than the exact difference; the callee's deadline is
// its clock, up to 1 ms late in whole milliseconds, plus what was sent.

#include "grpc_timeout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace ctx::grpc::internal {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr int64_t kMaxSentMs = int64_t{27'000} * 3'600'000;

// Where gRPC's step changes (1 s, 10 s, 100 s, 1000 s, 10000 s, 100000 s,
// 10000 and 100000 minutes) and its cap, in milliseconds.
std::vector<int64_t> StepChanges() {
  return {1'000,       10'000,      100'000,       1'000'000, 10'000'000,
          100'000'000, 600'000'000, 6'000'000'000, kMaxSentMs};
}

// BruteWorstOvershoot walks every run of timeouts in (lo, hi] that gRPC sends
// as one value (found by bisection: GrpcSentTimeout is monotonic), taking each
// run's first millisecond, where rounding up costs the most.
int64_t BruteWorstOvershoot(int64_t lo, int64_t hi) {
  int64_t worst = INT64_MIN;
  for (int64_t y = lo + 1; y <= hi;) {
    const int64_t sent = GrpcSentTimeout(y);
    worst = std::max(worst, sent - y);
    int64_t a = y;  // GrpcSentTimeout(a) == sent
    int64_t b = hi + 1;
    while (b - a > 1) {
      const int64_t mid = a + (b - a) / 2;
      (GrpcSentTimeout(mid) == sent ? a : b) = mid;
    }
    y = b;
  }
  return worst;
}

TEST(GrpcTimeout, LargestSentAtMostIsSentUnchangedAndNothingLargerIs) {
  for (const int64_t change : StepChanges()) {
    for (int64_t d = -1'000; d <= 1'000; ++d) {
      const int64_t ms = std::max<int64_t>(1, change + d * (change / 10'000));
      const int64_t t = LargestSentAtMost(ms);
      EXPECT_LE(t, ms);
      EXPECT_EQ(GrpcSentTimeout(t), t) << ms;
      if (ms >= kMaxSentMs) continue;
      // The next timeout sent unchanged: none in (t, u) is (GrpcSentTimeout
      // is monotonic and never less), and u is past ms.
      int64_t u = GrpcSentTimeout(t + 1);
      while (GrpcSentTimeout(u) != u) u = GrpcSentTimeout(u);
      EXPECT_GT(u, ms) << ms;
    }
  }
}

TEST(GrpcTimeout, WorstOvershootIsTheMostAnyTimeoutInTheWindowIsRoundedUp) {
  std::mt19937_64 rng(15);
  int checked = 0;
  for (const int64_t change : StepChanges()) {
    for (const int64_t width :
         {int64_t{1}, int64_t{7}, int64_t{50}, int64_t{1'000}, change / 300,
          change / 60, change / 10}) {
      if (width < 1) continue;
      for (int i = 0; i < 40; ++i) {
        // Windows from below the change to across it.
        const int64_t below =
            static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * width + 2));
        const int64_t lo =
            LargestSentAtMost(std::max<int64_t>(1, change - below));
        const int64_t hi = lo + width;
        ASSERT_EQ(WorstOvershoot(lo, hi), BruteWorstOvershoot(lo, hi))
            << "window (" << lo << ", " << hi << "]";
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1'000);
}

// Remaining budgets: every millisecond to 2 s, and log-uniform beyond, up to
// past gRPC's cap, with every step change's neighbours.
std::vector<nanoseconds> Remainings() {
  std::vector<nanoseconds> out;
  for (int64_t ms = 1; ms <= 2'000; ++ms) out.push_back(milliseconds(ms));
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(3.3, 11.2);
  for (int i = 0; i < 3'000; ++i) {
    const auto ms = static_cast<int64_t>(std::pow(10.0, exponent(rng)));
    out.push_back(milliseconds(ms) + nanoseconds(rng() % 1'000'000));
  }
  for (const int64_t change : StepChanges()) {
    for (int64_t d = -150; d <= 150; d += 3)
      out.push_back(
          milliseconds(change + d * std::max<int64_t>(1, change / 5'000)));
  }
  out.push_back(milliseconds(10'058));
  return out;
}

// CoarsestStepUpTo is the largest step gRPC rounds a timeout of at most `ms`
// by (its steps grow at each power of ten, and in minutes and hours: 10
// minutes from 100000 s, 100 minutes from 10000 minutes, 1 hour from 100000
// minutes).
int64_t CoarsestStepUpTo(int64_t ms) {
  int64_t step = 1;
  for (int64_t from = 1'000; from <= std::min<int64_t>(ms, 10'000'000);
       from *= 10)
    step = from / 100;
  if (ms >= 100'000'000) step = 600'000;
  if (ms >= 600'000'000) step = 6'000'000;
  return step;
}

struct Margin {
  nanoseconds fixed;
  double ratio;
};

// Lags of gRPC's clock to try, from none to just under the whole hop
// allowance `hop`.
std::vector<nanoseconds> Lags(nanoseconds hop) {
  std::vector<nanoseconds> out = {nanoseconds(0), microseconds(1)};
  for (int i = 1; i <= 64; ++i) out.push_back(hop * i / 65);
  out.push_back(hop - nanoseconds(1));
  return out;
}

// SentFor is what a gRPC client whose clock lags `lag` sends when handed the
// deadline `out` at `now`: the exact difference plus up to 1 ms of rounding,
// and the conversion to its clock off by up to 10 us.
int64_t SentFor(TimePoint out, TimePoint now, nanoseconds lag) {
  const nanoseconds exact = out - now + lag + microseconds(10);
  return GrpcSentTimeout(std::chrono::ceil<milliseconds>(exact).count() + 1);
}

TEST(OutgoingDeadline, CalleeEndsFirstWhileClockLagPlusLatencyStayInMargin) {
  const TimePoint now = TimePoint(std::chrono::hours(1'000)) + nanoseconds(3);
  int sent_calls = 0;
  for (const Margin m :
       {Margin{milliseconds(1), 0.005}, Margin{milliseconds(50), 0},
        Margin{nanoseconds(0), 0.01}, Margin{milliseconds(5'000), 0}}) {
    for (const nanoseconds remaining : Remainings()) {
      const TimePoint deadline = now + remaining;
      const TimePoint out = OutgoingDeadline(deadline, now, m.fixed, m.ratio);
      if (out == now) continue;  // fails fast: nothing sent
      ++sent_calls;
      const auto hop = std::chrono::duration_cast<nanoseconds>(
          m.fixed + std::chrono::duration<double, std::nano>(
                        static_cast<double>(remaining.count()) * m.ratio));
      for (const nanoseconds lag : Lags(hop)) {
        const int64_t sent = SentFor(out, now, lag);
        // The hop may take anything under hop - lag; the callee reads its
        // clock up to 1 ms late.
        const nanoseconds callee_left_at_most =
            milliseconds(sent) + (hop - lag) + milliseconds(1);
        ASSERT_LE(callee_left_at_most, remaining)
            << "remaining " << remaining.count() << " ns, margin "
            << m.fixed.count() << " ns + " << m.ratio << ", gRPC's clock "
            << lag.count() << " ns behind: sent " << sent << " ms";
      }
    }
  }
  EXPECT_GT(sent_calls, 20'000);
}

TEST(OutgoingDeadline, CostsTheCalleeTheMarginAndAtMostTwoStepsMore) {
  const TimePoint now = TimePoint(std::chrono::hours(1'000));
  for (const Margin m :
       {Margin{milliseconds(1), 0.005}, Margin{milliseconds(50), 0}}) {
    for (const nanoseconds remaining : Remainings()) {
      const auto hop = std::chrono::duration_cast<nanoseconds>(
          m.fixed + std::chrono::duration<double, std::nano>(
                        static_cast<double>(remaining.count()) * m.ratio));
      const int64_t budget_ms =
          std::chrono::floor<milliseconds>(remaining - hop).count() - 1;
      const TimePoint out =
          OutgoingDeadline(now + remaining, now, m.fixed, m.ratio);
      if (budget_ms < 20) continue;  // may fail fast
      if (budget_ms >= kMaxSentMs) continue;
      ASSERT_GT(out, now) << "remaining " << remaining.count() << " ns";
      // The fewest gRPC can send for it: no lag, no rounding.
      const int64_t sent =
          GrpcSentTimeout(std::chrono::ceil<milliseconds>(out - now).count());
      // gRPC's coarsest step up to the top of the window the aim protects.
      const int64_t step = CoarsestStepUpTo(
          budget_ms + std::chrono::ceil<milliseconds>(hop).count());
      const int64_t slack_ms =
          std::chrono::ceil<milliseconds>(OutgoingClientSlack(remaining))
              .count();
      EXPECT_GE(sent, budget_ms - 2 * step - slack_ms)
          << "remaining " << remaining.count() << " ns";
    }
  }
}

TEST(OutgoingDeadline, NothingLeftFailsFast) {
  const TimePoint now = TimePoint(std::chrono::hours(1'000));
  EXPECT_EQ(OutgoingDeadline(now, now, milliseconds(1), 0.005), now);
  EXPECT_EQ(
      OutgoingDeadline(now - milliseconds(5), now, milliseconds(1), 0.005),
      now);
  EXPECT_EQ(
      OutgoingDeadline(now + milliseconds(3), now, milliseconds(1), 0.005),
      now);
  EXPECT_EQ(
      OutgoingDeadline(now + milliseconds(900), now, milliseconds(900), 0),
      now);
  EXPECT_EQ(
      OutgoingDeadline(now + milliseconds(900), now, Clock::duration::max(), 0),
      now);
}

}  // namespace
}  // namespace ctx::grpc::internal
