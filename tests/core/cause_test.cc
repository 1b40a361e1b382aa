// SPDX-License-Identifier: Apache-2.0
// Cause: which error explains a context's end (Go 1.20+ WithCancelCause, *Cause
// deadlines).

#include <chrono>
#include <thread>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

const Error kCauseA(std::errc::connection_reset, "cause A");
const Error kCauseB(std::errc::broken_pipe, "cause B");

TEST(Cause, IsEmptyWhileLive) {
  auto [c, cancel] = WithCancelCause(Background());
  EXPECT_FALSE(Cause(c));
}

TEST(Cause, IsEmptyForBackgroundAndWithoutCancel) {
  EXPECT_FALSE(Cause(Background()));
  auto [c, cancel] = WithCancelCause(Background());
  cancel(kCauseA);
  EXPECT_FALSE(Cause(WithoutCancel(c)));
}

TEST(Cause, IsErrWhenCanceledWithoutCause) {
  auto [c, cancel] = WithCancel(Background());
  cancel();
  EXPECT_EQ(Cause(c), Errc::kCanceled);
  EXPECT_EQ(Cause(c).message(), "context canceled");
}

TEST(Cause, EmptyCauseRecordsCanceled) {
  auto [c, cancel] = WithCancelCause(Background());
  cancel(Error());
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), Errc::kCanceled);
}

TEST(Cause, ReportsGivenCauseWhileErrStaysCanceled) {
  auto [c, cancel] = WithCancelCause(Background());
  cancel(kCauseA);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), kCauseA);
  EXPECT_EQ(Cause(c).message(), "cause A");
}

TEST(Cause, ParentCauseReachesChild) {
  auto [parent, cancel_parent] = WithCancelCause(Background());
  auto [child, cancel_child] = WithCancel(parent);
  cancel_parent(kCauseA);
  EXPECT_EQ(Cause(child), kCauseA);
}

// The worked case in context.h: the parent's cancel reached the child first.
TEST(Cause, ParentCancelFirstWinsOverLaterChildCause) {
  auto [parent, cancel_parent] = WithCancelCause(Background());
  auto [child, cancel_child] = WithCancelCause(parent);
  cancel_parent(kCauseA);
  cancel_child(kCauseB);
  EXPECT_EQ(Cause(child), kCauseA);
}

TEST(Cause, ChildCauseFirstIsKeptWhenParentCancelsLater) {
  auto [parent, cancel_parent] = WithCancelCause(Background());
  auto [child, cancel_child] = WithCancelCause(parent);
  cancel_child(kCauseB);
  cancel_parent(kCauseA);
  EXPECT_EQ(Cause(child), kCauseB);
  EXPECT_EQ(Cause(parent), kCauseA);
}

TEST(Cause, ValueChildReportsNearestCancelCause) {
  static const Key<int> kKey("k");
  auto [c, cancel] = WithCancelCause(Background());
  Context v = WithValue(c, kKey, 1);
  cancel(kCauseA);
  EXPECT_EQ(Cause(v), kCauseA);
}

TEST(Cause, TimeoutWithoutCauseIsDeadlineExceeded) {
  auto [c, cancel] = WithTimeout(Background(), milliseconds(1));
  ASSERT_TRUE(c.Done().WaitFor(kWaitCap));
  EXPECT_EQ(Cause(c), Errc::kDeadlineExceeded);
}

TEST(WithTimeoutCause, FiredDeadlineReportsItsCause) {
  auto [c, cancel] = WithTimeoutCause(Background(), milliseconds(1), kCauseA);
  ASSERT_TRUE(c.Done().WaitFor(kWaitCap));
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
  EXPECT_EQ(Cause(c), kCauseA);
}

TEST(WithDeadlineCause, PastDeadlineIsBornDoneWithCause) {
  auto [c, cancel] =
      WithDeadlineCause(Background(), Clock::now() - hours(1), kCauseA);
  EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
  EXPECT_EQ(Cause(c), kCauseA);
}

TEST(WithDeadlineCause, CancelBeforeDeadlineRecordsNoCause) {
  auto [c, cancel] =
      WithDeadlineCause(Background(), Clock::now() + hours(1), kCauseA);
  cancel();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), Errc::kCanceled);
}

TEST(Cause, BornDoneChildInheritsParentCause) {
  auto [parent, cancel_parent] = WithCancelCause(Background());
  cancel_parent(kCauseA);
  auto [child, cancel_child] = WithTimeout(parent, hours(1));
  EXPECT_EQ(Cause(child), kCauseA);
}

// Go: TestCauseRace
TEST(Cause, ConcurrentCancelAndCauseAgree) {
  for (int i = 0; i < 200; ++i) {
    auto [c, cancel] = WithCancelCause(Background());
    std::thread canceler([cancel = cancel] { cancel(kCauseA); });
    while (!c.Done().Ready()) {
      const Error e = Cause(c);
      if (e) {
        EXPECT_EQ(e, kCauseA);
        break;
      }
    }
    canceler.join();
    EXPECT_EQ(Cause(c), kCauseA);
  }
}

}  // namespace
}  // namespace ctx
