// SPDX-License-Identifier: Apache-2.0
// WaitAny: one futex word, woken by an AfterFunc on each context.

#include <memory>
#include <vector>

#include "ctx/wait.h"
#include "runtime/futex.h"

namespace ctx {
namespace {

// Wakeup is shared with the callbacks: a callback that already started when
// WaitAny returns may still touch it, so it lives until the last one is gone.
struct Wakeup {
  std::atomic<uint32_t> fired{0};
};

std::optional<size_t> FirstDone(std::span<const Context> contexts) {
  for (size_t i = 0; i < contexts.size(); ++i) {
    if (contexts[i].Done().Ready()) return i;
  }
  return std::nullopt;
}

int64_t DeadlineNanos(TimePoint deadline) {
  if (deadline == TimePoint::max()) return -1;  // no deadline
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         deadline.time_since_epoch())
                         .count();
  return ns < 0 ? 0 : ns;
}

}  // namespace

std::optional<size_t> WaitAny(std::span<const Context> contexts,
                              TimePoint deadline) {
  if (std::optional<size_t> i = FirstDone(contexts)) return i;
  if (contexts.empty() || Clock::now() >= deadline) return std::nullopt;

  auto wakeup = std::make_shared<Wakeup>();
  std::vector<StopFunc> stops;
  stops.reserve(contexts.size());
  for (const Context& c : contexts) {
    if (!c.Done().CanBeDone()) continue;
    stops.push_back(AfterFunc(c, [wakeup] {
      // Release: pairs with the acquire load below. Wake only sleepers of this
      // word (the futex is private to this process).
      wakeup->fired.store(1, std::memory_order_release);
      internal::FutexWakeAll(&wakeup->fired);
    }));
  }
  const int64_t deadline_ns = DeadlineNanos(deadline);
  while (wakeup->fired.load(std::memory_order_acquire) == 0) {
    if (!internal::FutexWait(&wakeup->fired, 0, deadline_ns)) break;  // timeout
  }
  for (const StopFunc& stop : stops) stop();
  return FirstDone(contexts);
}

}  // namespace ctx
