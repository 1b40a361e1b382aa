// SPDX-License-Identifier: Apache-2.0
// Race hunting: each test lines up two operations that can meet on one node,
// round after round, and checks that every node is freed exactly once (live
// node counts; ASan and TSan see the rest). Bounded by rounds, never by wall
// time. CI repeats the Race suite many times under TSan and ASan
// (scripts/test): a window of a few instructions shows up only across
// thousands of rounds.

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "gtest/gtest.h"
#include "spin_barrier.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::microseconds;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kRounds = 100;
#else
constexpr int kRounds = 300;
#endif

// SpinUntil busy-waits until the clock reaches t (tens of microseconds at
// most here): a sleep would wake too late to meet the timer thread.
void SpinUntil(TimePoint t) {
  while (Clock::now() < t) {
  }
}

// The last handle of a timer context is dropped just as its deadline comes:
// the timer thread may take a reference (from its heap) and fire the node
// while the handle drops, so the drop must not free a node it no longer owns
// alone. Under Background (not in a children list) and under a live parent
// (the fire also unlinks it).
TEST(Race, LastHandleDropVsTimerFire) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    auto [parent, cancel_parent] = WithCancel(Background());
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([t, parent = parent] {
        for (int i = 0; i < kRounds; ++i) {
          const TimePoint deadline = Clock::now() + microseconds(30);
          std::optional<Context> c =
              WithDeadline(t == 0 ? Background() : parent, deadline).context;
          SpinUntil(deadline + microseconds(i % 16 * 4));
          c.reset();  // the last handle
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before)
      << "after dropping the last handles of timer contexts as they fired";
}

// RunPair runs `a` on a second thread and `b` on this one, released together
// by a spin barrier, once per round; `setup` prepares each round before both
// start and `check` runs after both are done.
template <class Setup, class A, class B, class Check>
void RunPair(int rounds, Setup setup, A a, B b, Check check) {
  SpinBarrier barrier;
  std::thread other([&] {
    for (int i = 0; i < rounds; ++i) {
      barrier.ArriveAndWait();  // set up
      a(i);
      barrier.ArriveAndWait();  // done
    }
  });
  for (int i = 0; i < rounds; ++i) {
    setup(i);
    barrier.ArriveAndWait();
    b(i);
    barrier.ArriveAndWait();
    check(i);
  }
  other.join();
}

// The last handles of children are dropped while their parent is canceled:
// the parent's walk of its children list may take a reference to a child (or
// mark a plain one done in place) at that very moment. Children of each kind:
// plain (marked done in the walk), timer, and one with a child of its own.
TEST(Race, LastHandleDropVsParentCancel) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    std::optional<ContextAndCancel> parent;
    std::vector<ContextAndCancel> children;
    std::vector<Context> grandchildren;
    RunPair(
        kRounds,
        [&](int i) {
          parent = WithCancel(Background());
          children.push_back(WithCancel(parent->context));
          children.push_back(
              WithTimeout(parent->context, std::chrono::hours(1)));
          children.push_back(WithCancel(parent->context));
          grandchildren.push_back(WithCancel(children.back().context).context);
          if (i % 2) grandchildren.clear();  // the child keeps its mark
        },
        [&](int) { parent->cancel(); },
        [&](int) {
          children.clear();
          grandchildren.clear();
        },
        [&](int) {
          EXPECT_EQ(ContextTestPeer::Children(parent->context), 0u)
              << "children left in a canceled parent's list";
          parent.reset();
        });
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before)
      << "after dropping children's last handles as their parent canceled";
}

// The last handles of a context with a pending AfterFunc are dropped (the
// registration then holds the node) while another thread stops the AfterFunc
// (which drops that hold: the last reference) or cancels through a kept
// cancel function (which claims the callback first). f runs exactly when Stop
// reports that it did not prevent it.
TEST(Race, LastHandleDropVsAfterFuncStop) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    std::optional<ContextAndCancel> c;
    std::optional<CancelFunc> kept_cancel;
    StopFunc stop;
    std::atomic<int> ran{0};
    bool stopped = false;
    RunPair(
        kRounds,
        [&](int i) {
          c = WithCancel(Background());
          if (i % 2) kept_cancel = c->cancel;
          stop = AfterFunc(c->context, [&ran] { ran.fetch_add(1); });
        },
        [&](int) { stopped = stop(); },
        [&](int i) {
          if (i % 2) (*kept_cancel)();
          c.reset();
          kept_cancel.reset();
        },
        [&](int i) {
          const int want = (i % 2 && !stopped) ? 1 : 0;
          EXPECT_EQ(ran.exchange(0), want)
              << "round " << i << ": Stop returned " << stopped;
          stop = StopFunc();
        });
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before)
      << "after dropping last handles as AfterFuncs were stopped";
}

