// SPDX-License-Identifier: Apache-2.0
// The deadline a call hands gRPC: whatever gRPC's rounding, with gRPC's clock
// behind by up to the margin less the hop's latency, and with an earlier
// timeout resent in its place, what the callee gets ends before the caller's
// deadline; and it costs the callee no more than the margin, 3.1 % for a
// resent timeout and about two of gRPC's rounding steps.
//
// gRPC's side is modelled here: its encoding (GrpcSentTimeout, checked below
// against the encoder in the installed libgrpc, and through real hops by
// deadline_hop_test.cc); the client computes the timeout from the deadline
// rounded up and its clock, s behind, rounded down, so up to 1 ms more than the
// exact difference; its HPACK encoder may send instead an earlier timeout up to
// 3.1 % longer; the callee's deadline is its clock, up to 1 ms late in whole
// milliseconds, plus what was sent.

#include "grpc_timeout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ctx/internal/margin.h"

// gRPC's own encoder: libgrpc exports it, but its header is not installed.
// These are the layouts of gRPC 1.51's Duration (int64 milliseconds) and
// Timeout (a 16-bit count and an 8-bit unit), both passed in registers.
namespace grpc_core {
class Duration {
 public:
  int64_t millis;
};
class Timeout {
 public:
  static Timeout FromDuration(Duration duration);
  Duration AsDuration() const;

 private:
  uint16_t value_;
  uint8_t unit_;
};
}  // namespace grpc_core

