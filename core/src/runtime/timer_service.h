// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/timer_service.h: the one process-wide timer thread behind
// every deadline. Internal.
//
// Timers live in shards, one per CPU, each a binary min-heap of (deadline,
// timer) under its own lock; a timer knows its shard and heap index, so
// removal is O(log n). The service fires a due timer through its owner's
// callbacks (Timer::Ops) and knows nothing else of it. A timer goes to the
// shard of the CPU that created it, so threads running at once on different
// CPUs arm and disarm timers without sharing a lock (Go keeps one timer heap
// per P for the same reason). One thread, started on first use, sleeps until
// the earliest deadline over all shards, and is stopped and joined at exit. Go
// starts a runtime timer per context; here a million deadlines cost one thread
// and 16 bytes each.
//
// fork(): the service's locks are held across it (pthread_atfork), so a child
// inherits none held by a thread that no longer exists. A child that does not
// exec gets a timer thread of its own: at once when the parent had timers
// armed, else at its first new deadline; so a child that execs at once starts
// none. The timers the parent's thread had taken out of the queue and not yet
// fired when fork() ran are not fired in the child.

#ifndef CTX_SRC_RUNTIME_TIMER_SERVICE_H_
#define CTX_SRC_RUNTIME_TIMER_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu_shard.h"
#include "ctx/done_signal.h"
#include "ctx/internal/thread_annotations.h"
#include "mutex.h"
#include "page_array.h"

namespace ctx::internal {

// Timer is one deadline in the service, embedded (as a base) in the object
// that the deadline concerns. The service knows it only through Ops.
class Timer {
 public:
  // Ops are the owner's callbacks. claim runs on the timer thread, under the
  // shard's lock, once the timer is due and out of the queue: false means the
  // owner is going away (its own Remove waits for that lock) and fire is
  // skipped. fire runs next, on the timer thread, outside every lock.
  struct Ops {
    bool (*claim)(Timer*) noexcept;
    void (*fire)(Timer*) noexcept;
  };
  static constexpr uint32_t kNoIndex = UINT32_MAX;

  Timer(const Ops* ops, uint16_t shard) noexcept : ops_(ops), shard_(shard) {}

 private:
  friend class TimerService;
  const Ops* const ops_;
  // heap_index_: position in its shard's heap, or kNoIndex; under the shard's
  // lock.
  uint32_t heap_index_ = kNoIndex;
  // shard_: the shard chosen at creation (PickShard), constant, so Add and
  // Remove agree without a lock.
  const uint16_t shard_;
};

class TimerService {
 public:
  // Get returns the process-wide service, starting its thread on first call.
  // The service object is never destroyed (contexts may outlive static
  // destructors); its thread is joined at exit.
  static TimerService& Get();

  // PickShard returns the shard for a timer created now on this thread: the
  // current CPU's. Any value is correct; this one avoids lock sharing.
  // Does not start the service.
  static uint16_t PickShard() noexcept {
    return static_cast<uint16_t>(CurrentCpuShard(CpuCount()));
  }

  // Add arms t for `when` in its shard unless it is armed already or the
  // service has stopped (process exit). An owner that may be done meanwhile
  // checks after Add and calls Remove: a done owner is then never left armed.
  void Add(Timer* t, TimePoint when);
  // Remove disarms t if armed. Safe to call any number of times.
  void Remove(Timer* t);

  // The process's fork handlers (pthread_atfork, registered when the program
  // starts): the service's locks are held across fork() when it exists, and
  // the child gets a thread of its own (see the file comment).
  static void BeforeForkHook();
  static void AfterForkHook(bool child);

  // Armed returns how many timers are armed (tests and benchmarks).
  size_t Armed();
  // HeapBytes returns the memory the shards' heaps hold (benchmarks).
  size_t HeapBytes();

  // WaitIdle returns once the thread is not collecting or firing timers (so
  // every timer it claimed has been fired). For tests that count live
  // nodes.
  void WaitIdle();

  // Stop fires nothing more and joins the thread; called at exit.
  void Stop();

 private:
  // Entry is a heap slot. The deadline is copied into it so that sifting
  // compares within the heap's own array instead of loading a node (a cache
  // miss each, with a million timers) per comparison; only the nodes that
  // move are touched, to update their heap_index_. 16 bytes per armed timer
  // instead of 8.
  struct Entry {
    TimePoint when;
    Timer* timer;
  };
  // Shard is one heap and its lock, on its own cache lines. The lock is our
  // futex word (inlined, one atomic instruction each way when free).
  struct alignas(64) Shard {
    Mutex mu;
    PageArray<Entry> heap;  // under mu; a min-heap on Entry::when
    void Place(size_t i, const Entry& e);
    void SiftUp(size_t i);
    void SiftDown(size_t i);
    void RemoveAt(size_t i);
  };

  TimerService();
  // BeforeForkHook and AfterForkHook call these: BeforeFork takes mu_ and every
  // shard's lock, which both sides release after the fork; the child also
  // forgets the parent's thread and arranges its own (StartAfterFork).
  void BeforeFork();
  void AfterForkInParent();
  void AfterForkInChild();
  // StartAfterFork starts the child's timer thread unless it runs already.
  void StartAfterFork();
  // SumOverShards adds up `of` over every shard, each under its lock.
  size_t SumOverShards(size_t (*of)(const Shard&));
  void Run();
  void Start();
  // Collect moves every timer of every shard due at `now` into *due (each
  // claimed by its owner) and returns the earliest deadline left.
  TimePoint Collect(TimePoint now, std::vector<Timer*>* due);

  const size_t shard_count_;
  const std::unique_ptr<Shard[]> shards_;

  // wake_at_: when the thread will next wake on its own. TimePoint::max()
  // while it scans the shards, so that every Add racing with a scan signals.
  // An Add whose deadline is earlier lowers it (a CAS loop: it only ever
  // decreases until the next scan) and signals the condvar; a stream of later
  // deadlines costs no wake-ups. Nanoseconds since the clock's epoch.
  std::atomic<int64_t> wake_at_{INT64_MAX};
  std::atomic<bool> stopping_{false};
  // start_after_fork_: in a forked child, the timer thread is still to be
  // started (Add starts it).
  std::atomic<bool> start_after_fork_{false};

  std::mutex mu_;  // the thread's sleep; firing_
  std::condition_variable cv_;
  bool firing_ = false;  // under mu_: Run is collecting or firing timers
  std::condition_variable idle_cv_;
  std::thread thread_;
};

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_TIMER_SERVICE_H_