// A timer fires while its context is canceled by hand: one of the two wins,
// the node leaves the timer heap, and the Err is the winner's.
TEST(Race, TimerFireVsCancel) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    std::optional<ContextAndCancel> c;
    TimePoint deadline;
    RunPair(
        kRounds,
        [&](int) {
          deadline = Clock::now() + microseconds(30);
          c = WithDeadline(Background(), deadline);
        },
        [&](int i) {
          SpinUntil(deadline + microseconds(i % 16 * 4));
          c->cancel();
        },
        [&](int) { EXPECT_TRUE(c->context.Done().WaitFor(kWaitCap)); },
        [&](int i) {
          const std::error_code err = c->context.Err();
          EXPECT_TRUE(err == Errc::kCanceled || err == Errc::kDeadlineExceeded)
              << "round " << i << ": Err " << err.message();
          c.reset();
        });
  }
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), 0u);
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

// Children in a parent's split (per-CPU) children lists leave them, by their
// own cancel or by their destruction, from two threads at once, while the
// parent is canceled: each unlink must find the list that holds it, and the
// parent's walk must not reach a child that has left.
TEST(Race, UnlinkFromSplitListVsParentCancel) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    std::optional<ContextAndCancel> parent;
    std::vector<ContextAndCancel> mine, theirs;
    RunPair(
        kRounds,
        [&](int) {
          parent = WithCancel(Background());
          ContextTestPeer::ShardChildren(parent->context);
          for (int k = 0; k < 4; ++k) {
            mine.push_back(WithCancel(parent->context));
            theirs.push_back(WithCancel(parent->context));
          }
        },
        [&](int i) {
          if (i % 2) {
            for (ContextAndCancel& c : theirs) c.cancel();
          }
          theirs.clear();
        },
        [&](int i) {
          if (i % 3 == 0) parent->cancel();
          for (ContextAndCancel& c : mine) c.cancel();
          mine.clear();
        },
        [&](int) {
          EXPECT_EQ(ContextTestPeer::Children(parent->context), 0u)
              << "children left in the list after each left or was canceled";
          parent.reset();
        });
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

// Children link into and leave a parent's list on one thread while the
// parent's list is split on another (as contention would split it) and then
// the parent is canceled: the split moves the list its lock guards, and every
// child linked before, during or after it is canceled and unlinked once.
TEST(Race, LinkAndUnlinkVsSplitAndParentCancel) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    std::optional<ContextAndCancel> parent;
    std::vector<ContextAndCancel> children;
    RunPair(
        kRounds,
        [&](int) {
          parent = WithCancel(Background());
          children.push_back(WithCancel(parent->context));
        },
        [&](int i) {
          for (int k = 0; k < 8; ++k) {
            children.push_back(WithCancel(parent->context));
            if (k % 3 == i % 3) children[k / 2].cancel();
          }
          children.clear();
        },
        [&](int i) {
          ContextTestPeer::ShardChildren(parent->context);
          if (i % 2) parent->cancel();
        },
        [&](int) {
          EXPECT_EQ(ContextTestPeer::Children(parent->context), 0u)
              << "children left in the list after each was canceled or "
                 "destroyed across a split";
          parent.reset();
        });
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

// Handles are copied, moved and assigned on one thread while another cancels
// the context and drops its own handles: the counts stay exact.
TEST(Race, HandleCopiesAndMovesVsCancel) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    std::optional<ContextAndCancel> shared;
    Context ctx_a, ctx_b;
    CancelFunc cancel_a, cancel_b;
    RunPair(
        kRounds,
        [&](int) {
          shared = WithCancel(WithCancel(Background()).context);
          ctx_a = shared->context;
          cancel_a = shared->cancel;
        },
        [&](int) {
          shared->cancel();
          shared.reset();
        },
        [&](int) {
          for (int k = 0; k < 8; ++k) {
            ctx_b = ctx_a;
            Context moved(std::move(ctx_b));
            ctx_b = std::move(moved);
            cancel_b = std::move(cancel_a);
            cancel_a = cancel_b;
          }
          ctx_b = Context();
          cancel_b = CancelFunc();
        },
        [&](int i) {
          EXPECT_EQ(ctx_a.Err(), Errc::kCanceled) << "round " << i;
          ctx_a = Context();
          cancel_a = CancelFunc();
        });
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

}  // namespace
}  // namespace ctx
