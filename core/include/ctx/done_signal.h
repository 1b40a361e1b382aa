// SPDX-License-Identifier: Apache-2.0
// ctx/done_signal.h: what `Context::Done()` returns, a waitable "this context
// is done" signal.
//
// Go's Done returns a channel that is closed when the context ends. Here it
// returns a `DoneSignal`: the same object for every call on the same context
// (and on contexts that share a cancelable ancestor), which can be checked
// without blocking, waited on with or without a timeout, and bridged to other
// event systems:
//
//   if (c.Done().Ready()) return c.Err();  // non-blocking check
//   c.Done().Wait();                       // block until done
//   if (!c.Done().WaitFor(100ms)) { }      // timed wait, false on timeout
//   std::stop_token st = c.Done().StopToken();  // std::jthread and friends
//   pollfd p{c.Done().Fd(), POLLIN, 0};         // poll/epoll loops
//
// Waiting costs no thread and no mutex/condvar per context: the signal is one
// 32-bit word and waiters sleep on it with a futex.

#ifndef CTX_DONE_SIGNAL_H_
#define CTX_DONE_SIGNAL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stop_token>
#include <system_error>
#include <type_traits>

#include "ctx/errors.h"
#include "ctx/export.h"

namespace ctx {

// Clock is the clock every deadline runs on: monotonic, so a wall-clock jump
// never fires or delays a timeout. ctx/clock.h converts to and from
// std::chrono::system_clock.
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

class DoneSignal;
namespace internal {
class CancelNode;
class NeverDoneSignal;
// NeverDone returns the signal of contexts that can never be done.
CTX_EXPORT const DoneSignal& NeverDone() noexcept;
}  // namespace internal

// DoneSignal is the done signal of a context. Obtain it from `Context::Done()`;
// it cannot be created, copied or moved by users.
//
// Thread-safety: every method is safe to call from any thread, concurrently
// with cancellation. Lifetime: the signal lives as long as the context it came
// from (any handle to that context, or to a context derived from it, keeps it
// alive). Do not keep a reference past the last handle. Memory: a thread that
// sees the signal ready (Ready, Wait*, a readable Fd, a stop request) also sees
// everything the canceling thread did before it canceled.
class CTX_EXPORT DoneSignal {
 public:
  DoneSignal(const DoneSignal&) = delete;
  DoneSignal& operator=(const DoneSignal&) = delete;

  // Ready reports, without blocking, whether the context is done. Once true it
  // stays true.
  [[nodiscard]] bool Ready() const noexcept {
    return state_.load(std::memory_order_acquire) & kDone;
  }

  // CanBeDone reports whether the context can ever be done: false for
  // Background, TODO and contexts derived from WithoutCancel (Go's nil Done
  // channel). (Not in Go.)
  [[nodiscard]] bool CanBeDone() const noexcept {
    return !(state_.load(std::memory_order_relaxed) & kNever);
  }

  // Wait blocks until the context is done. On a signal that can never be done
  // it blocks forever, like receiving from Go's nil channel.
  void Wait() const noexcept;

  // WaitFor blocks until the context is done or `timeout` has passed; it
  // returns Ready(). A zero, negative or NaN timeout only checks; a huge one
  // saturates (waits forever).
  template <class Rep, class Period>
  bool WaitFor(std::chrono::duration<Rep, Period> timeout) const noexcept;

  // WaitUntil blocks until the context is done or `deadline` is reached (on
  // Clock); it returns Ready(). A deadline in the past only checks. Other
  // clocks' time points are converted to Clock.
  bool WaitUntil(TimePoint deadline) const noexcept;
  template <class C, class D>
  bool WaitUntil(std::chrono::time_point<C, D> deadline) const noexcept;

  // StopToken returns a std::stop_token that is stop-requested when the context
  // is done. The stop state is created on the first call; later calls return
  // tokens of the same state. For a signal that can never be done it returns a
  // default token (stop_possible() is false). (Not in Go.)
  [[nodiscard]] std::stop_token StopToken() const;

  // Fd returns a file descriptor that becomes readable (POLLIN / EPOLLIN) when
  // the context is done and stays readable; created on the first call (an
  // eventfd) and closed when the context is destroyed, so remove it from any
  // epoll set before dropping the context. Never read from or close it. Returns
  // -1 for a signal that can never be done, or when the process is out of file
  // descriptors (then poll ignores it; use Wait instead). (Not in Go.)
  [[nodiscard]] int Fd() const;

