// grpc/src/mutex.h: std::mutex with clang thread-safety annotations, for the
// bridge's own locks. Internal.
//
// The bridge needs condition variables (the sync watcher sleeps and hands off
// polls), so it wraps std::mutex instead of core's futex mutex; the wrapper is
// BasicLockable, which is what std::condition_variable_any waits on.

#ifndef CTX_GRPC_SRC_MUTEX_H_
#define CTX_GRPC_SRC_MUTEX_H_

#include <mutex>

#include "ctx/internal/thread_annotations.h"

namespace ctx::grpc::internal {

class CTX_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() CTX_ACQUIRE() { mu_.lock(); }
  void unlock() CTX_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// MutexLock holds a Mutex for a scope. It is BasicLockable itself, so a
// condition_variable_any can release and retake the lock while waiting (the
// analysis treats the lock as held throughout).
class CTX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CTX_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() CTX_RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // For condition_variable_any only.
  void lock() CTX_NO_THREAD_SAFETY_ANALYSIS { mu_.lock(); }
  void unlock() CTX_NO_THREAD_SAFETY_ANALYSIS { mu_.unlock(); }

 private:
  Mutex& mu_;
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_MUTEX_H_
