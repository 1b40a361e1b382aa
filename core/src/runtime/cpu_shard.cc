// SPDX-License-Identifier: Apache-2.0
#include "cpu_shard.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace ctx::internal {

namespace cpu_shard_internal {
// 0 until first read. Not a function-local static: a child forked while
// another thread ran that static's first initialization would inherit its
// guard taken, and wait for it forever. The first value stored is the only
// one ever returned: sizes made from one answer are indexed with another (the
// timer's shards), and sysconf may answer differently from one call to the
// next (CPU hot-plug; a glibc fallback when /sys cannot be read).
constinit std::atomic<size_t> g_cpu_count{0};

size_t ReadCpuCount() noexcept {
  const long cpus = sysconf(_SC_NPROCESSORS_CONF);
  const size_t mine = static_cast<size_t>(std::clamp(cpus, 1L, 256L));
  size_t count = 0;
  // On failure, `count` holds the value another thread stored first.
  if (g_cpu_count.compare_exchange_strong(count, mine,
                                          std::memory_order_relaxed))
    count = mine;
  return count;
}
}  // namespace cpu_shard_internal

}  // namespace ctx::internal
