// SPDX-License-Identifier: Apache-2.0
// FromGprDeadline: a deadline on a gpr clock becomes the same instant on
// ctx::Clock, whichever gpr clock it is on, whatever `now` the caller passes
// (a stale or a future one only makes the offset be measured again), while
// other threads measure it again, and after a measurement a preempted thread
// took apart. ToGprMonotonic: a ctx::Clock time becomes the same instant on
// gpr's monotonic clock, and stays finite.
//
// Each check brackets a gpr clock reading between two ctx::Clock readings: the
// converted deadline must fall within that bracket shifted by the budget, give
// or take kTolerance (a kept offset is off by at most kTightPair / 2).
//
// On Linux gpr's monotonic clock reads CLOCK_MONOTONIC as ctx::Clock does:
// their offset is 0, the kept offset's initial value, and a conversion that
// ignored it would pass. So the tests of the kept offset run in a child
// process (a gtest death test, which runs the test binary afresh: no gRPC
// thread there reads the clock) whose gpr clock runs 7 s ahead, replaced
// through gpr_now_impl before anything measured it.

#include "gpr_clock.h"

#include <grpc/support/time.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "ctx/internal/clock_pair.h"

// gRPC's hook for replacing its clocks (libgpr exports it; no public header
// declares it).
extern "C" gpr_timespec (*gpr_now_impl)(gpr_clock_type clock_type);

namespace ctx::grpc::internal {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Clock::duration kTolerance = milliseconds(2);

// ConvertsWithin reads `type`'s clock between two ctx::Clock readings, converts
// that reading plus `budget` with `now_shift` added to the caller's `now`, and
// says whether the result lies within the bracket plus the budget.
::testing::AssertionResult ConvertsWithin(gpr_clock_type type,
                                          Clock::duration budget,
                                          Clock::duration now_shift) {
  const TimePoint before = Clock::now();
  const gpr_timespec read = gpr_now(type);
  const TimePoint after = Clock::now();
  const gpr_timespec deadline = gpr_time_add(
      read, gpr_time_from_nanos(std::chrono::nanoseconds(budget).count(),
                                GPR_TIMESPAN));
  const std::optional<TimePoint> got =
      FromGprDeadline(deadline, after + now_shift);
  if (!got) return ::testing::AssertionFailure() << "no deadline";
  if (*got < before + budget - kTolerance ||
      *got > after + budget + kTolerance) {
    return ::testing::AssertionFailure()
           << "converted deadline is "
           << std::chrono::duration_cast<std::chrono::microseconds>(
                  *got - (before + budget))
                  .count()
           << " us after the bracket's start; the bracket is "
           << std::chrono::duration_cast<std::chrono::microseconds>(after -
                                                                    before)
                  .count()
           << " us wide";
  }
  return ::testing::AssertionSuccess();
}

// ToGprWithin converts ctx::Clock's now plus `budget` to gpr's monotonic clock
// between two readings of that clock, and says whether the result lies within
// them plus the budget, give or take what an offset may be off by: half of
// kTightPair for a kept one, half of the bracket for one measured inside it.
::testing::AssertionResult ToGprWithin(Clock::duration budget) {
  const gpr_timespec before = gpr_now(GPR_CLOCK_MONOTONIC);
  const TimePoint now = Clock::now();
  const gpr_timespec got = ToGprMonotonic(now + budget, now);
  const gpr_timespec after = gpr_now(GPR_CLOCK_MONOTONIC);
  const auto ns = [](Clock::duration d) {
    return gpr_time_from_nanos(std::chrono::nanoseconds(d).count(),
                               GPR_TIMESPAN);
  };
  if (got.clock_type != GPR_CLOCK_MONOTONIC)
    return ::testing::AssertionFailure() << "not on the monotonic clock";
  const int64_t bracket_ns =
      static_cast<int64_t>(NanosOf(gpr_time_sub(after, before)));
  const gpr_timespec tolerance = gpr_time_from_nanos(
      std::chrono::nanoseconds(ctx::internal::kTightPair / 2 +
                               std::chrono::microseconds(1))
              .count() +
          bracket_ns / 2,
      GPR_TIMESPAN);
  const gpr_timespec low =
      gpr_time_sub(gpr_time_add(before, ns(budget)), tolerance);
  const gpr_timespec high =
      gpr_time_add(gpr_time_add(after, ns(budget)), tolerance);
  if (gpr_time_cmp(got, low) < 0 || gpr_time_cmp(got, high) > 0) {
    const gpr_timespec off =
        gpr_time_sub(got, gpr_time_add(before, ns(budget)));
    return ::testing::AssertionFailure()
           << "converted time is " << off.tv_sec << " s " << off.tv_nsec
           << " ns after the bracket's start; the bracket is " << bracket_ns
           << " ns wide";
  }
  return ::testing::AssertionSuccess();
}

// The child's gpr clock: g_ahead_s seconds ahead of the real one (7 unless a
// test changes it); each of the next g_slow_reads monotonic reads takes 30 ms
// (a preempted measurement).
gpr_timespec (*g_real_gpr_now)(gpr_clock_type) = nullptr;
std::atomic<int> g_ahead_s{7};
std::atomic<int> g_slow_reads{0};
gpr_timespec AheadBy7s(gpr_clock_type type) {
  if (type != GPR_CLOCK_MONOTONIC) return g_real_gpr_now(type);
  if (g_slow_reads.fetch_sub(1, std::memory_order_relaxed) > 0)
    std::this_thread::sleep_for(milliseconds(30));
  gpr_timespec t = g_real_gpr_now(type);
  t.tv_sec += g_ahead_s.load(std::memory_order_relaxed);
  return t;
}

// InChildAhead runs `check` in a death-test child whose gpr clock is 7 s
// ahead; the child fails with its message if `check` does.
void InChildAhead(const std::function<::testing::AssertionResult()>& check) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        g_real_gpr_now = gpr_now_impl;
        gpr_now_impl = AheadBy7s;
        const ::testing::AssertionResult result = check();
        if (!result) std::fprintf(stderr, "%s\n", result.message());
        _exit(result ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(GprClock, MonotonicDeadlineIsTheSameInstantOnCtxClock) {
  EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(3), {}));
  EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_MONOTONIC, -seconds(3), {}));
}

