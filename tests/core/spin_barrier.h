// SPDX-License-Identifier: Apache-2.0
// tests/core/spin_barrier.h: lining up two threads closely, so that what each
// does next truly races.

#ifndef CTX_TESTS_CORE_SPIN_BARRIER_H_
#define CTX_TESTS_CORE_SPIN_BARRIER_H_

#include <atomic>
#include <thread>

namespace ctx {

// SpinBarrier is a reusable barrier for exactly two threads that spins instead
// of sleeping: a futex wake-up would leave one of them microseconds behind.
class SpinBarrier {
 public:
  void ArriveAndWait() {
    const int gen = generation_.load();
    if (arrived_.fetch_add(1) == 1) {
      arrived_.store(0);
      generation_.fetch_add(1);
      return;
    }
    // Yield now and then: on a loaded machine the other thread may be waiting
    // for this CPU.
    for (int spins = 1; generation_.load() == gen; ++spins) {
      if (spins % 1024 == 0) std::this_thread::yield();
    }
  }

 private:
  std::atomic<int> arrived_{0};
  std::atomic<int> generation_{0};
};

}  // namespace ctx

#endif  // CTX_TESTS_CORE_SPIN_BARRIER_H_
