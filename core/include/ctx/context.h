// SPDX-License-Identifier: Apache-2.0
// ctx/context.h: Go's context package in C++20.
//
// A Context carries a deadline, a cancellation signal and request-scoped values
// across API boundaries and threads. Contexts form a tree: each derived context
// has one parent, and canceling a context cancels all of its descendants, never
// its ancestors.
//
//   auto [c, cancel] = ctx::WithTimeout(parent, 2s);  // done in 2 s or on
//   std::jthread worker([c] {                          // cancel()
//     while (!c.Done().Ready()) DoWork();
//   });
//   ...
//   cancel();  // first cancel wins; later calls do nothing
//   if (c.Err() == ctx::Errc::kCanceled) { ... }
//
// Main names: Context, Background, TODO, WithCancel, WithCancelCause, Cause,
// WithDeadline, WithTimeout, WithValue, WithoutCancel, AfterFunc (and their
// *Cause forms).
//
// Usage rules (Go's, and they hold here):
//   - Pass a Context explicitly, by const reference, as the first parameter
//     of each function that needs it. Do not store one in a long-lived
//     struct, except in an object whose lifetime is one request.
//   - Use TODO when unsure which context to use; a default-constructed
//     Context is Background.
//   - Use values only for request-scoped data that crosses process and API
//     boundaries, not for passing optional parameters.
//   - One Context may be used by any number of threads at once; every
//     method is thread-safe.
//   - Call the cancel function as soon as the work is done. Unlike Go,
//     forgetting it leaks nothing: a context whose handles and cancel
//     function are all destroyed unregisters from its parent and removes its
//     timer. A pending AfterFunc is the exception: as in Go, it keeps its
//     context alive until the context is done or the AfterFunc is stopped.
//
// Memory: a cancelable context (WithCancel*, WithDeadline*, WithTimeout*) is
// one 80- or 96-byte block from a per-thread pool, and so is a WithValue node
// of up to 512 bytes (larger ones come from operator new); blocks freed are
// kept for later contexts, so the process holds what its peak of live
// contexts needed (about 100 MB at a million cancelable ones). One process-wide
// thread serves every deadline. fork(): a child process that does not exec gets
// a timer thread of its own, so deadlines armed before the fork fire in it, and
// new ones too. Deadlines the parent's timer thread was firing at the instant
// of the fork are not fired in the child. As with any threaded program, a
// context whose lock another thread of the parent held at that instant is not
// safe to use in the child, nor is any context derived from it: one that
// thread was canceling, or one it was adding a child to or removing one from
// (deriving a cancelable context from it, dropping one, or the timer thread
// firing a deadline derived from it). Background() and TODO() have no lock.
//
// Callbacks (AfterFunc, std::stop_callback on StopToken()) run on the thread
// that cancels the context, outside every ctx lock, so they may call any ctx
// function, including canceling other contexts. A callback registered on a
// context that is already done runs inline before the registering call returns.
// Callbacks must not throw (std::terminate) and should not block for long: they
// delay the canceler.
//
// Deadlines use ctx::Clock (steady_clock); ctx/clock.h converts to system_clock
// for the bridges.

#ifndef CTX_CONTEXT_H_
#define CTX_CONTEXT_H_

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "ctx/done_signal.h"
#include "ctx/errors.h"
#include "ctx/export.h"
#include "ctx/internal/callback.h"
#include "ctx/internal/node.h"
#include "ctx/internal/ref_ptr.h"
#include "ctx/key.h"

namespace ctx {

class CancelFunc;
class CancelCauseFunc;

// Context is a cheap, copyable, thread-safe handle to a context node. Copies
// refer to the same context. A default-constructed Context is Background().
// Moving (construction or assignment) leaves the source as Background().
// Assigning to a Context releases the context it held at once.
//
// Lifetime: a handle keeps its context and all of that context's ancestors
// alive.
class CTX_EXPORT Context {
 public:
  Context() noexcept = default;
  Context(const Context& other) noexcept = default;
  Context(Context&& other) noexcept = default;
  Context& operator=(const Context& other) noexcept = default;
  Context& operator=(Context&& other) noexcept = default;
  ~Context() = default;

  // Deadline returns the time when work done on behalf of this context should
  // be canceled, or nullopt when no deadline is set (Background, TODO,
  // WithoutCancel, and contexts below them without one).
  [[nodiscard]] std::optional<TimePoint> Deadline() const noexcept;

