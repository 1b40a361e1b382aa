// SPDX-License-Identifier: Apache-2.0
// The timer service keeps one heap per CPU: timers armed on different CPUs
// must fire as if there were one heap. Threads are pinned to each CPU the test
// may run on, so every shard is used even on a small machine.

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
using std::chrono::milliseconds;

TEST(TimerShards, EarlierDeadlineOnAnotherCpuWakesTheTimerThread) {
  const std::vector<int> cpus = AllowedCpus();
  // The timer thread goes to sleep until the far deadline, armed on the first
  // CPU's shard...
  ContextAndCancel far, near;
  OnCpu(cpus.front(), [&] { far = WithTimeout(Background(), hours(1)); });
  std::this_thread::sleep_for(milliseconds(20));
  // ...and must wake for an earlier one armed on the last CPU's shard.
  OnCpu(cpus.back(),
        [&] { near = WithTimeout(Background(), milliseconds(30)); });
  ASSERT_TRUE(near.context.Done().WaitFor(kWaitCap))
      << "the timer thread slept past a deadline armed on another shard";
  EXPECT_EQ(near.context.Err(), Errc::kDeadlineExceeded);
  EXPECT_FALSE(far.context.Err());
  far.cancel();
}

TEST(TimerShards, TimersArmedOnEveryCpuAllFireOrDisarm) {
  const size_t armed = ContextTestPeer::ArmedTimers();
  constexpr int kPerCpu = 200;
  std::vector<Context> firing;
  std::vector<CancelFunc> cancels;
  for (int cpu : AllowedCpus()) {
    OnCpu(cpu, [&] {
      for (int i = 0; i < kPerCpu; ++i) {
        // Half fire soon, in an order interleaved across CPUs; half are
        // canceled (their timers must leave whichever heap holds them). The
        // canceled ones are far off, so that no preemption between arming and
        // canceling (sanitizers, a loaded machine) lets them fire first.
        const milliseconds timeout = i % 2 == 0
                                         ? milliseconds(1 + i % 40)
                                         : hours(1) + milliseconds(i % 40);
        auto [c, cancel] = WithTimeout(Background(), timeout);
        if (i % 2 == 0) {
          firing.push_back(c);
          cancels.push_back(std::move(cancel));
        } else {
          auto [idle, cancel_idle] = WithTimeout(Background(), hours(1));
          cancel_idle();
          cancel();
          EXPECT_EQ(c.Err(), Errc::kCanceled);
        }
      }
    });
  }
  for (const Context& c : firing) {
    ASSERT_TRUE(c.Done().WaitFor(kWaitCap)) << "a timer never fired";
    EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded);
  }
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed)
      << "timers left armed after firing or cancel";
}

// Threads on different CPUs create and cancel timers at once (the shards'
// locks are not shared), while short timers keep the timer thread firing.
TEST(TimerShards, ConcurrentArmAndDisarmAcrossCpus) {
  const size_t armed = ContextTestPeer::ArmedTimers();
  const std::vector<int> cpus = AllowedCpus();
  std::vector<std::thread> threads;
  std::vector<std::vector<Context>> fired(cpus.size());
  for (size_t t = 0; t < cpus.size() && t < 4; ++t) {
    threads.emplace_back([&, t] {
      PinToCpu(cpus[t]);
      for (int i = 0; i < 5000; ++i) {
        auto [c, cancel] = WithTimeout(Background(), hours(1));
        if (i % 100 == 0) {
          auto [s, unused] = WithTimeout(c, milliseconds(i % 7));
          fired[t].push_back(s);
        }
        cancel();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& list : fired) {
    for (const Context& c : list) {
      ASSERT_TRUE(c.Done().WaitFor(kWaitCap));
      EXPECT_TRUE(c.Err() == Errc::kDeadlineExceeded ||
                  c.Err() == Errc::kCanceled);
    }
  }
  EXPECT_EQ(ContextTestPeer::ArmedTimers(), armed);
}

}  // namespace
}  // namespace ctx
