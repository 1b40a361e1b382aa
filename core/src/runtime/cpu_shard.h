// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/cpu_shard.h: picking a per-CPU shard, for structures that
// split one lock into several so that threads on different CPUs do not share a
// cache line (the timer service's heaps, a busy parent's children lists).
// Internal.

#ifndef CTX_SRC_RUNTIME_CPU_SHARD_H_
#define CTX_SRC_RUNTIME_CPU_SHARD_H_

#include <sched.h>

#include <atomic>
#include <cstddef>

namespace ctx::internal {

namespace cpu_shard_internal {
// g_cpu_count: CpuCount's answer, 0 until first read (cpu_shard.cc).
extern std::atomic<size_t> g_cpu_count;
// ReadCpuCount reads the count, stores it unless another thread stored one
// first, and returns the one stored.
size_t ReadCpuCount() noexcept;
}  // namespace cpu_shard_internal

// CpuCount is the number of configured CPUs (at least 1, at most 256), read
// once. Thread-safe.
inline size_t CpuCount() noexcept {
  const size_t count =
      cpu_shard_internal::g_cpu_count.load(std::memory_order_relaxed);
  if (count == 0) [[unlikely]]
    return cpu_shard_internal::ReadCpuCount();
  return count;
}

// CurrentCpuShard returns the shard, out of `count` (≥ 1), of the CPU this
// thread runs on now. Any answer is correct (the thread may move right after);
// this one keeps threads on different CPUs apart. No system call: glibc 2.35+
// reads the CPU number from the thread's rseq area. Thread-safe. Inline, as
// CpuCount is: both run for every deadline made, and a call of its own costs
// such a short function more in a cold cache than its body does.
inline size_t CurrentCpuShard(size_t count) noexcept {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<size_t>(cpu) % count;
}

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_CPU_SHARD_H_
