// SPDX-License-Identifier: Apache-2.0
// DoneSignal: waiting, timed waits, std::stop_token and file-descriptor
// interop.

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <stop_token>
#include <thread>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::milliseconds;

TEST(DoneSignal, WaitReturnsAfterCancelFromAnotherThread) {
  auto [c, cancel] = WithCancel(Background());
  std::thread t([cancel = cancel] { cancel(); });
  c.Done().Wait();
  EXPECT_TRUE(c.Done().Ready());
  t.join();
}

TEST(DoneSignal, ManyWaitersAllWake) {
  auto [c, cancel] = WithCancel(Background());
  std::vector<std::thread> waiters;
  std::atomic<int> woke{0};
  for (int i = 0; i < 8; ++i) {
    waiters.emplace_back([&, c = c] {
      c.Done().Wait();
      woke.fetch_add(1);
    });
  }
  cancel();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(woke.load(), 8);
}

TEST(DoneSignal, WaitForTimesOutOnLiveContext) {
  auto [c, cancel] = WithCancel(Background());
  EXPECT_FALSE(c.Done().WaitFor(milliseconds(5)));
  EXPECT_FALSE(c.Done().WaitUntil(Clock::now() + milliseconds(5)));
  EXPECT_FALSE(
      c.Done().WaitUntil(std::chrono::system_clock::now() + milliseconds(5)));
}

TEST(DoneSignal, WaitForNonPositiveTimeoutOnlyChecks) {
  auto [c, cancel] = WithCancel(Background());
  EXPECT_FALSE(c.Done().WaitFor(milliseconds(0)));
  EXPECT_FALSE(c.Done().WaitFor(milliseconds(-100)));
  EXPECT_FALSE(c.Done().WaitUntil(TimePoint::min()));
  EXPECT_FALSE(c.Done().WaitFor(
      std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN())));
  cancel();
  EXPECT_TRUE(c.Done().WaitFor(milliseconds(0)));
  EXPECT_TRUE(c.Done().WaitUntil(TimePoint::min()));
}

// A time point on another clock, or on Clock with a coarser duration, is
// converted without overflowing: one beyond the far end of the range waits
// (here, until the cancel), one long past only checks. (Under UBSan, an
// overflow is reported.)
TEST(DoneSignal, WaitUntilSaturatesTimePointsOfOtherClocksAndDurations) {
  auto [c, cancel] = WithCancel(Background());
  EXPECT_FALSE(
      c.Done().WaitUntil(std::chrono::system_clock::time_point::min()));
  EXPECT_FALSE(c.Done().WaitUntil(
      std::chrono::time_point<Clock, std::chrono::seconds>::min()));
  std::thread t([cancel = cancel] { cancel(); });
  EXPECT_TRUE(c.Done().WaitUntil(
      std::chrono::time_point<Clock, std::chrono::seconds>::max()));
  EXPECT_TRUE(
      c.Done().WaitUntil(std::chrono::time_point<std::chrono::system_clock,
                                                 std::chrono::seconds>::max()));
  t.join();
}

TEST(DoneSignal, WaitForHugeTimeoutReturnsOnCancel) {
  auto [c, cancel] = WithCancel(Background());
  std::thread t([cancel = cancel] { cancel(); });
  EXPECT_TRUE(c.Done().WaitFor(std::chrono::hours::max()));
  t.join();
}

TEST(DoneSignal, NeverDoneWaitForTimesOut) {
  EXPECT_FALSE(Background().Done().WaitFor(milliseconds(2)));
}

TEST(DoneSignal, StopTokenIsRequestedOnCancel) {
  auto [c, cancel] = WithCancel(Background());
  std::stop_token token = c.Done().StopToken();
  EXPECT_TRUE(token.stop_possible());
  EXPECT_FALSE(token.stop_requested());
  bool callback_ran = false;
  std::stop_callback cb(token, [&callback_ran] { callback_ran = true; });
  cancel();
  EXPECT_TRUE(token.stop_requested());
  EXPECT_TRUE(callback_ran);
}

TEST(DoneSignal, StopTokenOfDoneContextIsAlreadyRequested) {
  auto [c, cancel] = WithCancel(Background());
  cancel();
  EXPECT_TRUE(c.Done().StopToken().stop_requested());
}

TEST(DoneSignal, StopTokenOfNeverDoneContextCannotStop) {
  EXPECT_FALSE(Background().Done().StopToken().stop_possible());
}

TEST(DoneSignal, StopTokenOutlivesContext) {
  std::stop_token token;
  {
    auto [c, cancel] = WithCancel(Background());
    token = c.Done().StopToken();
    cancel();
  }
  EXPECT_TRUE(token.stop_requested());
}

TEST(DoneSignal, FdBecomesReadableOnCancel) {
  auto [c, cancel] = WithCancel(Background());
  const int fd = c.Done().Fd();
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fd, c.Done().Fd())
      << "Fd() returned a different descriptor on the second call";
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0) << "fd readable before cancel";
  cancel();
  EXPECT_EQ(poll(&p, 1, 20000), 1) << "fd not readable after cancel";
  EXPECT_EQ(poll(&p, 1, 0), 1) << "fd must stay readable";
}

TEST(DoneSignal, FdOfDoneContextIsReadableAtOnce) {
  auto [c, cancel] = WithTimeout(Background(), milliseconds(-1));
  pollfd p{c.Done().Fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 1);
}

TEST(DoneSignal, FdWorksWithEpoll) {
  auto [c, cancel] = WithTimeout(Background(), milliseconds(5));
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, c.Done().Fd(), &ev), 0);
  epoll_event out{};
  EXPECT_EQ(epoll_wait(ep, &out, 1, 20000), 1);
  close(ep);
}

TEST(DoneSignal, FdOfNeverDoneContextIsMinusOne) {
  EXPECT_EQ(Background().Done().Fd(), -1);
}

// A std::stop_callback may destroy the last handles of the context whose
// cancel runs it, the cancel function being called included: the cancel must
// not touch the node (or its stop_source) after that.
TEST(DoneSignal, StopCallbackMayDestroyTheCancelFuncThatIsCanceling) {
  struct Call {
    Context c;
    CancelFunc cancel;
    std::optional<std::stop_callback<std::function<void()>>> on_stop;
  };
  auto [c, cancel] = WithCancel(Background());
  auto* call = new Call{std::move(c), std::move(cancel), std::nullopt};
  bool called = false;
  call->on_stop.emplace(call->c.Done().StopToken(),
                        std::function<void()>([call, &called] {
                          called = true;
                          delete call;  // its own stop_callback included
                        }));
  call->cancel();
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace ctx
