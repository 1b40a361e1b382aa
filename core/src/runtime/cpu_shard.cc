// SPDX-License-Identifier: Apache-2.0
#include "cpu_shard.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace ctx::internal {

namespace {
// 0 until first read. Not a function-local static: a child forked while
// another thread ran that static's first initialization would inherit its
// guard taken, and wait for it forever. Threads that read it first at once
// each compute the same value.
constinit std::atomic<size_t> g_cpu_count{0};
}  // namespace

size_t CpuCount() noexcept {
  size_t count = g_cpu_count.load(std::memory_order_relaxed);
  if (count == 0) [[unlikely]] {
    const long cpus = sysconf(_SC_NPROCESSORS_CONF);
    count = static_cast<size_t>(std::clamp(cpus, 1L, 256L));
    g_cpu_count.store(count, std::memory_order_relaxed);
  }
  return count;
}

size_t CurrentCpuShard(size_t count) noexcept {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<size_t>(cpu) % count;
}

}  // namespace ctx::internal
