// SPDX-License-Identifier: Apache-2.0
// ctx/internal/context_impl.h: what ctx/context.h's templates are made of:
// ContextPeer (the handles' private parts, for core, the bridges and tests),
// the internal functions they call, and the templates' bodies. Not API:
// everything here may change without notice. Included by ctx/context.h only.

#ifndef CTX_INTERNAL_CONTEXT_IMPL_H_
#define CTX_INTERNAL_CONTEXT_IMPL_H_

#include <atomic>
#include <chrono>
#include <type_traits>
#include <utility>

#include "ctx/context.h"

namespace ctx {

// ContextPeer reaches the private parts of the handles, for core's own code and
// tests. Not API.
struct ContextPeer {
  static Context Adopt(internal::Node* n) noexcept { return Context(n); }
  static internal::Node* NodeOf(const Context& c) noexcept {
    return c.node_.get();
  }
  // SoleReference says whether c is the only reference to its node (no other
  // handle, child node or cancel function): then nothing else can reach what
  // the node holds. A snapshot, final only while no other thread can copy c.
  static bool SoleReference(const Context& c) noexcept {
    const internal::Node* n = c.node_.get();
    return n != nullptr && n->refs_.load(std::memory_order_acquire) == 1;
  }
  static CancelFunc MakeCancel(internal::Node* n) noexcept {
    return CancelFunc(internal::RefPtr<internal::Node>::Share(n));
  }
  static CancelCauseFunc MakeCancelCause(internal::Node* n) noexcept {
    return CancelCauseFunc(internal::RefPtr<internal::Node>::Share(n));
  }
  // AdoptCancel / AdoptCancelCause wrap a reference the caller already holds
  // (a new node starts with two: its Context and its cancel function, which
  // saves an atomic increment per With* call).
  static CancelFunc AdoptCancel(internal::Node* n) noexcept {
    return CancelFunc(internal::RefPtr<internal::Node>::Adopt(n));
  }
  static CancelCauseFunc AdoptCancelCause(internal::Node* n) noexcept {
    return CancelCauseFunc(internal::RefPtr<internal::Node>::Adopt(n));
  }
  // CauseTaking turns a cancel function into the cause-taking one of the same
  // node, passing its reference on (no count changes); f is left empty.
  static CancelCauseFunc CauseTaking(CancelFunc&& f) noexcept {
    return CancelCauseFunc(std::move(f.node_));
  }
  // Release gives up c's reference to its node to the caller (null for
  // Background); c is left as Background.
  static internal::Node* Release(Context& c) noexcept {
    return c.node_.Release();
  }
  static StopFunc MakeStop(internal::Callback* reg) noexcept {
    return StopFunc(reg);
  }
  static internal::Callback* RegistrationOf(const StopFunc& s) noexcept {
    return s.reg_.get();
  }
};

namespace internal {
// NewDeadline makes a deadline child; `now` is the clock as read by the caller
// (a deadline at or before it fires at once).
CTX_EXPORT ContextAndCancel NewDeadline(const Context& parent,
                                        TimePoint deadline, Error cause,
                                        TimePoint now);
// AdoptValueParent returns a new reference to parent's node for a value node
// about to be built (AdoptValueParentFrom passes on parent's own, leaving it
// Background); AbandonValueParent undoes either when building throws.
CTX_EXPORT Node* AdoptValueParent(const Context& parent) noexcept;
CTX_EXPORT Node* AdoptValueParentFrom(Context& parent) noexcept;
CTX_EXPORT void AbandonValueParent(Node* parent) noexcept;
// BuildValueNode returns the context of the node make(parent) builds, parent
// being a reference from AdoptValueParent or AdoptValueParentFrom; when make
// throws, it abandons parent and rethrows.
template <class Make>
Context BuildValueNode(Node* parent, Make&& make) {
  Node* n;
  try {
    n = make(parent);
  } catch (...) {
    AbandonValueParent(parent);
    throw;
  }
  return ContextPeer::Adopt(n);
}
CTX_EXPORT StopFunc RegisterAfterFunc(const Context& c, Callback* cb);

// SaturatingDeadline returns now + timeout, clamped to TimePoint's range (never
// overflows).
template <class Rep, class Period>
TimePoint SaturatingDeadline(
    TimePoint now, std::chrono::duration<Rep, Period> timeout) noexcept {
  using Seconds = std::chrono::duration<double>;
  // Compared in floating point: the distances to either end of the clock cannot
  // overflow there.
  const Seconds t(timeout);
  if (t != t) return now;  // not a number: counts as zero
  const Seconds since_epoch(now.time_since_epoch());
  // (A one-second margin absorbs the rounding of doubles near the end of the
  // range.)
  if (t >=
      Seconds(TimePoint::max().time_since_epoch()) - since_epoch - Seconds(1))
    return TimePoint::max();
  if (t <= Seconds(TimePoint::min().time_since_epoch()) - since_epoch)
    return TimePoint::min();
  return now + std::chrono::ceil<Clock::duration>(timeout);
}
}  // namespace internal

template <class Rep, class Period>
ContextAndCancel WithTimeout(const Context& parent,
                             std::chrono::duration<Rep, Period> timeout) {
  return WithTimeoutCause(parent, timeout, Error());
}

template <class Rep, class Period>
ContextAndCancel WithTimeoutCause(const Context& parent,
                                  std::chrono::duration<Rep, Period> timeout,
                                  Error cause) {
  // One clock read serves both the deadline and the check that it has not
  // passed.
  const TimePoint now = Clock::now();
  return internal::NewDeadline(parent,
                               internal::SaturatingDeadline(now, timeout),
                               std::move(cause), now);
}

template <class T, class U>
Context WithValue(const Context& parent, const Key<T>& key, U&& value) {
  static_assert(std::is_constructible_v<T, U&&>,
                "ctx::WithValue: value must convert to the key's type");
  return internal::BuildValueNode(
      internal::AdoptValueParent(parent), [&](internal::Node* p) {
        return new internal::ValueNodeOf<T>(p, &key, std::forward<U>(value));
      });
}

namespace internal {
// WithValues returns a child of parent holding every present entry, in one
// node: Value(key) finds an entry's value (the last entry with that key),
// other lookups pass to parent, as with one WithValue per entry. With no entry
// present it returns parent itself. For bridges, which attach several values
// to every call. Taken by value: a parent moved in passes its reference on to
// the new node, and is consumed even when building throws (no other argument
// may read it: their order of evaluation is unspecified).
template <class... Ts>
Context WithValues(Context parent, OptionalValue<Ts>&&... entries) {
  if (!(entries.value.has_value() || ...)) return parent;
  return BuildValueNode(AdoptValueParentFrom(parent), [&](Node* p) {
    return new ValuesNodeOf<Ts...>(p, std::move(entries)...);
  });
}
}  // namespace internal

template <class F>
StopFunc AfterFunc(const Context& c, F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&>,
                "ctx::AfterFunc: f must be callable as f()");
  return internal::RegisterAfterFunc(
      c, new internal::CallbackOf<std::decay_t<F>>(std::forward<F>(f)));
}

}  // namespace ctx

#endif  // CTX_INTERNAL_CONTEXT_IMPL_H_
