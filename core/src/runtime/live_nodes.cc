// SPDX-License-Identifier: Apache-2.0
#include "live_nodes.h"

#include <pthread.h>

#include <mutex>
#include <thread>
#include <type_traits>

namespace ctx::internal {
namespace {

// The registry: every live thread's counter, plus what exited threads counted.
struct Registry {
  std::mutex mu;
  void* head = nullptr;  // a LiveNodes::ThreadCounter*, under mu
  int64_t exited = 0;    // under mu
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
                     LiveNodes::AfterForkInChild();
                     g_registry.mu.unlock();
                   });

}  // namespace

void LiveNodes::AfterForkInChild() noexcept {
  // Runs with the registry's lock held (since before the fork).
  Registry& r = GetRegistry();
  ThreadCounter* kept = nullptr;
  const std::thread::id self = std::this_thread::get_id();
  for (auto* c = static_cast<ThreadCounter*>(r.head); c != nullptr;) {
    ThreadCounter* const next = c->next;
    if (c->owner == self) {
      kept = c;
    } else {
      r.exited += c->count.load(std::memory_order_relaxed);
    }
    c = next;
  }
  if (kept != nullptr) kept->prev = kept->next = nullptr;
  r.head = kept;
}

LiveNodes::ThreadCounter::ThreadCounter() noexcept
    : owner(std::this_thread::get_id()) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  next = static_cast<ThreadCounter*>(r.head);
  if (next) next->prev = this;
  r.head = this;
}

LiveNodes::ThreadCounter::~ThreadCounter() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.exited += count.load(std::memory_order_relaxed);
  if (prev) {
    prev->next = next;
  } else {
    r.head = next;
  }
  if (next) next->prev = prev;
}

int64_t LiveNodes::Count() noexcept {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  int64_t sum = r.exited;
  for (auto* c = static_cast<ThreadCounter*>(r.head); c != nullptr; c = c->next)
    sum += c->count.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace ctx::internal
