// core/src/live_nodes.h: a count of live context nodes, for leak tests.
// Internal.
//
// Sharded so that threads creating contexts in parallel do not contend on one
// cache line; a read sums the shards (exact when no node is being created or
// destroyed concurrently).

#ifndef CTX_SRC_LIVE_NODES_H_
#define CTX_SRC_LIVE_NODES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ctx::internal {

class LiveNodes {
 public:
  static void Add(int64_t delta) noexcept {
    // Relaxed: a statistic; tests read it after joining the threads that
    // changed it.
    shards_[Shard()].count.fetch_add(delta, std::memory_order_relaxed);
  }
  static int64_t Count() noexcept;

 private:
  static constexpr size_t kShards = 16;
  struct alignas(64) ShardCount {
    std::atomic<int64_t> count{0};
  };
  static size_t Shard() noexcept;
  static ShardCount shards_[kShards];
};

}  // namespace ctx::internal

#endif  // CTX_SRC_LIVE_NODES_H_
