// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/futex.h: the two futex calls ctx waits with (Linux).
// Internal.

#ifndef CTX_SRC_RUNTIME_FUTEX_H_
#define CTX_SRC_RUNTIME_FUTEX_H_

#include <atomic>
#include <cstdint>

namespace ctx::internal {

// FutexWait sleeps while *word == expected, until woken, or until the absolute
// CLOCK_MONOTONIC deadline (nanoseconds; negative: no deadline). Returns false
// only when the deadline passed; spurious wake-ups return true, so callers
// re-check their condition in a loop.
bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               int64_t deadline_ns) noexcept;

// FutexWakeAll wakes every thread sleeping on word.
void FutexWakeAll(const std::atomic<uint32_t>* word) noexcept;

// FutexWakeOne wakes at most one thread sleeping on word.
void FutexWakeOne(const std::atomic<uint32_t>* word) noexcept;

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_FUTEX_H_
