// SPDX-License-Identifier: Apache-2.0
// A parent whose children come and go on several CPUs at once splits its
// children list per CPU. Cancellation must reach every child on every list,
// a child must leave the list that holds it from any CPU, and children linked
// before the split must be treated like the rest. Threads are pinned to each
// CPU so every list is used even on a small machine.

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu_pinning.h"
#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::hours;

// Skips the test when this process may run on one CPU only: a parent then
// has no second CPU to split for, or no second thread running at once.
#define SKIP_ON_ONE_CPU()       \
  if (AllowedCpus().size() < 2) \
  GTEST_SKIP() << "one CPU: children lists are not split"

TEST(ChildShards, ParentCancelReachesEveryKindOfChildOnEveryCpu) {
  SKIP_ON_ONE_CPU();
  const int64_t live = ContextTestPeer::LiveNodes();
  {
    auto [parent, cancel_parent] = WithCancel(Background());
    ContextTestPeer::ShardChildren(parent);
    ASSERT_TRUE(ContextTestPeer::ChildrenSharded(parent));
    std::vector<ContextAndCancel> children;
    std::vector<Context> grandchildren;
    std::atomic<int> after_funcs{0};
    std::vector<StopFunc> stops;
    for (int cpu : AllowedCpus()) {
      OnCpu(cpu, [&] {
        // A plain child (canceled in the parent's walk), a timer child, a
        // child with a callback pending, and one with a child of its own.
        children.push_back(WithCancel(parent));
        children.push_back(WithTimeout(parent, hours(1)));
        children.push_back(WithCancel(parent));
        stops.push_back(AfterFunc(children.back().context, [&after_funcs] {
          after_funcs.fetch_add(1);
        }));
        children.push_back(WithCancel(parent));
        grandchildren.push_back(WithCancel(children.back().context).context);
      });
    }
    EXPECT_EQ(ContextTestPeer::Children(parent), children.size());
    cancel_parent();
    for (const ContextAndCancel& c : children) {
      EXPECT_TRUE(c.context.Done().Ready());
      EXPECT_EQ(c.context.Err(), Errc::kCanceled);
    }
    for (const Context& g : grandchildren) EXPECT_EQ(g.Err(), Errc::kCanceled);
    EXPECT_EQ(after_funcs.load(), static_cast<int>(AllowedCpus().size()));
    EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), live);
}

TEST(ChildShards, ChildLeavesItsListFromAnyCpu) {
  SKIP_ON_ONE_CPU();
  const std::vector<int> cpus = AllowedCpus();
  auto [parent, cancel_parent] = WithCancel(Background());
  ContextTestPeer::ShardChildren(parent);
  std::vector<ContextAndCancel> canceled, dropped;
  OnCpu(cpus.front(), [&] {
    for (int i = 0; i < 10; ++i) {
      canceled.push_back(WithCancel(parent));
      dropped.push_back(WithTimeout(parent, hours(1)));
    }
  });
  ASSERT_EQ(ContextTestPeer::Children(parent), 20u);
  // Canceled, then destroyed without a cancel (a forgotten cancel), on
  // another CPU than the one whose list holds them.
  OnCpu(cpus.back(), [&] {
    for (ContextAndCancel& c : canceled) c.cancel();
    EXPECT_EQ(ContextTestPeer::Children(parent), 10u);
    dropped.clear();
  });
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
  EXPECT_FALSE(parent.Err()) << "a child's cancel must not reach its parent";
  cancel_parent();
}

TEST(ChildShards, ChildrenLinkedBeforeTheSplitAreStillCanceledAndUnlinked) {
  SKIP_ON_ONE_CPU();
  auto [parent, cancel_parent] = WithCancel(Background());
  ContextAndCancel early_canceled = WithCancel(parent);
  ContextAndCancel early = WithCancel(parent);
  ContextTestPeer::ShardChildren(parent);
  ContextAndCancel late = WithCancel(parent);
  EXPECT_EQ(ContextTestPeer::Children(parent), 3u);
  early_canceled.cancel();
  EXPECT_EQ(ContextTestPeer::Children(parent), 2u);
  cancel_parent();
  EXPECT_EQ(early.context.Err(), Errc::kCanceled);
  EXPECT_EQ(late.context.Err(), Errc::kCanceled);
}

TEST(ChildShards, ChildOfACanceledSplitParentIsBornDone) {
  SKIP_ON_ONE_CPU();
  auto [parent, cancel_parent] = WithCancelCause(Background());
  ContextTestPeer::ShardChildren(parent);
  cancel_parent(Error(Errc::kCanceled, "stopped"));
  for (int cpu : AllowedCpus()) {
    OnCpu(cpu, [&] {
      Context c = WithCancel(parent).context;
      EXPECT_TRUE(c.Done().Ready());
      EXPECT_EQ(Cause(c), Error(Errc::kCanceled, "stopped"));
      EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
    });
  }
}

// Two threads on two CPUs creating and canceling children of one parent
// contend on its lock: the parent splits its list. Bounded by an iteration
// count; contention comes within a few iterations in practice.
TEST(ChildShards, ContentionOnTheParentSplitsItsList) {
  SKIP_ON_ONE_CPU();
  const std::vector<int> cpus = AllowedCpus();
  auto [parent, cancel_parent] = WithCancel(Background());
  std::atomic<int> ready{0};
  std::atomic<bool> split{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, cpu = cpus[t % cpus.size()]] {
      PinToCpu(cpu);
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      for (int i = 0; i < 5'000'000 && !split.load(); ++i) {
        auto [c, cancel] = WithCancel(parent);
        cancel();
        if (i % 64 == 0 && ContextTestPeer::ChildrenSharded(parent))
          split.store(true);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(ContextTestPeer::ChildrenSharded(parent));
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
  cancel_parent();
}

}  // namespace
}  // namespace ctx
