// SPDX-License-Identifier: Apache-2.0
#include "cpu_shard.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>

namespace ctx::internal {

size_t CpuCount() noexcept {
  static const size_t count = [] {
    const long cpus = sysconf(_SC_NPROCESSORS_CONF);
    return static_cast<size_t>(std::clamp(cpus, 1L, 256L));
  }();
  return count;
}

size_t CurrentCpuShard(size_t count) noexcept {
  const int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<size_t>(cpu) % count;
}

}  // namespace ctx::internal
