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
constexpr int kRounds = 1000;
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

}  // namespace
}  // namespace ctx
