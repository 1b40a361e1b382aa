// SPDX-License-Identifier: Apache-2.0
// http/src/mutex.h: the bridge's lock types (see ctx/internal/std_mutex.h).
// Internal.

#ifndef CTX_HTTP_SRC_MUTEX_H_
#define CTX_HTTP_SRC_MUTEX_H_

#include "ctx/internal/std_mutex.h"

namespace ctx::http::internal {
using Mutex = ctx::internal::StdMutex;
using MutexLock = ctx::internal::StdMutexLock;
}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_MUTEX_H_
