// SPDX-License-Identifier: Apache-2.0
// ctx/internal/std_mutex.h: std::mutex with clang thread-safety annotations,
// for the bridges' own locks. Not API.
//
// The bridges need condition variables (gRPC's sync watcher sleeps and hands
// off polls), so they use std::mutex rather than core's futex lock; the lock
// guard is BasicLockable, which is what std::condition_variable_any waits on.

#ifndef CTX_INTERNAL_STD_MUTEX_H_
#define CTX_INTERNAL_STD_MUTEX_H_

#include <mutex>

#include "ctx/internal/thread_annotations.h"

namespace ctx::internal {

// StdMutex is std::mutex that clang's -Wthread-safety can reason about.
class CTX_CAPABILITY("mutex") StdMutex {
 public:
  StdMutex() = default;
  StdMutex(const StdMutex&) = delete;
  StdMutex& operator=(const StdMutex&) = delete;

  void lock() CTX_ACQUIRE() { mu_.lock(); }
  void unlock() CTX_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// StdMutexLock holds a StdMutex for a scope. It is BasicLockable itself, so a
// condition_variable_any can release and retake the lock while waiting (the
// analysis treats the lock as held throughout).
class CTX_SCOPED_CAPABILITY StdMutexLock {
 public:
  explicit StdMutexLock(StdMutex& mu) CTX_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~StdMutexLock() CTX_RELEASE() { mu_.unlock(); }
  StdMutexLock(const StdMutexLock&) = delete;
  StdMutexLock& operator=(const StdMutexLock&) = delete;

  // For condition_variable_any only.
  void lock() CTX_NO_THREAD_SAFETY_ANALYSIS { mu_.lock(); }
  void unlock() CTX_NO_THREAD_SAFETY_ANALYSIS { mu_.unlock(); }

 private:
  StdMutex& mu_;
};

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_STD_MUTEX_H_