 private:
  friend class internal::CancelNode;
  friend class internal::NeverDoneSignal;
  friend class Context;

  // state_ layout (one 32-bit word, also the futex word waiters sleep on):
  //   bit 0      kDone: set once by the first cancel, with the error bits,
  //              never cleared
  //   bit 1      kWaiters: a thread is about to sleep, so cancel must wake
  //   bit 2      kNever: fixed at construction, the signal can never fire
  //   bit 3      kDependents: set (under the node's lock, only while not done)
  //              once a child, callback, fd or stop_source was attached;
  //              never cleared. While it is clear, cancel needs no lock: one
  //              compare-and-swap from "live, no dependents" to kDone decides
  //              the first cancel (see CancelNode::MarkDone)
  //   bits 8-15  the Errc of Err(), written in the same atomic step as kDone
  //   bits 16-23 the cause, when it is a kept error (core/src/kept_errors.h; 0:
  //              none, or a cause stored by the node), in that same step
  static constexpr uint32_t kDone = 1;
  static constexpr uint32_t kWaiters = 2;
  static constexpr uint32_t kNever = 4;
  static constexpr uint32_t kDependents = 8;
  static constexpr int kErrShift = 8;
  static constexpr int kKeptCauseShift = 16;

  constexpr explicit DoneSignal(uint32_t initial) noexcept : state_(initial) {}
  ~DoneSignal() = default;

  // Err returns the error once done, else a default code. One acquire load:
  // what the canceler wrote before setting kDone is visible after.
  std::error_code Err() const noexcept {
    const uint32_t s = state_.load(std::memory_order_acquire);
    if (!(s & kDone)) return {};
    return make_error_code(static_cast<Errc>((s >> kErrShift) & 0xff));
  }

  // WaitUntilNanos waits until done or the monotonic deadline (nanoseconds
  // since Clock's epoch; a negative value means forever). Returns Ready().
  bool WaitUntilNanos(int64_t deadline_ns) const noexcept;

  mutable std::atomic<uint32_t> state_;
};

// Implementation details follow.

template <class Rep, class Period>
bool DoneSignal::WaitFor(
    std::chrono::duration<Rep, Period> timeout) const noexcept {
  // (Written so that a NaN timeout, too, only checks.)
  if (Ready() || !(timeout > timeout.zero())) return Ready();
  const auto now = Clock::now();
  // Saturate instead of overflowing: anything beyond the clock's range waits
  // forever.
  if (std::chrono::duration<double>(timeout) >=
      std::chrono::duration<double>(TimePoint::max() - now)) {
    return WaitUntilNanos(-1);
  }
  return WaitUntil(now + std::chrono::ceil<Clock::duration>(timeout));
}

template <class C, class D>
bool DoneSignal::WaitUntil(
    std::chrono::time_point<C, D> deadline) const noexcept {
  // Saturate instead of overflowing: distances are compared in floating point
  // first, where they cannot overflow.
  using Seconds = std::chrono::duration<double>;
  const Seconds at(deadline.time_since_epoch());
  if constexpr (std::is_same_v<C, Clock>) {
    // (A one-second margin absorbs the rounding of doubles near the ends.)
    if (at >= Seconds(TimePoint::max().time_since_epoch()) - Seconds(1))
      return WaitUntilNanos(-1);
    if (at <= Seconds(TimePoint::min().time_since_epoch()) + Seconds(1))
      return Ready();
    return WaitUntil(std::chrono::time_point_cast<Clock::duration>(deadline));
  } else {
    const auto now = C::now();
    const Seconds from(now.time_since_epoch());
    // Exact while both fit half the range of the type the difference is
    // computed in; else in floating point (such a deadline is centuries away,
    // or long past).
    using Common = std::common_type_t<D, typename C::duration>;
    const Seconds half = Seconds(Common::max()) / 2;
    if (-half < at && at < half && -half < from && from < half)
      return WaitFor(deadline - now);
    return WaitFor(at - from);
  }
}

}  // namespace ctx

#endif  // CTX_DONE_SIGNAL_H_
