// SPDX-License-Identifier: Apache-2.0
// ctx/internal/live_count.h: counts of live objects (context nodes, the
// bridges' calls), for leak tests. Not API: everything here may change without
// notice.
//
// Every node's constructor and destructor update a count, so it is on the hot
// path of WithCancel + cancel, and always on. Each thread keeps its own
// counters and updates them with a plain load and store (no read-modify-write:
// only the owner writes them); a read sums every thread's counter plus what
// exited threads left behind. It keeps counting off the locked-instruction
// path.
//
// In a shared build each library that counts has its own per-thread counters
// (the inline Add is its own copy there); they all join core's one list, so a
// count is still the sum over everything.

#ifndef CTX_INTERNAL_LIVE_COUNT_H_
#define CTX_INTERNAL_LIVE_COUNT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "ctx/export.h"

namespace ctx::internal {

// Counted names what a count counts.
enum class Counted : std::size_t {
  kNodes,      // cancel, timer, value and without-cancel nodes (core)
  kGrpcCalls,  // the gRPC bridge's call records (CallState)
  kEnd
};

class LiveCount {
 public:
  static void Add(Counted what, int64_t delta) noexcept {
    std::atomic<int64_t>& c = Local().count[static_cast<std::size_t>(what)];
    // Relaxed load + store: only this thread writes its counter; readers
    // (Count) only need some recent value of it, and tests read after joining
    // the threads that created or destroyed what they count.
    c.store(c.load(std::memory_order_relaxed) + delta,
            std::memory_order_relaxed);
  }

  // Count returns how many of `what` are live: exact when none is being
  // created or destroyed concurrently.
  CTX_EXPORT static int64_t Count(Counted what) noexcept;

  // AfterForkInChild drops every other thread's counters from the list (their
  // threads do not exist in a forked child, whose new threads may reuse the
  // memory that held those counters), keeping what they counted: their objects
  // are still there. The list's fork handler calls it, lock held.
  static void AfterForkInChild() noexcept;

 private:
  // ThreadCounter registers itself in a global list on a thread's first
  // update and hands its counts over to the list when the thread exits.
  struct ThreadCounter {
    CTX_EXPORT ThreadCounter() noexcept;
    CTX_EXPORT ~ThreadCounter();
    std::atomic<int64_t> count[static_cast<std::size_t>(Counted::kEnd)] = {};
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

#endif  // CTX_INTERNAL_LIVE_COUNT_H_
