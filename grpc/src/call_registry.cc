// SPDX-License-Identifier: Apache-2.0
// The registry of live calls. See call_registry.h.

#include "call_registry.h"

#include <algorithm>
#include <new>
#include <utility>

namespace ctx::grpc::internal {

CallRegistry::CallRegistry() {
  for (Shard& s : shards_) {
    MutexLock lock(s.mu);
    s.buckets.assign(std::size_t{1} << kInitialBucketBits, nullptr);
    s.bucket_bits = kInitialBucketBits;
  }
}

CallRegistry& CallRegistry::Global() {
  static CallRegistry* const registry = new CallRegistry;
  return *registry;
}

uint64_t CallRegistry::Hash(const ::grpc::ServerContextBase* key) noexcept {
  // Fibonacci hashing: the product's high bits depend on every bit of the
  // address (ServerContexts are at least 16-byte aligned: the low bits are
  // dropped first). Shard and bucket both come from those high bits, so
  // addresses that differ only far up (one per per-thread heap, say) still
  // spread.
  return (static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(key)) >> 4) *
         0x9E3779B97F4A7C15ull;
}

CallRegistry::Shard& CallRegistry::ShardOf(uint64_t hash) const noexcept {
  static_assert(kShards == 16, "ShardOf takes the hash's top 4 bits");
  return shards_[hash >> 60];
}

std::size_t CallRegistry::BucketOf(uint64_t hash,
                                   unsigned bucket_bits) noexcept {
  // The bits just below the shard's (bucket_bits is 6 to 32).
  return static_cast<std::size_t>((hash << 4) >> (64 - bucket_bits));
}

void CallRegistry::UnlinkAt(Shard& shard, CallState** link) noexcept {
  CallState* call = *link;
  *link = call->registry_next_;
  call->registry_next_ = nullptr;
  --shard.calls;
}

void CallRegistry::Grow(Shard& shard) noexcept {
  const unsigned bits = shard.bucket_bits + 1;
  std::vector<CallState*> grown;
  try {
    grown.assign(std::size_t{1} << bits, nullptr);
  } catch (const std::bad_alloc&) {
    return;  // the chains grow longer instead
  }
  for (CallState* head : shard.buckets) {
    while (head != nullptr) {
      CallState* next = head->registry_next_;
      CallState*& bucket = grown[BucketOf(Hash(head->server_context()), bits)];
      head->registry_next_ = bucket;
      bucket = head;
      head = next;
    }
  }
  shard.buckets = std::move(grown);
  shard.bucket_bits = bits;
}

void CallRegistry::Insert(CallState* call) noexcept {
  const ::grpc::ServerContextBase* key = call->server_context();
  const uint64_t hash = Hash(key);
  Shard& s = ShardOf(hash);
  MutexLock lock(s.mu);
  // A stale entry under this key (its owner has not erased it yet): unlink it;
  // its owner's Erase then finds nothing.
  for (CallState** link = &s.buckets[BucketOf(hash, s.bucket_bits)];
       *link != nullptr; link = &(*link)->registry_next_) {
    if ((*link)->server_context() == key) {
      UnlinkAt(s, link);
      break;
    }
  }
  // At most two calls per bucket on average.
  if (s.calls >= 2 * s.buckets.size() && s.bucket_bits < kMaxBucketBits)
    Grow(s);
  CallState*& bucket = s.buckets[BucketOf(hash, s.bucket_bits)];
  call->registry_next_ = bucket;
  bucket = call;
  ++s.calls;
}

void CallRegistry::Erase(CallState* call) noexcept {
  const uint64_t hash = Hash(call->server_context());
  Shard& s = ShardOf(hash);
  MutexLock lock(s.mu);
  for (CallState** link = &s.buckets[BucketOf(hash, s.bucket_bits)];
       *link != nullptr; link = &(*link)->registry_next_) {
    if (*link == call) {
      UnlinkAt(s, link);
      return;
    }
  }
}

std::optional<Context> CallRegistry::Find(const ::grpc::ServerContextBase* key,
                                          CallState** call) const {
  const uint64_t hash = Hash(key);
  Shard& s = ShardOf(hash);
  MutexLock lock(s.mu);
  for (CallState* c = s.buckets[BucketOf(hash, s.bucket_bits)]; c != nullptr;
       c = c->registry_next_) {
    if (c->server_context() != key) continue;
    // The CallState is alive while it is registered (see the class comment):
    // copy its context under the lock.
    *call = c;
    return c->context();
  }
  return std::nullopt;
}

std::size_t CallRegistry::Size() const {
  std::size_t n = 0;
  for (Shard& s : shards_) {
    MutexLock lock(s.mu);
    n += s.calls;
  }
  return n;
}

std::size_t CallRegistry::BucketCount() const {
  std::size_t n = 0;
  for (Shard& s : shards_) {
    MutexLock lock(s.mu);
    n += s.buckets.size();
  }
  return n;
}

std::size_t CallRegistry::LongestChain() const {
  std::size_t longest = 0;
  for (Shard& s : shards_) {
    MutexLock lock(s.mu);
    for (const CallState* c : s.buckets) {
      std::size_t n = 0;
      for (; c != nullptr; c = c->registry_next_) ++n;
      longest = std::max(longest, n);
    }
  }
  return longest;
}

}  // namespace ctx::grpc::internal
