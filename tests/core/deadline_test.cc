// SPDX-License-Identifier: Apache-2.0
// WithDeadline / WithTimeout: timers, the parent-deadline shortcut, edges of
// the clock.

#include <chrono>
#include <limits>
#include <thread>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Go: TestDeadline
TEST(WithDeadline, FiresWithDeadlineExceeded) {
  const TimePoint deadline = Clock::now() + milliseconds(20);
  auto [c, cancel] = WithDeadline(Background(), deadline);
  ASSERT_TRUE(c.Done().WaitFor(kWaitCap)) << "deadline never fired";
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
  EXPECT_EQ(c.Err(), std::errc::timed_out);
}

TEST(WithDeadline, NeverFiresBeforeItsDeadline) {
  const TimePoint deadline = Clock::now() + milliseconds(30);
  auto [c, cancel] = WithDeadline(Background(), deadline);
  ASSERT_TRUE(c.Done().WaitFor(kWaitCap));
  EXPECT_GE(Clock::now(), deadline) << "Done observed before the deadline";
}

TEST(WithDeadline, ReportsItsDeadline) {
  const TimePoint deadline = Clock::now() + hours(1);
  auto [c, cancel] = WithDeadline(Background(), deadline);
  ASSERT_TRUE(c.Deadline().has_value());
  EXPECT_EQ(*c.Deadline(), deadline);
}

TEST(WithDeadline, DeadlineIsInheritedByDescendants) {
  static const Key<int> kKey("k");
  const TimePoint deadline = Clock::now() + hours(1);
  auto [c, cancel] = WithDeadline(Background(), deadline);
  auto [child, cancel_child] = WithCancel(WithValue(c, kKey, 1));
  EXPECT_EQ(child.Deadline(), deadline);
}

// Go: TestCanceledTimeout
TEST(WithTimeout, CancelBeforeTimeoutGivesCanceled) {
  auto [c, cancel] = WithTimeout(Background(), hours(1));
  cancel();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

TEST(WithDeadline, EarlierParentDeadlineMeansNoTimer) {
  auto [parent, cancel_parent] = WithTimeout(Background(), hours(1));
  const size_t armed = ContextTestPeer::ArmedTimers();
  auto [child, cancel_child] = WithTimeout(parent, hours(2));
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed)
      << "a later child deadline armed a timer";
  EXPECT_EQ(child.Deadline(), parent.Deadline())
      << "the child reports the parent's sooner deadline";
  EXPECT_NE(child.ToString().find("WithCancel"), std::string::npos)
      << child.ToString();
}

TEST(WithDeadline, PastDeadlineIsBornDone) {
  auto [c, cancel] = WithDeadline(Background(), Clock::now() - milliseconds(1));
  EXPECT_TRUE(c.Done().Ready());
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
}

TEST(WithTimeout, ZeroTimeoutIsBornDone) {
  auto [c, cancel] = WithTimeout(Background(), nanoseconds(0));
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
}

TEST(WithTimeout, NegativeTimeoutIsBornDone) {
  auto [c, cancel] = WithTimeout(Background(), hours(-5));
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
}

TEST(WithTimeout, NanTimeoutIsBornDone) {
  auto [c, cancel] = WithTimeout(
      Background(),
      std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
}

TEST(WithTimeout, HugeTimeoutSaturatesInsteadOfOverflowing) {
  auto [c, cancel] = WithTimeout(Background(), hours::max());
  ASSERT_TRUE(c.Deadline().has_value());
  EXPECT_EQ(*c.Deadline(), TimePoint::max());
  EXPECT_FALSE(c.Done().Ready());
  auto [d, cancel_d] =
      WithTimeout(Background(), std::chrono::duration<double>(1e300));
  EXPECT_EQ(*d.Deadline(), TimePoint::max());
  auto [e, cancel_e] = WithTimeout(Background(), hours::min());
  EXPECT_EQ(e.Err(), Errc::kDeadlineExceeded);
}

TEST(WithDeadline, MaxDeadlineArmsNoTimer) {
  const size_t armed = ContextTestPeer::ArmedTimers();
  auto [c, cancel] = WithDeadline(Background(), TimePoint::max());
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed);
  cancel();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

TEST(WithDeadline, CancelRemovesTimer) {
  const size_t armed = ContextTestPeer::ArmedTimers();
  auto [c, cancel] = WithTimeout(Background(), hours(1));
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed + 1);
  cancel();
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed);
}

