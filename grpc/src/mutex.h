// SPDX-License-Identifier: Apache-2.0
// grpc/src/mutex.h: the bridge's lock types (see ctx/internal/std_mutex.h).
// Internal.

#ifndef CTX_GRPC_SRC_MUTEX_H_
#define CTX_GRPC_SRC_MUTEX_H_

#include "ctx/internal/std_mutex.h"

namespace ctx::grpc::internal {
using Mutex = ctx::internal::StdMutex;
using MutexLock = ctx::internal::StdMutexLock;
}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_MUTEX_H_