TEST(GprClock, RealtimeDeadlineIsTheSameInstantOnCtxClock) {
  EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_REALTIME, seconds(3), {}));
}

TEST(GprClock, InfiniteFutureIsNoDeadline) {
  EXPECT_FALSE(
      FromGprDeadline(gpr_inf_future(GPR_CLOCK_MONOTONIC), Clock::now())
          .has_value());
  EXPECT_FALSE(FromGprDeadline(gpr_inf_future(GPR_CLOCK_REALTIME), Clock::now())
                   .has_value());
}

TEST(GprClock, InfinitePastIsAFiniteDeadlineAlreadyDue) {
  const std::optional<TimePoint> got =
      FromGprDeadline(gpr_inf_past(GPR_CLOCK_MONOTONIC), Clock::now());
  ASSERT_TRUE(got.has_value());
  EXPECT_LT(*got, Clock::now());
}

TEST(GprClock, OffsetOfAShiftedGprClockIsMeasuredAndKept) {
  InChildAhead([] {
    // The first conversion measures; the next, within the lifetime, reuses.
    for (int i = 0; i < 2; ++i) {
      ::testing::AssertionResult r =
          ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), {});
      if (!r) return r;
    }
    return ::testing::AssertionSuccess();
  });
}

TEST(GprClock, ReplacedGprClockIsFollowedOnceTheOffsetExpires) {
  InChildAhead([] {
    g_ahead_s.store(0);
    ::testing::AssertionResult r =
        ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), {});
    if (!r) return r << " (before the clock moved)";
    g_ahead_s.store(7);
    // A `now` past the kept offset's lifetime measures it again; the next
    // conversion, within the lifetime, keeps the new one.
    r = ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), kGprOffsetLifetime * 2);
    if (!r) return r << " (measured again)";
    return ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), {});
  });
}

TEST(GprClock, StaleOrFutureNowStillConvertsExactly) {
  InChildAhead([] {
    const Clock::duration shifts[] = {
        Clock::duration::zero(), -hours(1), hours(1),
        -kGprOffsetLifetime - milliseconds(1), kGprOffsetLifetime * 2};
    for (const Clock::duration shift : shifts) {
      ::testing::AssertionResult r =
          ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(5), shift);
      if (!r) {
        return r << " (now shifted by "
                 << std::chrono::duration_cast<milliseconds>(shift).count()
                 << " ms)";
      }
    }
    return ::testing::AssertionSuccess();
  });
}

TEST(GprClock, PreemptedMeasurementServesOnlyItsOwnCall) {
  InChildAhead([] {
    // Five loose pairs in a row: the conversion that measured them uses the
    // last (15 ms off or so); the next one, within the lifetime, must not.
    const gpr_timespec deadline = gpr_now(GPR_CLOCK_MONOTONIC);
    g_slow_reads.store(5);
    (void)FromGprDeadline(deadline, Clock::now());
    g_slow_reads.store(0);
    return ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), {});
  });
}

TEST(GprClock, ToGprMonotonicIsTheSameInstantOnGprClock) {
  EXPECT_TRUE(ToGprWithin(seconds(3)));
  EXPECT_TRUE(ToGprWithin(-seconds(3)));
}