TEST(WithDeadline, DestroyWithoutCancelRemovesTimer) {
  const size_t armed = ContextTestPeer::ArmedTimers();
  { auto [c, cancel] = WithTimeout(Background(), hours(1)); }
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed)
      << "a forgotten cancel left its timer armed";
}

TEST(WithDeadline, ParentCancelRemovesChildTimer) {
  const size_t armed = ContextTestPeer::ArmedTimers();
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [child, cancel_child] = WithTimeout(parent, hours(1));
  cancel_parent();
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed);
  EXPECT_EQ(child.Err(), Errc::kCanceled);
}

TEST(WithDeadline, ParentTimeoutReachesChildren) {
  auto [parent, cancel_parent] = WithTimeout(Background(), milliseconds(10));
  auto [child, cancel_child] = WithCancel(parent);
  ASSERT_TRUE(child.Done().WaitFor(kWaitCap));
  EXPECT_EQ(child.Err(), Errc::kDeadlineExceeded);
}

TEST(WithDeadline, TimersFireInDeadlineOrder) {
  auto [late, cancel_late] = WithTimeout(Background(), milliseconds(60));
  auto [early, cancel_early] = WithTimeout(Background(), milliseconds(5));
  ASSERT_TRUE(early.Done().WaitFor(kWaitCap));
  ASSERT_TRUE(late.Done().WaitFor(kWaitCap));
  EXPECT_EQ(early.Err(), Errc::kDeadlineExceeded);
  EXPECT_EQ(late.Err(), Errc::kDeadlineExceeded);
}

// ToString prints how far the deadline is from now; for TimePoint::min() that
// distance does not fit the clock's duration. (Under UBSan, an overflow is
// reported.)
TEST(WithDeadline, MinDeadlineDescribesWithoutOverflow) {
  auto [c, cancel] = WithDeadline(Background(), TimePoint::min());
  EXPECT_NE(c.ToString().find(".WithDeadline("), std::string::npos)
      << c.ToString();
}

TEST(Clock, RemainingIsNulloptWithoutDeadline) {
  EXPECT_FALSE(Remaining(Background()).has_value());
  auto [c, cancel] = WithCancel(Background());
  EXPECT_FALSE(Remaining(c).has_value());
}

TEST(Clock, RemainingCountsDownToDeadline) {
  const TimePoint now = Clock::now();
  auto [c, cancel] = WithDeadline(Background(), now + hours(1));
  EXPECT_EQ(Remaining(c, now), hours(1));
  EXPECT_EQ(Remaining(c, now + hours(2)), -hours(1));
}

// Remaining saturates instead of overflowing when the deadline and now are
// further apart than Clock::duration reaches. (Under UBSan, an overflow is
// reported.)
TEST(Clock, RemainingSaturatesInsteadOfOverflowing) {
  auto [c, cancel] = WithDeadline(Background(), TimePoint::min() + hours(1));
  EXPECT_EQ(Remaining(c, TimePoint::max() - hours(1)), Clock::duration::min());
  auto [d, cancel_d] = WithDeadline(Background(), TimePoint::max() - hours(1));
  EXPECT_EQ(Remaining(d, TimePoint::min() + hours(1)), Clock::duration::max());
}

TEST(Clock, SystemTimeConversionRoundTripsAndSaturates) {
  const TimePoint t = Clock::now() + hours(1);
  const auto back = FromSystemTime(ToSystemTime(t));
  EXPECT_LT(std::chrono::abs(back - t), milliseconds(50));
  EXPECT_EQ(ToSystemTime(TimePoint::max()),
            std::chrono::system_clock::time_point::max());
  EXPECT_EQ(FromSystemTime(std::chrono::system_clock::time_point::max()),
            TimePoint::max());
  EXPECT_EQ(FromSystemTime(std::chrono::system_clock::time_point::min()),
            TimePoint::min());
  EXPECT_EQ(ToSystemTime(TimePoint::max() - hours(1)),
            std::chrono::system_clock::time_point::max());
}

}  // namespace
}  // namespace ctx