  // Done returns the context's done signal. Repeated calls return the same
  // object; contexts that share their nearest cancelable ancestor (WithValue
  // children) share it. For contexts that can never be done it returns a signal
  // whose CanBeDone() is false. See ctx/done_signal.h.
  [[nodiscard]] const DoneSignal& Done() const noexcept {
    return node_ ? *node_->done_ : internal::NeverDone();
  }

  // Err returns a default (false) error_code while the context is live. Once it
  // is done it returns Errc::kCanceled or Errc::kDeadlineExceeded, the same
  // value on every call.
  [[nodiscard]] std::error_code Err() const noexcept { return Done().Err(); }

  // Value returns the value stored under key by the nearest WithValue on the
  // path to the root, or nullptr. The pointer is valid as long as this context
  // (or a handle to it) lives.
  template <class T>
  [[nodiscard]] const T* Value(const Key<T>& key) const noexcept {
    return static_cast<const T*>(internal::FindValue(node_.get(), &key));
  }

  // ToString describes the context's path from the root, as Go does:
  // "context.Background.WithCancel.WithValue(user, gopher)".
  [[nodiscard]] std::string ToString() const;

  // Two handles are equal when they refer to the same context.
  friend bool operator==(const Context& a, const Context& b) noexcept {
    return a.node_.get() == b.node_.get();
  }
  friend std::ostream& operator<<(std::ostream& os, const Context& c) {
    return os << c.ToString();
  }

 private:
  friend class CancelFunc;
  friend class CancelCauseFunc;
  friend struct ContextPeer;  // core internals and tests
  explicit Context(internal::Node* adopted) noexcept
      : node_(internal::RefPtr<internal::Node>::Adopt(adopted)) {}

  internal::RefPtr<internal::Node> node_;  // null is Background
};

// Background returns a context that is never canceled, has no values and no
// deadline: the root of every tree of contexts (main, tests, server roots).
[[nodiscard]] CTX_EXPORT Context Background() noexcept;

// TODO returns a context like Background, to mark code where the right context
// is not yet clear.
[[nodiscard]] CTX_EXPORT Context TODO() noexcept;

// CancelFunc cancels its context with Errc::kCanceled. Only the first call (of
// this or any other way to cancel the context) has an effect; it does not wait
// for the work to stop. Safe to call from any thread and from inside callbacks,
// any number of times. Copies cancel the same context. A default CancelFunc
// does nothing. Moving (construction or assignment) leaves the source a default
// CancelFunc.
//
// Lifetime: holds its context alive (like a Context handle) until destroyed or
// assigned to.
class CTX_EXPORT CancelFunc {
 public:
  CancelFunc() noexcept = default;

  void operator()() const noexcept;

 private:
  friend struct ContextPeer;
  explicit CancelFunc(internal::RefPtr<internal::Node> n) noexcept
      : node_(std::move(n)) {}
  internal::RefPtr<internal::Node> node_;
};

// CancelCauseFunc is a CancelFunc that also records why: cancel(cause) sets
// Err() to Errc::kCanceled and Cause() to `cause`; a cause with no error (the
// default) records Errc::kCanceled. First call wins. Copies, moves and
// lifetime as CancelFunc.
class CTX_EXPORT CancelCauseFunc {
 public:
  CancelCauseFunc() noexcept = default;

  void operator()(Error cause = {}) const noexcept;

