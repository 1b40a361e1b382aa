// SPDX-License-Identifier: Apache-2.0
// Cause: which error explains a context's end (Go 1.20+ WithCancelCause, *Cause
// deadlines).

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "kept_errors.h"
#include "spin_barrier.h"
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

// Kept causes (internal::ImmortalError, the bridges') are recorded in the
// node's state word rather than copied under its lock; they must read back as
// any other cause does, on every path a cause takes.
// Made before any test runs, so that it has an index even after
// ErrorsBeyondTheIndexedOnesAreStillReported used up the rest.
const Error& kKept =
    internal::ImmortalError(make_error_code(Errc::kCanceled), "kept cause");
// Kept errors that are no cause for a cancel with kCanceled (its own code and
// message), and that are one although their message is a code's (another
// code's).
const Error& kKeptBare = internal::ImmortalError(
    make_error_code(Errc::kCanceled), Error(Errc::kCanceled).message());
const Error& kKeptNoError =
    internal::ImmortalError(std::error_code(), "not an error");
const Error& kKeptOtherCode =
    internal::ImmortalError(make_error_code(Errc::kDeadlineExceeded),
                            Error(Errc::kDeadlineExceeded).message());

TEST(KeptCause, IsReportedByTheCanceledContext) {
  ASSERT_NE(internal::KeptSlotIndex(kKept), 0u);
  auto [c, cancel] = WithCancelCause(Background());
  cancel(kKept);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), kKept);
  EXPECT_EQ(Cause(c).message(), "kept cause");
}

TEST(KeptCause, OneEqualToTheCancelsOwnErrorReadsAsThatError) {
  ASSERT_NE(internal::KeptSlotIndex(kKeptBare), 0u);
  auto [c, cancel] = WithCancelCause(Background());
  cancel(kKeptBare);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), Error(Errc::kCanceled));
  EXPECT_EQ(Cause(c).message(), "context canceled");
}

TEST(KeptCause, OneThatIsNoErrorReadsAsTheCancelsError) {
  ASSERT_NE(internal::KeptSlotIndex(kKeptNoError), 0u);
  auto [c, cancel] = WithCancelCause(Background());
  cancel(kKeptNoError);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), Error(Errc::kCanceled));
}

TEST(KeptCause, OneWithAnotherCodeIsReportedAsTheCause) {
  ASSERT_NE(internal::KeptSlotIndex(kKeptOtherCode), 0u);
  auto [c, cancel] = WithCancelCause(Background());
  cancel(kKeptOtherCode);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), kKeptOtherCode);
  EXPECT_EQ(Cause(c).code(), make_error_code(Errc::kDeadlineExceeded));
}

TEST(KeptCause, ReachesRegisteredChildrenAndBornDoneOnes) {
  auto [parent, cancel] = WithCancelCause(Background());
  auto [child, cancel_child] = WithCancel(parent);
  auto [timed, cancel_timed] = WithTimeout(parent, hours(1));
  cancel(kKept);
  EXPECT_EQ(Cause(child), kKept);
  EXPECT_EQ(Cause(timed), kKept);
  EXPECT_EQ(timed.Err(), Errc::kCanceled);
  auto [late, cancel_late] = WithCancel(parent);
  EXPECT_EQ(Cause(late), kKept);
}

TEST(KeptCause, IsReportedWhenCallbacksAreAttached) {
  auto [c, cancel] = WithCancelCause(Background());
  Error seen;
  const StopFunc stop = AfterFunc(c, [&seen, c = c] { seen = Cause(c); });
  cancel(kKept);
  EXPECT_EQ(seen, kKept);
  EXPECT_EQ(Cause(c), kKept);
}

TEST(KeptCause, EndsADeadlineNodeBeforeItsDeadline) {
  auto [c, cancel] =
      WithDeadlineCause(Background(), Clock::now() + hours(1), kCauseA);
  // A deadline's cause-taking cancel, as the gRPC bridge makes one.
  const CancelCauseFunc end =
      ContextPeer::MakeCancelCause(ContextPeer::NodeOf(c));
  end(kKept);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(c), kKept);
}

TEST(KeptCause, FirstCancelWinsAgainstAStoredCause) {
  {
    auto [c, cancel] = WithCancelCause(Background());
    cancel(kKept);
    cancel(kCauseA);
    EXPECT_EQ(Cause(c), kKept);
  }
  {
    auto [c, cancel] = WithCancelCause(Background());
    cancel(kCauseA);
    cancel(kKept);
    EXPECT_EQ(Cause(c), kCauseA);
  }
}

// Errors kept after the indexed ones are stored as any other cause.
TEST(KeptCause, ErrorsBeyondTheIndexedOnesAreStillReported) {
  const Error* last = nullptr;
  for (uint32_t i = 0; i <= internal::kMaxKeptIndex; ++i) {
    last = &internal::ImmortalError(make_error_code(Errc::kCanceled),
                                    "beyond " + std::to_string(i));
  }
  ASSERT_EQ(internal::KeptSlotIndex(*last), 0u);
  auto [c, cancel] = WithCancelCause(Background());
  cancel(*last);
  EXPECT_EQ(Cause(c), *last);
}

// A kept cause and a stored one race to cancel a node with a registered
// child: one wins, every reader sees that one, and the child inherits it.
TEST(KeptCause, RacingAStoredCauseOneWinsForParentAndChild) {
  for (int i = 0; i < 300; ++i) {
    auto [parent, cancel] = WithCancelCause(Background());
    auto [child, cancel_child] = WithCancel(parent);
    SpinBarrier barrier;
    std::thread kept([&barrier, cancel = cancel] {
      barrier.ArriveAndWait();
      cancel(kKept);
    });
    std::thread stored([&barrier, cancel = cancel] {
      barrier.ArriveAndWait();
      cancel(kCauseA);
    });
    Error seen;
    while (!(seen = Cause(parent))) {
    }
    kept.join();
    stored.join();
    EXPECT_TRUE(seen == kKept || seen == kCauseA) << seen;
    EXPECT_EQ(Cause(parent), seen);
    EXPECT_EQ(Cause(child), seen);
  }
}

}  // namespace
}  // namespace ctx
