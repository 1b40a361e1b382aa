// SPDX-License-Identifier: Apache-2.0
// WithCancel / WithCancelCause: Go's cancellation rules, one test per rule.

#include <thread>
#include <vector>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

TEST(Background, IsNeverDone) {
  Context c = Background();
  EXPECT_FALSE(c.Done().CanBeDone());
  EXPECT_FALSE(c.Done().Ready());
  EXPECT_FALSE(c.Err());
  EXPECT_FALSE(c.Deadline().has_value());
  EXPECT_EQ(c.ToString(), "context.Background");
}

TEST(Background, DefaultConstructedContextIsBackground) {
  Context c;
  EXPECT_EQ(c, Background());
  EXPECT_EQ(c.ToString(), "context.Background");
}

TEST(TODO, IsNeverDoneAndNamedTodo) {
  Context c = TODO();
  EXPECT_FALSE(c.Done().CanBeDone());
  EXPECT_FALSE(c.Err());
  EXPECT_EQ(c.ToString(), "context.TODO");
}

// Go: TestWithCancel
TEST(WithCancel, CancelMarksContextDoneWithCanceled) {
  auto [c, cancel] = WithCancel(Background());
  EXPECT_TRUE(c.Done().CanBeDone());
  EXPECT_FALSE(c.Done().Ready()) << "before cancel: Ready() = true, want false";
  EXPECT_FALSE(c.Err());
  cancel();
  EXPECT_TRUE(c.Done().Ready());
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_EQ(c.Err().message(), "context canceled");
}

TEST(WithCancel, DoneReturnsSameSignalEveryTime) {
  auto [c, cancel] = WithCancel(Background());
  EXPECT_EQ(&c.Done(), &c.Done());
  Context copy = c;
  EXPECT_EQ(&copy.Done(), &c.Done());
}

// Go: TestParentFinishesChild
TEST(WithCancel, ParentCancelReachesEveryDescendant) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [child, cancel_child] = WithCancel(parent);
  static const Key<int> kKey("k");
  Context value = WithValue(child, kKey, 1);
  auto [grandchild, cancel_grandchild] = WithCancel(value);
  auto [timer, cancel_timer] = WithTimeout(child, std::chrono::hours(1));
  cancel_parent();
  for (const Context* c : {&parent, &child, &value, &grandchild, &timer}) {
    EXPECT_TRUE(c->Done().Ready()) << c->ToString();
    EXPECT_EQ(c->Err(), Errc::kCanceled) << c->ToString();
  }
}

TEST(WithCancel, ChildCancelDoesNotReachParent) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [child, cancel_child] = WithCancel(parent);
  cancel_child();
  EXPECT_TRUE(child.Done().Ready());
  EXPECT_FALSE(parent.Done().Ready())
      << "canceling a child canceled its parent";
}

TEST(WithCancel, ChildCancelDoesNotReachSibling) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [a, cancel_a] = WithCancel(parent);
  auto [b, cancel_b] = WithCancel(parent);
  cancel_a();
  EXPECT_FALSE(b.Done().Ready());
}

TEST(WithCancel, FirstCancelWins) {
  auto [parent, cancel_parent] =
      WithTimeout(Background(), std::chrono::hours(1));
  auto [child, cancel_child] = WithCancelCause(parent);
  cancel_child(Error(Errc::kCanceled, "first"));
  cancel_parent();
  cancel_child(Error(Errc::kCanceled, "second"));
  EXPECT_EQ(child.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(child).message(), "first");
}

TEST(WithCancel, RepeatedCancelIsANoOp) {
  auto [c, cancel] = WithCancel(Background());
  cancel();
  cancel();
  CancelFunc copy = cancel;
  copy();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

TEST(WithCancel, DefaultCancelFuncDoesNothing) {
  CancelFunc cancel;
  cancel();
  CancelCauseFunc cancel_cause;
  cancel_cause(Errc::kCanceled);
  SUCCEED();
}

// Go: TestWithCancelCanceledParent
TEST(WithCancel, ChildOfCanceledParentIsBornCanceled) {
  auto [parent, cancel_parent] = WithCancelCause(Background());
  cancel_parent(Error(std::errc::connection_reset, "peer reset"));
  auto [child, cancel_child] = WithCancel(parent);
  EXPECT_TRUE(child.Done().Ready())
      << "child of a canceled parent: Ready() = false, want true";
  EXPECT_EQ(child.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(child), Error(std::errc::connection_reset, "peer reset"));
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
}

TEST(WithCancel, ChildOfTimedOutParentIsBornWithDeadlineExceeded) {
  auto [parent, cancel_parent] =
      WithTimeout(Background(), std::chrono::nanoseconds(-1));
  auto [child, cancel_child] = WithCancel(parent);
  EXPECT_EQ(child.Err(), Errc::kDeadlineExceeded);
}

// Go: TestCancelRemoves
TEST(WithCancel, CancelRemovesChildFromParent) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [child, cancel_child] = WithCancel(parent);
  EXPECT_EQ(ContextTestPeer::Children(parent), 1u);
  cancel_child();
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u)
      << "after canceling child: has 1, want 0";
  auto [timer, cancel_timer] = WithTimeout(parent, std::chrono::hours(1));
  EXPECT_EQ(ContextTestPeer::Children(parent), 1u);
  cancel_timer();
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
}

