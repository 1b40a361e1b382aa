// SPDX-License-Identifier: Apache-2.0
#include "ctx/internal/live_count.h"

#include <pthread.h>

#include <atomic>
#include <mutex>
#include <type_traits>

namespace ctx::internal {
namespace {

constexpr std::size_t kCounts = static_cast<std::size_t>(Counted::kEnd);

// The registry: every live thread's counters, plus what exited threads
// counted.
struct Registry {
  std::mutex mu;
  void* head = nullptr;          // a LiveCount::ThreadCounts*, under mu
  int64_t exited[kCounts] = {};  // under mu
};

// constinit and never destroyed: no first use can be under way in another
// thread when fork() runs, and threads may exit during static destruction.
constinit Registry g_registry;
static_assert(std::is_trivially_destructible_v<Registry>);

Registry& GetRegistry() { return g_registry; }

// AddToExited adds one thread's counts to what exited threads counted. The
// caller holds r.mu.
void AddToExited(Registry& r, const std::atomic<int64_t> (&counts)[kCounts]) {
  for (std::size_t i = 0; i < kCounts; ++i)
    r.exited[i] += counts[i].load(std::memory_order_relaxed);
}

// The fork handlers: the lock is held across fork(), so that a child never
// inherits it held by a thread it does not have.
[[maybe_unused]] const int g_fork_handlers =
    pthread_atfork([] { g_registry.mu.lock(); }, [] { g_registry.mu.unlock(); },
                   [] {
                     LiveCount::AfterForkInChild();
                     g_registry.mu.unlock();
                   });

}  // namespace

constinit thread_local LiveCount::ThreadCounts LiveCount::counts_{};

void LiveCount::AfterForkInChild() noexcept {
  // Runs with the registry's lock held (since before the fork), in the child's
  // one thread, whose counters are at the same address as in the parent.
  Registry& r = GetRegistry();
  ThreadCounts* const own = &counts_;
  for (auto* c = static_cast<ThreadCounts*>(r.head); c != nullptr;
       c = c->next) {
    if (c != own) AddToExited(r, c->count);
  }
  if (own->listed) {
    own->prev = own->next = nullptr;
    r.head = own;
  } else {
    r.head = nullptr;
  }
}

// ExitHook hands a thread's counts over to the list when the thread exits, and
// sends its later counts (from destructors of other thread_local objects)
// straight to the list's total.
struct LiveCount::ExitHook {
  ~ExitHook() {
    ThreadCounts& t = counts_;
    Registry& r = GetRegistry();
    std::lock_guard<std::mutex> lock(r.mu);
    AddToExited(r, t.count);
    for (auto& c : t.count) c.store(0, std::memory_order_relaxed);
    if (t.prev) {
      t.prev->next = t.next;
    } else {
      r.head = t.next;
    }
    if (t.next) t.next->prev = t.prev;
    t.prev = t.next = nullptr;
    t.listed = false;
    t.exited = true;
  }
};

void LiveCount::AddUnlisted(Counted what, int64_t delta) noexcept {
  const auto i = static_cast<std::size_t>(what);
  ThreadCounts& t = counts_;
  Registry& r = GetRegistry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (t.exited) {
      r.exited[i] += delta;
      return;
    }
    t.next = static_cast<ThreadCounts*>(r.head);
    if (t.next) t.next->prev = &t;
    r.head = &t;
    t.listed = true;
  }
  // Constructing a thread_local with a destructor schedules that destructor
  // for this thread's exit.
  thread_local ExitHook hook;
  (void)hook;
  t.count[i].store(t.count[i].load(std::memory_order_relaxed) + delta,
                   std::memory_order_relaxed);
}

int64_t LiveCount::Count(Counted what) noexcept {
  const auto i = static_cast<std::size_t>(what);
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  int64_t sum = r.exited[i];
  for (auto* c = static_cast<ThreadCounts*>(r.head); c != nullptr; c = c->next)
    sum += c->count[i].load(std::memory_order_relaxed);
  return sum;
}

}  // namespace ctx::internal