 private:
  friend struct ContextPeer;
  explicit CancelCauseFunc(internal::RefPtr<internal::Node> n) noexcept
      : node_(std::move(n)) {}
  internal::RefPtr<internal::Node> node_;
};

// ContextAndCancel is what the With* functions return: unpack it with a
// structured binding, `auto [c, cancel] = ctx::WithCancel(parent);`.
struct [[nodiscard]] ContextAndCancel {
  Context context;
  CancelFunc cancel;
};
struct [[nodiscard]] ContextAndCancelCause {
  Context context;
  CancelCauseFunc cancel;
};

// WithCancel returns a child of parent that is done when cancel is called or
// when parent is done, whichever happens first. A parent that is already done
// gives a child born done, with the parent's error and cause. Safe to call from
// any thread.
CTX_EXPORT ContextAndCancel WithCancel(const Context& parent);

// WithCancelCause is WithCancel whose cancel function takes a cause, reported
// by Cause().
//
//   auto [c, cancel] = ctx::WithCancelCause(parent);
//   cancel(ctx::Error(std::errc::connection_reset, "peer reset"));
//   c.Err();          // Errc::kCanceled
//   ctx::Cause(c);    // {connection_reset, "peer reset"}
CTX_EXPORT ContextAndCancelCause WithCancelCause(const Context& parent);

// Cause returns why c is done: the cause given to the first cancel along the
// chain (a CancelCauseFunc's argument, a *Cause deadline's cause, or a parent's
// cause when the parent's cancel reached c first), else c.Err(). Returns a
// default Error while c is live, and for contexts that can never be done.
//
// Worked case: parent canceled with cause A, then child canceled with cause B:
// Cause(child) is A, since the parent's cancel reached the child first.
[[nodiscard]] CTX_EXPORT Error Cause(const Context& c);

// WithDeadline returns a child of parent that is also done at `deadline` (Err:
// kDeadlineExceeded). When parent's deadline is already earlier, the child is
// just WithCancel (no timer). A deadline in the past gives a child born done
// with kDeadlineExceeded. TimePoint::max() means "never" (no timer is armed,
// but Deadline() reports it). Timers run on one shared thread; canceling or
// destroying the child removes its timer.
CTX_EXPORT ContextAndCancel WithDeadline(const Context& parent,
                                         TimePoint deadline);

// WithDeadlineCause is WithDeadline that reports `cause` from Cause() when the
// deadline fires (Err is still kDeadlineExceeded). The returned cancel function
// records no cause.
CTX_EXPORT ContextAndCancel WithDeadlineCause(const Context& parent,
                                              TimePoint deadline, Error cause);

// WithTimeout is WithDeadline(parent, Clock::now() + timeout). Zero, negative
// and NaN timeouts give a child born done; huge ones saturate at
// TimePoint::max() instead of overflowing.
template <class Rep, class Period>
ContextAndCancel WithTimeout(const Context& parent,
                             std::chrono::duration<Rep, Period> timeout);

// WithTimeoutCause is WithDeadlineCause(parent, Clock::now() + timeout, cause).
template <class Rep, class Period>
ContextAndCancel WithTimeoutCause(const Context& parent,
                                  std::chrono::duration<Rep, Period> timeout,
                                  Error cause);

// WithValue returns a child of parent in which Value(key) returns a pointer to
// a T constructed from `value`; other lookups pass to parent. The child is done
// when parent is done; it has no cancel of its own. The value is destroyed with
// the last handle to the child. Use it for request-scoped data only.
template <class T, class U>
[[nodiscard]] Context WithValue(const Context& parent, const Key<T>& key,
                                U&& value);

// WithoutCancel returns a child that keeps parent's values but is never done:
// no deadline, no Err, no Cause, not canceled with parent. For work that must
// outlive the request (audit logs, cleanup).
[[nodiscard]] CTX_EXPORT Context WithoutCancel(const Context& parent);

// StopFunc stops an AfterFunc. Stop() (or operator()) returns true if it
// prevented the call: the call had not started and now never will. It returns
// false when f has already started (it does not wait for f to finish) or was
// already stopped. Safe from any thread, including from inside f. Copies stop
// the same registration. Destroying a StopFunc does not stop anything (Go's
// semantics); a default one does nothing and returns false. Moving
// (construction or assignment) leaves the source a default StopFunc.
//
// Lifetime: holds the registration record (and so f, until f has run or been
// stopped) alive until destroyed or assigned to; it does not hold the context.
class CTX_EXPORT StopFunc {
 public:
  StopFunc() noexcept = default;

  bool Stop() const noexcept;
  bool operator()() const noexcept { return Stop(); }

 private:
  friend struct ContextPeer;
  explicit StopFunc(internal::Callback* adopted) noexcept
      : reg_(internal::RefPtr<internal::Callback>::Adopt(adopted)) {}
  internal::RefPtr<internal::Callback> reg_;
};

// AfterFunc arranges for f() to run once c is done, and returns a StopFunc that
// can prevent it.
//
// f runs on the thread that cancels c (or on the shared timer thread for a
// deadline), after c's state is final and outside every ctx lock; if c is
// already done, f runs inline before AfterFunc returns. (Go starts a goroutine
// instead: if f must block, hand it to a thread of your own.) f must not throw.
// For a context that can never be done, f never runs and nothing is registered.
//
// Lifetime: f (a copy or move of it) is kept until it has run or been stopped.
// While pending, the registration keeps c's nearest cancelable context alive,
// as in Go: stop it when no longer needed.
template <class F>
StopFunc AfterFunc(const Context& c, F&& f);

}  // namespace ctx

// The templates above, and the internals they use.
#include "ctx/internal/context_impl.h"  // IWYU pragma: export

#endif  // CTX_CONTEXT_H_