// Go: TestChildFinishesFirst
TEST(WithCancel, ChildFinishingFirstLeavesParentLive) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [child, cancel_child] = WithCancel(parent);
  cancel_child();
  EXPECT_FALSE(parent.Done().Ready());
  cancel_parent();
  EXPECT_EQ(child.Err(), Errc::kCanceled);
}

TEST(WithCancel, ValueNodesAreSkippedWhenRegistering) {
  static const Key<int> kKey("k");
  auto [parent, cancel_parent] = WithCancel(Background());
  Context v = WithValue(WithValue(parent, kKey, 1), kKey, 2);
  auto [child, cancel_child] = WithCancel(v);
  EXPECT_EQ(ContextTestPeer::Children(parent), 1u)
      << "child should register with the nearest cancel node";
}

TEST(WithCancel, DestroyingChildWithoutCancelUnregistersIt) {
  auto [parent, cancel_parent] = WithCancel(Background());
  {
    auto [child, cancel_child] = WithCancel(parent);
    EXPECT_EQ(ContextTestPeer::Children(parent), 1u);
  }
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u)
      << "a forgotten cancel must not leak the child";
}

TEST(WithCancel, CancelFuncKeepsContextRegistered) {
  auto [parent, cancel_parent] = WithCancel(Background());
  CancelFunc keep;
  {
    auto [child, cancel_child] = WithCancel(parent);
    keep = cancel_child;
  }
  EXPECT_EQ(ContextTestPeer::Children(parent), 1u);
  keep();
  EXPECT_EQ(ContextTestPeer::Children(parent), 0u);
}

TEST(WithCancel, ParentUnderWithoutCancelIsNeverReached) {
  auto [root, cancel_root] = WithCancel(Background());
  auto [child, cancel_child] = WithCancel(WithoutCancel(root));
  cancel_root();
  EXPECT_FALSE(child.Done().Ready());
  cancel_child();
  EXPECT_EQ(child.Err(), Errc::kCanceled);
}

// Go: TestInterlockedCancels
TEST(WithCancel, CancelFromCallbackOfParentDoesNotDeadlock) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [child, cancel_child] = WithCancel(parent);
  auto [other, cancel_other] = WithCancel(Background());
  StopFunc stop = AfterFunc(parent, [cancel_child, cancel_other] {
    cancel_child();
    cancel_other();
  });
  cancel_parent();
  EXPECT_TRUE(child.Done().Ready());
  EXPECT_TRUE(other.Done().Ready());
}

// Go: TestSimultaneousCancels
TEST(WithCancel, SimultaneousCancelsAllComplete) {
  auto [root, cancel_root] = WithCancel(Background());
  std::vector<Context> contexts;
  std::vector<CancelFunc> cancels;
  for (int i = 0; i < 100; ++i) {
    auto [c, cancel] =
        WithCancel(i % 2 ? root : (contexts.empty() ? root : contexts.back()));
    contexts.push_back(c);
    cancels.push_back(cancel);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cancels, t] {
      for (size_t i = t; i < cancels.size(); i += 4) cancels[i]();
    });
  }
  cancel_root();
  for (auto& t : threads) t.join();
  for (const Context& c : contexts) EXPECT_TRUE(c.Done().WaitFor(kWaitCap));
}

TEST(WithCancel, MillionDeepChainCancelsAndDestroysWithoutRecursion) {
  auto [root, cancel_root] = WithCancel(Background());
  Context leaf = root;
  std::vector<CancelFunc> keep;
  for (int i = 0; i < 200000; ++i) {
    auto [c, cancel] = WithCancel(leaf);
    leaf = c;
  }
  cancel_root();
  EXPECT_EQ(leaf.Err(), Errc::kCanceled);
  leaf = Background();  // frees the whole chain iteratively
}

// A child's callback, run by its parent's cancel, may destroy the parent's last
// handles, the cancel function being called included: the parent's cancel
// must not touch the parent after that (it still leaves its own parent).
TEST(WithCancel, ChildCallbackMayDestroyTheParentsCancelFunc) {
  auto* cancel_parent = new CancelFunc;
  Context* child;
  {
    auto [parent, cancel] = WithCancel(Background());
    *cancel_parent = std::move(cancel);
    child = new Context(WithCancel(parent).context);
  }
  bool called = false;
  StopFunc stop = AfterFunc(*child, [&] {
    called = true;
    delete child;  // the parent's last other reference
    delete cancel_parent;
  });
  (*cancel_parent)();
  EXPECT_TRUE(called);
}

}  // namespace
}  // namespace ctx
