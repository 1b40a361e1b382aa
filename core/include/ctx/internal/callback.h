// SPDX-License-Identifier: Apache-2.0
// ctx/internal/callback.h: the record behind AfterFunc and the other done
// callbacks. Not API.

#ifndef CTX_INTERNAL_CALLBACK_H_
#define CTX_INTERNAL_CALLBACK_H_

#include <atomic>
#include <cstdint>
#include <utility>

namespace ctx::internal {

class CancelNode;

// Callback is a registration in a cancel node's callback list. It is reference
// counted: one count for the list (while linked) and one per StopFunc. Its
// state moves once, from kPending to kStarted (the canceler claimed it and runs
// it) or to kStopped (Stop claimed it); whoever wins the CAS decides.
class Callback {
 public:
  enum State : uint8_t { kPending, kStarted, kStopped };

  Callback() noexcept = default;
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  virtual ~Callback() = default;

  // Run invokes the user's function. Called at most once, on the canceling
  // thread, outside all locks.
  virtual void Run() noexcept = 0;

  // TryClaim moves kPending to `to`; true if this caller won.
  bool TryClaim(State to) noexcept {
    uint8_t expected = kPending;
    return state_.compare_exchange_strong(expected, to,
                                          std::memory_order_acq_rel);
  }
  void AddRef() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Links in the owner's list; written only under the owner's lock. pprev_ is
  // null when unlinked.
  Callback* next_ = nullptr;
  Callback** pprev_ = nullptr;
  // owner_: the cancel node this callback is registered on; set before linking,
  // never changed. Linking takes a reference to the owner (the pending hold),
  // dropped by whoever claims the callback: the canceler that runs it, or
  // Stop, which needs the owner alive while it unlinks.
  CancelNode* owner_ = nullptr;

 private:
  std::atomic<uint32_t> refs_{1};
  std::atomic<uint8_t> state_{kPending};
};

// CallbackOf stores the user's function in the record itself (one allocation
// per AfterFunc).
template <class F>
class CallbackOf final : public Callback {
 public:
  template <class G>
  explicit CallbackOf(G&& f) : f_(std::forward<G>(f)) {}
  void Run() noexcept override { f_(); }

 private:
  F f_;
};

// Ref and Unref take and drop a reference to a registration (RefPtr's
// interface); null is allowed.
inline void Ref(Callback* cb) noexcept {
  if (cb) cb->AddRef();
}
inline void Unref(Callback* cb) noexcept {
  if (cb) cb->Release();
}

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_CALLBACK_H_
