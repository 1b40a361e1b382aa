// SPDX-License-Identifier: Apache-2.0
// grpc/src/call_registry.h: the map from a live call's
// grpc::ServerContextBase to its CallState, through which CallContext finds
// the call. Internal.

#ifndef CTX_GRPC_SRC_CALL_REGISTRY_H_
#define CTX_GRPC_SRC_CALL_REGISTRY_H_

#include <grpcpp/server_context.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "call_state.h"
#include "ctx/context.h"
#include "mutex.h"

namespace ctx::grpc::internal {

// CallRegistry maps a live call's ServerContextBase (its CallState's
// server_context()) to its CallState. gRPC reuses ServerContext addresses, but
// only after the previous call's interceptor is destroyed, so an entry inserted
// at call start and erased (by its owner) in the interceptor's destructor never
// names the wrong call. The owner erases its entry before its CallState dies,
// so a CallState found under the shard's lock is alive until that lock is
// released.
//
// The entries are the CallStates themselves, chained through
// CallState::registry_next_ in hash buckets: inserting and erasing allocate
// nothing. Only a shard's bucket array is allocated: it doubles when the
// shard's calls outgrow it, and never shrinks; should that allocation fail,
// chains just grow longer. A CallState must be erased before it dies: the
// calls chained after it in its bucket are reached through it. Thread-safe.
class CallRegistry {
 public:
  CallRegistry();
  CallRegistry(const CallRegistry&) = delete;
  CallRegistry& operator=(const CallRegistry&) = delete;

  // Global is the process's registry; never destroyed (gRPC threads may still
  // end calls while static destructors run at exit).
  static CallRegistry& Global();

  // Insert registers `call` under its server_context(), replacing (and
  // unregistering) any entry there. `call` must not be registered already.
  void Insert(CallState* call) noexcept;
  // Erase unregisters `call` if it is still registered.
  void Erase(CallState* call) noexcept;
  // Find returns a handle to the context of the call registered under `key`
  // (nullopt: none), and sets *call to its CallState. The caller may use that
  // pointer only while it knows the call to be alive (on a sync handler's own
  // thread: see StartingCallScope); otherwise only to compare it.
  [[nodiscard]] std::optional<Context> Find(
      const ::grpc::ServerContextBase* key, CallState** call) const;
  [[nodiscard]] std::size_t Size() const;
  // BucketCount is the number of buckets over all shards, LongestChain the
  // most calls in one bucket (for tests: the first grows with the calls
  // registered at once, the second should stay short).
  [[nodiscard]] std::size_t BucketCount() const;
  [[nodiscard]] std::size_t LongestChain() const;

 private:
  static constexpr std::size_t kShards = 16;         // the hash's top 4 bits
  static constexpr unsigned kInitialBucketBits = 6;  // 64 buckets per shard
  static constexpr unsigned kMaxBucketBits = 32;
  // Each shard on cache lines of its own: calls on different threads mostly
  // use different shards, and should not contend for one line.
  struct alignas(64) Shard {
    mutable Mutex mu;
    // buckets: 2^bucket_bits chain heads; calls: how many are chained.
    std::vector<CallState*> buckets CTX_GUARDED_BY(mu);
    unsigned bucket_bits CTX_GUARDED_BY(mu) = 0;
    std::size_t calls CTX_GUARDED_BY(mu) = 0;
  };
  // Hash mixes a key's address: its top 4 bits choose the shard, the next
  // `bucket_bits` the bucket.
  static uint64_t Hash(const ::grpc::ServerContextBase* key) noexcept;
  Shard& ShardOf(uint64_t hash) const noexcept;
  static std::size_t BucketOf(uint64_t hash, unsigned bucket_bits) noexcept;
  // UnlinkAt removes the call `*link` points at from `shard`'s chain.
  static void UnlinkAt(Shard& shard, CallState** link) noexcept
      CTX_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Grow doubles `shard`'s buckets and rechains its calls, if it can allocate
  // them.
  static void Grow(Shard& shard) noexcept
      CTX_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALL_REGISTRY_H_
