// SPDX-License-Identifier: Apache-2.0
#include "live_nodes.h"

#include <mutex>

namespace ctx::internal {
namespace {

// The registry: every live thread's counter, plus what exited threads counted.
// Never destroyed, since threads may exit during static destruction.
struct Registry {
  std::mutex mu;
  void* head = nullptr;  // a LiveNodes::ThreadCounter*, under mu
  int64_t exited = 0;    // under mu
};

Registry& GetRegistry() {
  static Registry* const registry = new Registry();
  return *registry;
}

}  // namespace

LiveNodes::ThreadCounter::ThreadCounter() noexcept {
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
