// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/cpu_shard.h: picking a per-CPU shard, for structures that
// split one lock into several so that threads on different CPUs do not share a
// cache line (the timer service's heaps, a busy parent's children lists).
// Internal.

#ifndef CTX_SRC_RUNTIME_CPU_SHARD_H_
#define CTX_SRC_RUNTIME_CPU_SHARD_H_

#include <cstddef>

namespace ctx::internal {

// CpuCount is the number of configured CPUs (at least 1, at most 256), read
// once. Thread-safe.
size_t CpuCount() noexcept;

// CurrentCpuShard returns the shard, out of `count` (≥ 1), of the CPU this
// thread runs on now. Any answer is correct (the thread may move right after);
// this one keeps threads on different CPUs apart. No system call: glibc 2.35+
// reads the CPU number from the thread's rseq area. Thread-safe.
size_t CurrentCpuShard(size_t count) noexcept;

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_CPU_SHARD_H_
