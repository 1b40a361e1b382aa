// SPDX-License-Identifier: Apache-2.0
// ctx/internal/ref_ptr.h: the one reference-counted pointer behind every ctx
// handle (Context, CancelFunc, CancelCauseFunc, StopFunc). Not API.

#ifndef CTX_INTERNAL_REF_PTR_H_
#define CTX_INTERNAL_REF_PTR_H_

#include <utility>

namespace ctx::internal {

// RefPtr<T> holds one counted reference to a T (or nothing, when null). It
// takes and drops references through the functions Ref(T*) and Unref(T*),
// found by argument-dependent lookup; both accept null.
//
// Copying takes a new reference. Moving (construction or assignment) leaves
// the source null. Assigning drops the reference the target held, at once.
// Self-assignment, by copy or move, leaves the pointer as it was.
// Thread-safety: as a raw pointer (one object, one thread at a time; distinct
// RefPtrs to one T may be used by any threads at once).
template <class T>
class RefPtr {
 public:
  RefPtr() noexcept = default;
  // Adopt wraps a reference the caller already holds; Share takes a new one.
  static RefPtr Adopt(T* p) noexcept { return RefPtr(p); }
  static RefPtr Share(T* p) noexcept {
    Ref(p);
    return RefPtr(p);
  }

  RefPtr(const RefPtr& other) noexcept : p_(other.p_) { Ref(p_); }
  RefPtr(RefPtr&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  RefPtr& operator=(const RefPtr& other) noexcept {
    Ref(other.p_);  // first: other may be the last holder of what p_ holds
    Unref(std::exchange(p_, other.p_));
    return *this;
  }
  RefPtr& operator=(RefPtr&& other) noexcept {
    // The inner exchange runs first, so self-move keeps p_.
    Unref(std::exchange(p_, std::exchange(other.p_, nullptr)));
    return *this;
  }
  ~RefPtr() { Unref(p_); }

  T* get() const noexcept { return p_; }
  // Release gives up the reference without dropping it: the caller now holds
  // it, and this pointer is null.
  T* Release() noexcept { return std::exchange(p_, nullptr); }
  T* operator->() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  explicit RefPtr(T* p) noexcept : p_(p) {}
  T* p_ = nullptr;
};

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_REF_PTR_H_