namespace ctx::grpc::internal {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr int64_t kMaxSentMs = int64_t{27'000} * 3'600'000;

// What gRPC 1.51 itself sends for a timeout of `ms`.
int64_t RealGrpcSent(int64_t ms) {
  return grpc_core::Timeout::FromDuration(grpc_core::Duration{ms})
      .AsDuration()
      .millis;
}

// Where gRPC's step changes (1 s, 10 s, 100 s, 1000 s, 10000 s, 1000 minutes,
// 100000 s, 10000 and 100000 minutes) and its cap, in milliseconds.
std::vector<int64_t> StepChanges() {
  return {1'000,      10'000,      100'000,     1'000'000,     10'000'000,
          60'000'000, 100'000'000, 600'000'000, 6'000'000'000, kMaxSentMs};
}

TEST(GrpcTimeout, ModelSendsWhatGrpcSendsOrMore) {
  // Exact up to 2,000 s. Beyond, both depend only on the timeout in whole
  // seconds (gRPC rounds up to seconds first; the model's steps are whole
  // seconds): every second near each step change, and a spread of others.
  for (int64_t ms = 1; ms <= 2'000'000; ++ms)
    ASSERT_EQ(GrpcSentTimeout(ms), RealGrpcSent(ms)) << ms;
  std::vector<int64_t> seconds;
  for (const int64_t change : StepChanges()) {
    for (int64_t d = -20'000; d <= 20'000; ++d)
      seconds.push_back(change / 1'000 + d);
  }
  std::mt19937_64 rng(51);
  for (int i = 0; i < 200'000; ++i)
    seconds.push_back(2'000 +
                      static_cast<int64_t>(rng() % (kMaxSentMs / 1'000)));
  for (int64_t s = 2'000; s < 200'000; ++s) seconds.push_back(s);
  for (const int64_t s : seconds) {
    if (s < 2'000) continue;
    const int64_t ms = s * 1'000;
    ASSERT_GE(GrpcSentTimeout(ms), RealGrpcSent(ms)) << ms;
    ASSERT_GE(GrpcSentTimeout(ms - 999), RealGrpcSent(ms - 999)) << ms - 999;
    // What the model sends unchanged, gRPC sends unchanged.
    const int64_t t = LargestSentAtMost(ms);
    ASSERT_EQ(RealGrpcSent(t), t) << t;
  }
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
  // Where gRPC re-encodes whole minutes in 10-minute steps.
  for (int64_t k = 0; k < 67; ++k)
    out.push_back(milliseconds(60'250'000 + 600'000 * k) + nanoseconds(51));
  out.push_back(milliseconds(62'800'051));
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
  if (ms > 60'000'000) step = 600'000;
  if (ms > 599'940'000) step = 6'000'000;
  return step;
}

struct Margin {
  nanoseconds fixed;
  double ratio;
  bool resent = true;
};

// HopOf is what the margin `m` allows the hop (its latency plus gRPC's clock
// lag) with `remaining` left.
nanoseconds HopOf(const Margin& m, nanoseconds remaining) {
  return m.fixed + ::ctx::internal::ProportionalMargin(remaining, m.ratio);
}

ClientOptions OptionsOf(const Margin& m) {
  ClientOptions options;
  options.deadline_margin = m.fixed;
  options.deadline_margin_ratio = m.ratio;
  options.allow_for_resent_timeouts = m.resent;
  return options;
}

// Lags of gRPC's clock to try, from none to just under the whole hop
// allowance `hop`.
std::vector<nanoseconds> Lags(nanoseconds hop) {
  std::vector<nanoseconds> out = {nanoseconds(0), microseconds(1)};
  for (int i = 1; i <= 64; ++i) out.push_back(hop * i / 65);
  out.push_back(hop - nanoseconds(1));
  return out;
}

// SentFor is what a gRPC client whose clock lags `lag` sends when handed the
// deadline `out` at `now`: the exact difference rounded up, plus up to 1 ms
// more for rounding (whichever gRPC sends as more: its encoding is not
// monotonic everywhere), and the conversion to its clock off by up to 10 us.
int64_t SentFor(TimePoint out, TimePoint now, nanoseconds lag) {
  const nanoseconds exact = out - now + lag + microseconds(10);
  const int64_t ms = std::chrono::ceil<milliseconds>(exact).count();
  return std::max(RealGrpcSent(ms), RealGrpcSent(ms + 1));
}

TEST(OutgoingDeadline, CalleeEndsFirstWhileClockLagPlusLatencyStayInMargin) {
  const TimePoint now = TimePoint(std::chrono::hours(1'000)) + nanoseconds(3);
  int sent_calls = 0;
  for (const Margin m :
       {Margin{milliseconds(1), 0.005}, Margin{milliseconds(50), 0},
        Margin{nanoseconds(0), 0.01}, Margin{milliseconds(5'000), 0},
        Margin{milliseconds(1), 0.005, false},
        Margin{milliseconds(50), 0, false}}) {
    const ClientOptions options = OptionsOf(m);
    for (const nanoseconds remaining : Remainings()) {
      const TimePoint deadline = now + remaining;
      const TimePoint out = OutgoingDeadline(deadline, now, options);
      if (out == now) continue;  // fails fast: nothing sent
      ++sent_calls;
      const nanoseconds hop = HopOf(m, remaining);
      for (const nanoseconds lag : Lags(hop)) {
        const int64_t sent = SentFor(out, now, lag);
        // Or an earlier timeout on the connection, up to about 3.1 % longer
        // (gRPC: 100 * (sent / earlier - 1) > -3).
        const double received_ms = m.resent ? static_cast<double>(sent) / 0.97
                                            : static_cast<double>(sent);
        // The hop may take anything under hop - lag; the callee reads its
        // clock up to 1 ms late.
        const double callee_left_at_most_ns =
            received_ms * 1e6 + static_cast<double>((hop - lag).count()) + 1e6;
        ASSERT_LE(callee_left_at_most_ns,
                  static_cast<double>(remaining.count()))
            << "remaining " << remaining.count() << " ns, margin "
            << m.fixed.count() << " ns + " << m.ratio << ", resent " << m.resent
            << ", gRPC's clock " << lag.count() << " ns behind: sent " << sent
            << " ms";
      }
    }
  }
  EXPECT_GT(sent_calls, 30'000);
}

TEST(OutgoingDeadline, CostsTheCalleeTheMarginThreePercentAndTwoStepsMore) {
  const TimePoint now = TimePoint(std::chrono::hours(1'000));
  for (const Margin m :
       {Margin{milliseconds(1), 0.005}, Margin{milliseconds(50), 0}}) {
    for (const nanoseconds remaining : Remainings()) {
      const nanoseconds hop = HopOf(m, remaining);
      const int64_t budget_ms =
          std::chrono::floor<milliseconds>(remaining - hop).count() - 1;
      const TimePoint out =
          OutgoingDeadline(now + remaining, now, OptionsOf(m));
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
      // And 3.1 % of the budget and of the window, for a resent timeout.
      const auto aimed_budget = static_cast<int64_t>(
          0.969 * static_cast<double>(budget_ms) -
          0.031 * static_cast<double>(
                      std::chrono::ceil<milliseconds>(hop).count()));
      EXPECT_GE(sent, aimed_budget - 2 * step - slack_ms)
          << "remaining " << remaining.count() << " ns";
    }
  }
}

TEST(OutgoingDeadline, NothingLeftFailsFast) {
  const TimePoint now = TimePoint(std::chrono::hours(1'000));
  const ClientOptions defaults;
  EXPECT_EQ(OutgoingDeadline(now, now, defaults), now);
  EXPECT_EQ(OutgoingDeadline(now - milliseconds(5), now, defaults), now);
  EXPECT_EQ(OutgoingDeadline(now + milliseconds(3), now, defaults), now);
  ClientOptions wide;
  wide.deadline_margin = milliseconds(900);
  EXPECT_EQ(OutgoingDeadline(now + milliseconds(900), now, wide), now);
  wide.deadline_margin = Clock::duration::max();
  EXPECT_EQ(OutgoingDeadline(now + milliseconds(900), now, wide), now);
}

}  // namespace
}  // namespace ctx::grpc::internal
