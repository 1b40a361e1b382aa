// SPDX-License-Identifier: Apache-2.0
// Concurrency stress: many threads creating, canceling and destroying children
// of shared parents while others wait. Bounded by iteration counts, never by
// wall time; run under TSan in CI.

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "spin_barrier.h"
#include "test_peer.h"

namespace ctx {
namespace {

const Key<int> kKey("k");
constexpr int kThreads = 4;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kRounds = 300;
#else
constexpr int kRounds = 2000;
#endif

TEST(Stress, ChildrenOfSharedParentCreatedAndCanceledConcurrently) {
  const int64_t before = ContextTestPeer::LiveNodes();
  for (int round = 0; round < 20; ++round) {
    auto [parent, cancel_parent] = WithCancel(Background());
    // Half the rounds with the children list split per CPU from the start
    // (contention may split it in the others).
    if (round % 4 >= 2) ContextTestPeer::ShardChildren(parent);
    std::atomic<int> done_children{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t, parent = parent] {
        std::mt19937 rng(t * 7919 + round);
        for (int i = 0; i < kRounds / 10; ++i) {
          switch (rng() % 4) {
            case 0: {
              auto [c, cancel] = WithCancel(parent);
              cancel();
              break;
            }
            case 1: {
              auto [c, cancel] =
                  WithTimeout(WithValue(parent, kKey, i),
                              std::chrono::microseconds(rng() % 200));
              if (c.Done().Ready()) done_children.fetch_add(1);
              break;
            }
            case 2: {
              auto [c, cancel] = WithCancel(parent);
              StopFunc stop = AfterFunc(c, [] {});
              if (rng() % 2) stop();
              break;
            }
            default: {
              Context c = WithCancel(parent).context;  // forgotten cancel
              (void)c.Err();
              break;
            }
          }
        }
      });
    }
    if (round % 2) cancel_parent();
    for (auto& th : threads) th.join();
    cancel_parent();
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

TEST(Stress, ParentCancelRacingChildDestructionLeavesNothing) {
  const int64_t before = ContextTestPeer::LiveNodes();
  for (int round = 0; round < kRounds / 4; ++round) {
    auto [parent, cancel_parent] = WithCancel(Background());
    std::vector<Context> children;
    for (int i = 0; i < 16; ++i) children.push_back(WithCancel(parent).context);
    std::thread dropper([&children] { children.clear(); });
    cancel_parent();
    dropper.join();
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

TEST(Stress, WaitersOnSharedParentAllWakeOnCancel) {
  for (int round = 0; round < 50; ++round) {
    auto [parent, cancel_parent] = WithCancel(Background());
    std::atomic<int> woke{0};
    std::vector<std::thread> waiters;
    for (int t = 0; t < kThreads; ++t) {
      waiters.emplace_back([&, parent = parent, t] {
        auto [c, cancel] = WithCancel(WithValue(parent, kKey, t));
        if (t % 2) {
          c.Done().Wait();
        } else {
          while (!c.Done().WaitFor(std::chrono::microseconds(50))) {
          }
        }
        EXPECT_EQ(c.Err(), Errc::kCanceled);
        woke.fetch_add(1);
      });
    }
    cancel_parent();
    for (auto& t : waiters) t.join();
    EXPECT_EQ(woke.load(), kThreads);
  }
}

TEST(Stress, ConcurrentCancelsOfOneContextRunCallbacksOnce) {
  for (int round = 0; round < kRounds / 4; ++round) {
    auto [c, cancel] = WithCancelCause(Background());
    std::atomic<int> calls{0};
    StopFunc stop = AfterFunc(c, [&calls] { calls.fetch_add(1); });
    std::vector<std::thread> cancelers;
    for (int t = 0; t < kThreads; ++t) {
      cancelers.emplace_back([cancel = cancel, t] {
        cancel(Error(Errc::kCanceled, std::to_string(t)));
      });
    }
    for (auto& t : cancelers) t.join();
    EXPECT_EQ(calls.load(), 1);
    const Error cause = Cause(c);
    EXPECT_EQ(cause.message().size(), 1u) << "cause: " << cause.message();
  }
}

TEST(Stress, ManyTimersFireAndAreFreed) {
  const int64_t before = ContextTestPeer::LiveNodes();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      std::vector<Context> mine;
      for (int i = 0; i < 250; ++i) {
        mine.push_back(
            WithTimeout(Background(), std::chrono::microseconds(i * 10))
                .context);
      }
      for (const Context& c : mine) {
        EXPECT_TRUE(c.Done().WaitFor(kWaitCap));
        EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

// The last handles of a child are dropped while its parent is canceled on
// another thread, and those of a timer context while its timer is due: the
// parent's cancel (through its children list) or the timer thread (through
// its heap) may take a reference at that very moment, and the node must
// outlive whichever of them drops the last reference.
TEST(Stress, LastHandlesDroppedAsParentsCancelAndTimersFireLeaveNothing) {
  const int64_t before = ContextTestPeer::LiveNodes();
  SpinBarrier barrier;
  std::optional<CancelFunc> cancel_parent;  // handed over between barriers
  std::thread canceler([&] {
    for (int i = 0; i < kRounds * 5; ++i) {
      barrier.ArriveAndWait();  // the round is set up
      barrier.ArriveAndWait();  // go
      (*cancel_parent)();
      barrier.ArriveAndWait();  // done
    }
  });
  for (int i = 0; i < kRounds * 5; ++i) {
    auto [parent, cancel] = WithCancel(Background());
    std::optional<ContextAndCancel> child = WithCancel(parent);
    // A grandchild, gone at once: the child keeps the mark that sends it down
    // the parent's locked cancel path, which takes a reference to it.
    (void)WithCancel(child->context);
    std::optional<ContextAndCancel> timer =
        WithTimeout(parent, std::chrono::microseconds(i % 5));
    cancel_parent = std::move(cancel);
    barrier.ArriveAndWait();
    barrier.ArriveAndWait();
    child.reset();
    timer.reset();
    barrier.ArriveAndWait();
    cancel_parent.reset();
  }
  canceler.join();
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

// Go: TestLayersCancel / TestLayersTimeout: random stacks of value, cancel and
// timeout layers.
TEST(Stress, LayeredStacksKeepValuesAndCancelFromAnyLayer) {
  static const Key<int> kLayer[3] = {Key<int>("l0"), Key<int>("l1"),
                                     Key<int>("l2")};
  std::mt19937 rng(42);
  for (int iter = 0; iter < 200; ++iter) {
    Context c = Background();
    std::vector<CancelFunc> cancels;
    std::vector<int> values(3, -1);
    for (int layer = 0; layer < 12; ++layer) {
      switch (rng() % 3) {
        case 0: {
          const int k = rng() % 3;
          values[k] = layer;
          c = WithValue(c, kLayer[k], layer);
          break;
        }
        case 1: {
          auto [next, cancel] = WithCancel(c);
          c = next;
          cancels.push_back(cancel);
          break;
        }
        default: {
          auto [next, cancel] = WithTimeout(c, std::chrono::hours(1));
          c = next;
          cancels.push_back(cancel);
          break;
        }
      }
    }
    for (int k = 0; k < 3; ++k) {
      const int* v = c.Value(kLayer[k]);
      if (values[k] < 0) {
        EXPECT_EQ(v, nullptr);
      } else {
        ASSERT_NE(v, nullptr);
        EXPECT_EQ(*v, values[k]);
      }
    }
    if (cancels.empty()) continue;
    EXPECT_FALSE(c.Done().Ready());
    cancels[rng() % cancels.size()]();
    EXPECT_EQ(c.Err(), Errc::kCanceled);
  }
}

}  // namespace
}  // namespace ctx
