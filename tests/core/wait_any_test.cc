// SPDX-License-Identifier: Apache-2.0
// WaitAny: one thread waiting on many contexts.

#include <chrono>
#include <thread>
#include <vector>

#include "ctx/wait.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::milliseconds;

TEST(WaitAny, ReturnsIndexOfTheContextCanceledFromAnotherThread) {
  std::vector<Context> contexts;
  std::vector<CancelFunc> cancels;
  for (int i = 0; i < 8; ++i) {
    auto [c, cancel] = WithCancel(Background());
    contexts.push_back(c);
    cancels.push_back(cancel);
  }
  std::thread t([cancel = cancels[5]] { cancel(); });
  const std::optional<size_t> i = WaitAny(contexts, Clock::now() + kWaitCap);
  t.join();
  ASSERT_TRUE(i.has_value()) << "WaitAny timed out, want index 5";
  EXPECT_EQ(*i, 5u);
}

TEST(WaitAny, AlreadyDoneContextReturnsAtOnce) {
  auto [a, cancel_a] = WithCancel(Background());
  auto [b, cancel_b] = WithCancel(Background());
  cancel_b();
  std::vector<Context> contexts = {a, b};
  EXPECT_EQ(WaitAny(contexts, TimePoint::min()), 1u);
}

TEST(WaitAny, ReturnsLowestDoneIndex) {
  auto [a, cancel_a] = WithCancel(Background());
  auto [b, cancel_b] = WithCancel(Background());
  cancel_a();
  cancel_b();
  std::vector<Context> contexts = {a, b};
  EXPECT_EQ(WaitAny(contexts), 0u);
}

TEST(WaitAny, TimesOutWhenNothingEnds) {
  auto [a, cancel_a] = WithCancel(Background());
  std::vector<Context> contexts = {a, Background()};
  EXPECT_FALSE(WaitAny(contexts, Clock::now() + milliseconds(5)).has_value());
}

TEST(WaitAny, EmptySpanReturnsNullopt) {
  EXPECT_FALSE(WaitAny({}, TimePoint::max()).has_value());
}

TEST(WaitAny, WakesOnTimerFiring) {
  auto [a, cancel_a] = WithCancel(Background());
  auto [t, cancel_t] = WithTimeout(Background(), milliseconds(5));
  std::vector<Context> contexts = {a, t};
  EXPECT_EQ(WaitAny(contexts, Clock::now() + kWaitCap), 1u);
}

TEST(WaitAny, LeavesNoRegistrationBehind) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    auto [a, cancel_a] = WithCancel(Background());
    std::vector<Context> contexts = {a};
    EXPECT_FALSE(WaitAny(contexts, Clock::now() + milliseconds(1)));
    EXPECT_EQ(ContextTestPeer::Children(a), 0u);
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before)
      << "a stopped registration kept its context alive";
}

}  // namespace
}  // namespace ctx
