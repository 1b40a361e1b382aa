// SPDX-License-Identifier: Apache-2.0
// Waiting on a done signal: a futex on the state word, no mutex or condvar per
// context.

#include "ctx/done_signal.h"

#include <ctime>
#include <thread>

#include "cancel_node.h"
#include "runtime/futex.h"

namespace ctx {
namespace internal {

// NeverDoneSignal is the signal of contexts that can never be done (Background,
// TODO, WithoutCancel).
class NeverDoneSignal final : public DoneSignal {
 public:
  constexpr NeverDoneSignal() noexcept : DoneSignal(kNever) {}
};

namespace {
constinit const NeverDoneSignal kNeverDone;
}  // namespace

const DoneSignal& NeverDone() noexcept { return kNeverDone; }

}  // namespace internal

void DoneSignal::Wait() const noexcept { WaitUntilNanos(-1); }

bool DoneSignal::WaitUntil(TimePoint deadline) const noexcept {
  if (Ready()) return true;
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         deadline.time_since_epoch())
                         .count();
  if (ns <= 0) return Ready();  // before the clock's epoch: already passed
  return WaitUntilNanos(ns);
}

bool DoneSignal::WaitUntilNanos(int64_t deadline_ns) const noexcept {
  for (;;) {
    uint32_t s = state_.load(std::memory_order_acquire);
    if (s & kDone) return true;
    if (deadline_ns >= 0 &&
        Clock::now().time_since_epoch().count() >= deadline_ns)
      return false;
    if (!(s & kWaiters) && !(s & kNever)) {
      // Announce a sleeper so the canceler issues a wake; retry if the word
      // changed meanwhile.
      if (!state_.compare_exchange_weak(s, s | kWaiters,
                                        std::memory_order_acquire))
        continue;
      s |= kWaiters;
    }
    // Sleeps only while the word is still s; a cancel changes it and wakes us.
    // The never-done signal's word never changes, so this sleeps until the
    // deadline (or forever).
    if (!internal::FutexWait(&state_, s, deadline_ns)) return Ready();
  }
}

std::stop_token DoneSignal::StopToken() const {
  if (!CanBeDone()) return {};
  return internal::CancelNode::FromSignal(this)->StopToken();
}

int DoneSignal::Fd() const {
  if (!CanBeDone()) return -1;
  return internal::CancelNode::FromSignal(this)->EventFd();
}

}  // namespace ctx
