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
// A thread's counters are handed over to the total when it exits; counts it
// makes later still (destructors of other thread_local objects, or of statics
// on the main thread) go to the total directly. The per-thread counters are
// core's, also when a bridge counts from a shared library of its own.

#ifndef CTX_INTERNAL_LIVE_COUNT_H_
#define CTX_INTERNAL_LIVE_COUNT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ctx/export.h"

namespace ctx::internal {

// Counted names what a count counts.
enum class Counted : std::size_t {
  kNodes,      // cancel, timer, value and without-cancel nodes (core)
  kGrpcCalls,  // the gRPC bridge's call records (CallState)
  kEnd
};

class CTX_EXPORT LiveCount {
 public:
  static void Add(Counted what, int64_t delta) noexcept {
    ThreadCounts& t = counts_;
    if (!t.listed) [[unlikely]] {
      AddUnlisted(what, delta);
      return;
    }
    std::atomic<int64_t>& c = t.count[static_cast<std::size_t>(what)];
    // Relaxed load + store: only this thread writes its counter; readers
    // (Count) only need some recent value of it, and tests read after joining
    // the threads that created or destroyed what they count.
    c.store(c.load(std::memory_order_relaxed) + delta,
            std::memory_order_relaxed);
  }

  // Count returns how many of `what` are live: exact when none is being
  // created or destroyed concurrently.
  static int64_t Count(Counted what) noexcept;

  // AfterForkInChild drops every other thread's counters from the list (their
  // threads do not exist in a forked child, whose new threads may reuse the
  // memory that held those counters), keeping what they counted: their objects
  // are still there. The list's fork handler calls it, lock held.
  static void AfterForkInChild() noexcept;

 private:
  // ThreadCounts is one thread's counters. Constant-initialized and trivially
  // destructible, so usable at any point of the thread's life, also from
  // destructors of other thread_local objects that run after its exit hook.
  struct ThreadCounts {
    std::atomic<int64_t> count[static_cast<std::size_t>(Counted::kEnd)];
    bool listed;  // in the global list, its exit hook scheduled (owner only)
    bool exited;  // the exit hook ran: counts go to the list's total directly
    ThreadCounts* prev;  // links in the global list, under its lock
    ThreadCounts* next;
  };
  struct ExitHook;
  // AddUnlisted lists this thread's counters on its first count and schedules
  // their hand-over to the list at the thread's exit; once that ran, it adds
  // `delta` to the list's total instead.
  static void AddUnlisted(Counted what, int64_t delta) noexcept;
  static constinit thread_local ThreadCounts counts_;
};

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_LIVE_COUNT_H_
