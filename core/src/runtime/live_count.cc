// SPDX-License-Identifier: Apache-2.0
#include "ctx/internal/live_count.h"

#include <pthread.h>

#include <mutex>
#include <thread>
#include <type_traits>

namespace ctx::internal {
namespace {

constexpr std::size_t kCounts = static_cast<std::size_t>(Counted::kEnd);

// The registry: every live thread's counters, plus what exited threads
// counted.
struct Registry {
  std::mutex mu;
  void* head = nullptr;          // a LiveCount::ThreadCounter*, under mu
  int64_t exited[kCounts] = {};  // under mu
};

// constinit and never destroyed: no first use can be under way in another
// thread when fork() runs, and threads may exit during static destruction.
constinit Registry g_registry;
static_assert(std::is_trivially_destructible_v<Registry>);

Registry& GetRegistry() { return g_registry; }

// The fork handlers: the lock is held across fork(), so that a child never
// inherits it held by a thread it does not have.
[[maybe_unused]] const int g_fork_handlers =
    pthread_atfork([] { g_registry.mu.lock(); }, [] { g_registry.mu.unlock(); },
                   [] {
                     LiveCount::AfterForkInChild();
                     g_registry.mu.unlock();
                   });

}  // namespace

void LiveCount::AfterForkInChild() noexcept {
  // Runs with the registry's lock held (since before the fork). This thread
  // may own several counters (one per library that counts, in a shared build):
  // they stay listed.
  Registry& r = GetRegistry();
  ThreadCounter* kept = nullptr;
  const std::thread::id self = std::this_thread::get_id();
  for (auto* c = static_cast<ThreadCounter*>(r.head); c != nullptr;) {
    ThreadCounter* const next = c->next;
    if (c->owner == self) {
      c->prev = nullptr;
      c->next = kept;
      if (kept != nullptr) kept->prev = c;
      kept = c;
    } else {
      for (std::size_t i = 0; i < kCounts; ++i)
        r.exited[i] += c->count[i].load(std::memory_order_relaxed);
    }
    c = next;
  }
  r.head = kept;
}

LiveCount::ThreadCounter::ThreadCounter() noexcept
    : owner(std::this_thread::get_id()) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  next = static_cast<ThreadCounter*>(r.head);
  if (next) next->prev = this;
  r.head = this;
}

LiveCount::ThreadCounter::~ThreadCounter() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (std::size_t i = 0; i < kCounts; ++i)
    r.exited[i] += count[i].load(std::memory_order_relaxed);
  if (prev) {
    prev->next = next;
  } else {
    r.head = next;
  }
  if (next) next->prev = prev;
}

int64_t LiveCount::Count(Counted what) noexcept {
  const auto i = static_cast<std::size_t>(what);
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  int64_t sum = r.exited[i];
  for (auto* c = static_cast<ThreadCounter*>(r.head); c != nullptr; c = c->next)
    sum += c->count[i].load(std::memory_order_relaxed);
  return sum;
}

}  // namespace ctx::internal
