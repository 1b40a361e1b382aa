// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/live_nodes.h: a count of live context nodes, for leak tests.
// Internal.
//
// Every node's constructor and destructor update it, so it is on the hot path
// of WithCancel + cancel. Each thread keeps its own counter and updates it
// with a plain load and store (no read-modify-write: only the owner writes
// it); a read sums every thread's counter plus what exited threads left
// behind. It keeps counting off the locked-instruction path.

#ifndef CTX_SRC_RUNTIME_LIVE_NODES_H_
#define CTX_SRC_RUNTIME_LIVE_NODES_H_

#include <atomic>
#include <cstdint>
#include <thread>

namespace ctx::internal {

class LiveNodes {
 public:
  static void Add(int64_t delta) noexcept {
    std::atomic<int64_t>& c = Local().count;
    // Relaxed load + store: only this thread writes its counter; readers
    // (Count) only need some recent value of it, and tests read after joining
    // the threads that created or destroyed nodes.
    c.store(c.load(std::memory_order_relaxed) + delta,
            std::memory_order_relaxed);
  }

  // Count returns the number of live nodes: exact when no node is being
  // created or destroyed concurrently.
  static int64_t Count() noexcept;

  // AfterForkInChild drops every other thread's counter from the list (their
  // threads do not exist in a forked child, whose new threads may reuse the
  // memory that held those counters), keeping what they counted: their nodes
  // are still there. The registry's fork handler calls it, lock held.
  static void AfterForkInChild() noexcept;

 private:
  // ThreadCounter registers itself in a global list on a thread's first
  // update and hands its count over to the list when the thread exits.
  struct ThreadCounter {
    ThreadCounter() noexcept;
    ~ThreadCounter();
    std::atomic<int64_t> count{0};
    std::thread::id owner;          // the thread whose counter this is
    ThreadCounter* prev = nullptr;  // links in the global list, under its lock
    ThreadCounter* next = nullptr;
  };
  static ThreadCounter& Local() noexcept {
    thread_local ThreadCounter counter;
    return counter;
  }
};

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_LIVE_NODES_H_
