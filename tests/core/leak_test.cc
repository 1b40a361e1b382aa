// SPDX-License-Identifier: Apache-2.0
// No leak by construction: forgotten cancels, dropped trees and timers leave no
// node alive.

#include <chrono>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

const Key<int> kKey("k");

// Builds a mixed tree under root, keeps nothing, calls no cancel.
void BuildAndForget(const Context& root) {
  auto [a, cancel_a] = WithCancel(root);
  auto [b, cancel_b] =
      WithTimeout(WithValue(a, kKey, 1), std::chrono::hours(1));
  auto [c, cancel_c] = WithCancelCause(WithoutCancel(b));
  StopFunc stop = AfterFunc(c, [] {});
  stop();
  (void)c.Done().Fd();
  (void)c.Done().StopToken();
}

// Holder keeps a context until its thread's thread_local objects are
// destroyed.
struct Holder {
  ContextAndCancel held{Background(), CancelFunc()};
};

// A node a thread_local object frees after the thread's own counters were
// handed over (they were made later, so they go first) is still counted out.
TEST(Leak, NodesFreedLateInAThreadsExitAreCounted) {
  const int64_t before = ContextTestPeer::LiveNodes();
  std::thread([] {
    thread_local Holder holder;              // made first, destroyed last
    holder.held = WithCancel(Background());  // the thread's first count
  }).join();
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

TEST(Leak, ForgottenCancelsLeaveNoLiveNodes) {
  const int64_t before = ContextTestPeer::LiveNodes();
  const size_t timers = ContextTestPeer::ArmedTimers();
  auto [root, cancel_root] = WithCancel(Background());
  for (int i = 0; i < 100; ++i) BuildAndForget(root);
  EXPECT_EQ(ContextTestPeer::Children(root), 0u);
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), timers);
  cancel_root();
  root = Background();
  cancel_root = CancelFunc();
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before)
      << "after dropping every handle: live nodes differ";
}

TEST(Leak, CanceledTreeIsFreedWhenHandlesGo) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    auto [root, cancel_root] = WithCancel(Background());
    std::vector<Context> keep;
    for (int i = 0; i < 100; ++i) keep.push_back(WithCancel(root).context);
    cancel_root();
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

TEST(Leak, FiredTimersAreFreed) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    auto [c, cancel] = WithTimeout(Background(), std::chrono::milliseconds(1));
    ASSERT_TRUE(c.Done().WaitFor(kWaitCap));
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

TEST(Leak, StoppedAfterFuncReleasesItsContext) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    auto [c, cancel] = WithCancel(Background());
    StopFunc stop = AfterFunc(c, [] {});
    c = Background();
    cancel = CancelFunc();
    EXPECT_TRUE(stop());
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

}  // namespace
}  // namespace ctx
