// SPDX-License-Identifier: Apache-2.0
// core/src/random_bytes.h: the random bytes behind request ids and trace ids.
// Internal.

#ifndef CTX_CORE_SRC_RANDOM_BYTES_H_
#define CTX_CORE_SRC_RANDOM_BYTES_H_

#include <cstddef>

namespace ctx::internal {

// kMaxRandomBytes is the most FillRandomBytes hands out per call.
inline constexpr std::size_t kMaxRandomBytes = 64;

// FillRandomBytes fills out[0, size) (size <= kMaxRandomBytes) with bytes
// from a per-thread pool refilled by getrandom(2) (512 bytes per system call),
// never handed out twice, and renewed in a child after fork(). Safe to call
// from any thread.
void FillRandomBytes(unsigned char* out, std::size_t size);

}  // namespace ctx::internal

#endif  // CTX_CORE_SRC_RANDOM_BYTES_H_
