// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/mutex.h: a 4-byte annotated mutex for context nodes.
// Internal.
//
// std::mutex is 40 bytes and carries no thread-safety annotations. Every cancel
// node has a lock, so this one is a single futex word (the classic three-state
// futex mutex), with a short spin before sleeping because critical sections in
// ctx are a few pointer writes.

#ifndef CTX_SRC_RUNTIME_MUTEX_H_
#define CTX_SRC_RUNTIME_MUTEX_H_

#include <atomic>
#include <cstdint>

#include "ctx/internal/thread_annotations.h"
#include "futex.h"

namespace ctx::internal {

// CpuRelax tells the CPU we are spinning (saves power, frees the sibling
// hyper-thread).
inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class CTX_CAPABILITY("mutex") Mutex {
 public:
  constexpr Mutex() noexcept = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // LockReportingContention is Lock, and returns true when the lock was held
  // by someone else on arrival, for callers that adapt to contention (a busy
  // parent splits its children lists, see CancelNode).
  bool LockReportingContention() noexcept CTX_ACQUIRE() {
    uint32_t c = kUnlocked;
    if (state_.compare_exchange_strong(c, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return false;
    }
    LockSlow(c);
    return true;
  }
  void Lock() noexcept CTX_ACQUIRE() { LockReportingContention(); }

  void Unlock() noexcept CTX_RELEASE() {
    // Release: our writes are visible to the next holder. A previous value of
    // kContended means someone may sleep: wake one.
    if (state_.exchange(kUnlocked, std::memory_order_release) == kContended)
      FutexWakeOne(&state_);
  }

 private:
  static constexpr uint32_t kUnlocked = 0;
  static constexpr uint32_t kLocked = 1;     // held, nobody sleeps
  static constexpr uint32_t kContended = 2;  // held, and someone may sleep

  void LockSlow(uint32_t c) noexcept {
    for (int spin = 0; spin < 64 && c != kUnlocked; ++spin) {
      CpuRelax();
      c = state_.load(std::memory_order_relaxed);
      if (c == kUnlocked &&
          state_.compare_exchange_weak(c, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
    // Mark contended; whoever unlocks next wakes one sleeper.
    while (state_.exchange(kContended, std::memory_order_acquire) !=
           kUnlocked) {
      FutexWait(&state_, kContended, -1);
    }
  }

  std::atomic<uint32_t> state_{kUnlocked};
};

// MutexLock holds a Mutex for a scope.
class CTX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) noexcept CTX_ACQUIRE(mu) : mu_(mu) {
    mu_.Lock();
  }
  // This one also says whether the lock was contended (*contended).
  MutexLock(Mutex& mu, bool* contended) noexcept CTX_ACQUIRE(mu) : mu_(mu) {
    *contended = mu_.LockReportingContention();
  }
  ~MutexLock() CTX_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_MUTEX_H_
