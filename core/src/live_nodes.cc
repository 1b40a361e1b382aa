#include "live_nodes.h"

#include <functional>
#include <thread>

namespace ctx::internal {

LiveNodes::ShardCount LiveNodes::shards_[LiveNodes::kShards];

size_t LiveNodes::Shard() noexcept {
  // Computed once per thread; spreads threads over the shards.
  thread_local const size_t shard =
      std::hash<std::thread::id>()(std::this_thread::get_id()) % kShards;
  return shard;
}

int64_t LiveNodes::Count() noexcept {
  int64_t sum = 0;
  for (const ShardCount& s : shards_)
    sum += s.count.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace ctx::internal
