// http/src/mutex.h: std::mutex with clang thread-safety annotations, for the
// HTTP bridge's internals. Internal.

#ifndef CTX_HTTP_SRC_MUTEX_H_
#define CTX_HTTP_SRC_MUTEX_H_

#include <mutex>

#include "ctx/internal/thread_annotations.h"

namespace ctx::http::internal {

// Mutex is std::mutex that clang's -Wthread-safety can reason about.
class CTX_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() CTX_ACQUIRE() { mu_.lock(); }
  void Unlock() CTX_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// MutexLock holds a Mutex for its scope.
class CTX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CTX_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() CTX_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_MUTEX_H_
