// SPDX-License-Identifier: Apache-2.0
// FromGprDeadline: a deadline on a gpr clock becomes the same instant on
// ctx::Clock, whichever gpr clock it is on, whatever `now` the caller passes
// (a stale or a future one only makes the offset be measured again), and while
// other threads measure the offset again.
//
// Each check brackets a gpr clock reading between two ctx::Clock readings: the
// converted deadline must fall within that bracket shifted by the budget, give
// or take kTolerance (the error of the offset's measurement is at most half of
// a 20 us window; a preempted measurement, after retries, may be wider).

#include "gpr_clock.h"

#include <grpc/support/time.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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

TEST(GprClock, MonotonicDeadlineIsTheSameInstantOnCtxClock) {
  EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(3), {}));
  EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_MONOTONIC, -seconds(3), {}));
}

TEST(GprClock, RealtimeDeadlineIsTheSameInstantOnCtxClock) {
  EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_REALTIME, seconds(3), {}));
}

TEST(GprClock, StaleOrFutureNowStillConvertsExactly) {
  const Clock::duration shifts[] = {
      Clock::duration::zero(), -hours(1), hours(1),
      -kGprOffsetLifetime - milliseconds(1), kGprOffsetLifetime * 2};
  for (const Clock::duration shift : shifts) {
    EXPECT_TRUE(ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(5), shift))
        << "now shifted by "
        << std::chrono::duration_cast<milliseconds>(shift).count() << " ms";
  }
}

// On Linux gpr's monotonic clock reads CLOCK_MONOTONIC as ctx::Clock does, so
// their offset is 0, and a conversion that ignored it would pass the tests
// above. Here gpr's clock runs 7 s ahead (replaced through gpr_now_impl, in a
// child process of its own: no gRPC thread there reads the shifted clock).
gpr_timespec (*g_real_gpr_now)(gpr_clock_type) = nullptr;
gpr_timespec AheadBy7s(gpr_clock_type type) {
  gpr_timespec t = g_real_gpr_now(type);
  if (type == GPR_CLOCK_MONOTONIC) t.tv_sec += 7;
  return t;
}

TEST(GprClock, ShiftedGprClockIsFollowedOnceTheOffsetExpires) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // The offset measured with the real clock first.
        const ::testing::AssertionResult real =
            ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), {});
        g_real_gpr_now = gpr_now_impl;
        gpr_now_impl = AheadBy7s;
        // A `now` past the last measurement's lifetime measures the offset
        // again; the next conversion, within the lifetime, uses it.
        const ::testing::AssertionResult measured = ConvertsWithin(
            GPR_CLOCK_MONOTONIC, seconds(2), kGprOffsetLifetime * 2);
        const ::testing::AssertionResult cached =
            ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(2), {});
        if (!real) std::fprintf(stderr, "%s\n", real.message());
        if (!measured) std::fprintf(stderr, "%s\n", measured.message());
        if (!cached) std::fprintf(stderr, "%s\n", cached.message());
        _exit(real && measured && cached ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
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

// Threads convert while others make the offset be measured again (a `now`
// an hour away is never within the measurement's lifetime): every conversion
// stays exact. Bounded by iterations; TSan checks the offset's publication.
TEST(GprClockStress, ConversionsRaceMeasurementsOfTheOffset) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 2000;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < kIterations; ++i) {
        const Clock::duration shift = (t % 2 == 0 && i % 3 == 0)
                                          ? hours(t == 0 ? 1 : -1)
                                          : Clock::duration::zero();
        if (!ConvertsWithin(GPR_CLOCK_MONOTONIC, seconds(1), shift))
          wrong.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0) << "conversions outside their bracket";
}

}  // namespace
}  // namespace ctx::grpc::internal