TEST(GprClock, ToGprMonotonicFollowsAShiftedGprClock) {
  InChildAhead([] {
    // The first conversion measures the offset; the next reuses it.
    for (int i = 0; i < 2; ++i) {
      ::testing::AssertionResult r = ToGprWithin(seconds(2));
      if (!r) return r;
    }
    return ::testing::AssertionSuccess();
  });
}

// How seconds and nanoseconds are put together (both directions use one kept
// offset, so this does not check the offset itself).
TEST(GprClock, ToGprMonotonicAndBackIsTheSameTime) {
  const TimePoint now = Clock::now();
  const Clock::duration shifts[] = {Clock::duration::zero(), seconds(5),
                                    -seconds(5), hours(24 * 365)};
  for (const Clock::duration d : shifts) {
    const std::optional<TimePoint> back =
        FromGprDeadline(ToGprMonotonic(now + d, now), now);
    ASSERT_TRUE(back.has_value());
    EXPECT_LE(*back - (now + d), kTolerance);
    EXPECT_GE(*back - (now + d), -kTolerance);
  }
}

// Nanoseconds before gpr's epoch floor to whole seconds: tv_nsec is never
// negative.
TEST(GprClock, NanosFloorToSecondsWithNonNegativeNanos) {
  struct Case {
    __int128 ns;
    int64_t sec;
    int32_t nsec;
  };
  const Case cases[] = {
      {0, 0, 0},
      {1, 0, 1},
      {999'999'999, 0, 999'999'999},
      {1'000'000'000, 1, 0},
      {-1, -1, 999'999'999},
      {-999'999'999, -1, 1},
      {-1'000'000'000, -1, 0},
      {-1'000'000'001, -2, 999'999'999},
      {static_cast<__int128>(INT64_MIN) * 2, -18'446'744'074, 290'448'384},
  };
  for (const Case& c : cases) {
    const gpr_timespec t = GprMonotonicFromNanos(c.ns);
    EXPECT_EQ(t.clock_type, GPR_CLOCK_MONOTONIC);
    EXPECT_EQ(t.tv_sec, c.sec) << static_cast<int64_t>(c.ns);
    EXPECT_EQ(t.tv_nsec, c.nsec) << static_cast<int64_t>(c.ns);
  }
}

TEST(GprClock, ToGprMonotonicStaysFiniteExceptForNever) {
  const TimePoint now = Clock::now();
  const gpr_timespec never = ToGprMonotonic(TimePoint::max(), now);
  EXPECT_EQ(gpr_time_cmp(never, gpr_inf_future(GPR_CLOCK_MONOTONIC)), 0);
  const gpr_timespec latest =
      ToGprMonotonic(TimePoint::max() - Clock::duration(1), now);
  EXPECT_LT(gpr_time_cmp(latest, gpr_inf_future(GPR_CLOCK_MONOTONIC)), 0);
  EXPECT_GT(gpr_time_cmp(latest, gpr_now(GPR_CLOCK_MONOTONIC)), 0);
  const gpr_timespec earliest = ToGprMonotonic(TimePoint::min(), now);
  EXPECT_GT(gpr_time_cmp(earliest, gpr_inf_past(GPR_CLOCK_MONOTONIC)), 0);
  EXPECT_LT(gpr_time_cmp(earliest, gpr_now(GPR_CLOCK_MONOTONIC)), 0);
  for (const gpr_timespec t : {latest, earliest}) {
    EXPECT_GE(t.tv_nsec, 0);
    EXPECT_LT(t.tv_nsec, 1'000'000'000);
  }
}

// Rounds of threads that all start with no kept offset (a poisoned one in its
// place, 7 s off): every conversion must see a measurement's offset, never the
// poison, whichever thread measured first. Others make the offset be measured
// again meanwhile (a `now` an hour away is never within the lifetime).
// Bounded by rounds and iterations.
TEST(GprClockStress, FirstMeasurementsRaceConversions) {
  InChildAhead([] {
    constexpr int kRounds = 200;
    constexpr int kThreads = 4;
    constexpr int kIterations = 20;
    std::atomic<int> wrong{0};
    for (int round = 0; round < kRounds; ++round) {
      ResetGprOffsetForTesting(0);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t, &wrong] {
          for (int i = 0; i < kIterations; ++i) {
            const Clock::duration shift =
                (t == 0 && i % 3 == 2) ? hours(1) : Clock::duration::zero();
            if (!ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(1), shift))
              wrong.fetch_add(1, std::memory_order_relaxed);
          }
        });
      }
      for (std::thread& th : threads) th.join();
    }
    if (wrong.load() != 0) {
      return ::testing::AssertionFailure()
             << wrong.load() << " conversions outside their bracket";
    }
    return ::testing::AssertionSuccess();
  });
}

}  // namespace
}  // namespace ctx::grpc::internal
