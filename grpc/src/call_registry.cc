// SPDX-License-Identifier: Apache-2.0
// The registry of live calls. See call_registry.h.

#include "call_registry.h"

#include <cstdint>
#include <utility>

namespace ctx::grpc::internal {

CallRegistry::CallRegistry() {
  for (Shard& s : shards_) {
    MutexLock lock(s.mu);
    s.buckets.assign(kInitialBuckets, nullptr);
  }
}

CallRegistry& CallRegistry::Global() {
  static CallRegistry* const registry = new CallRegistry;
  return *registry;
}

std::size_t CallRegistry::Hash(const ::grpc::ServerContextBase* key) noexcept {
  // Fibonacci hashing: the product's high bits depend on every bit of the
  // address (ServerContexts are at least 16-byte aligned: the low bits are
  // dropped first).
  return static_cast<std::size_t>(
      (static_cast<uint64_t>(reinterpret_cast<std::uintptr_t>(key)) >> 4) *
      0x9E3779B97F4A7C15ull);
}

CallRegistry::Shard& CallRegistry::ShardOf(std::size_t hash) const noexcept {
  static_assert(kShards == 16, "ShardOf takes the hash's top 4 bits");
  return shards_[hash >> (8 * sizeof(std::size_t) - 4)];
}

std::size_t CallRegistry::BucketOf(std::size_t hash,
                                   std::size_t buckets) noexcept {
  // Below the shard's bits; `buckets` is a power of two.
  return (hash >> 16) & (buckets - 1);
}

bool CallRegistry::Unlink(Shard& shard, CallState* call) {
  CallState** link = &shard.buckets[BucketOf(Hash(call->server_context()),
                                             shard.buckets.size())];
  for (; *link != nullptr; link = &(*link)->registry_next_) {
    if (*link != call) continue;
    *link = call->registry_next_;
    call->registry_next_ = nullptr;
    --shard.calls;
    return true;
  }
  return false;
}

void CallRegistry::Grow(Shard& shard) {
  std::vector<CallState*> grown(2 * shard.buckets.size(), nullptr);
  for (CallState* head : shard.buckets) {
    while (head != nullptr) {
      CallState* next = head->registry_next_;
      CallState*& bucket =
          grown[BucketOf(Hash(head->server_context()), grown.size())];
      head->registry_next_ = bucket;
      bucket = head;
      head = next;
    }
  }
  shard.buckets = std::move(grown);
}

void CallRegistry::Insert(CallState* call) {
  const ::grpc::ServerContextBase* key = call->server_context();
  const std::size_t hash = Hash(key);
  Shard& s = ShardOf(hash);
  MutexLock lock(s.mu);
  // A stale entry under this key (its owner has not erased it yet): unlink it;
  // its owner's Erase then finds nothing.
  CallState** link = &s.buckets[BucketOf(hash, s.buckets.size())];
  for (; *link != nullptr; link = &(*link)->registry_next_) {
    if ((*link)->server_context() != key) continue;
    CallState* stale = *link;
    *link = stale->registry_next_;
    stale->registry_next_ = nullptr;
    --s.calls;
    break;
  }
  // At most two calls per bucket on average (and a bounded array: beyond
  // 2^32 buckets chains just lengthen).
  if (s.calls >= 2 * s.buckets.size() && s.buckets.size() < (1ull << 32))
    Grow(s);
  CallState*& bucket = s.buckets[BucketOf(hash, s.buckets.size())];
  call->registry_next_ = bucket;
  bucket = call;
  ++s.calls;
}

void CallRegistry::Erase(CallState* call) {
  Shard& s = ShardOf(Hash(call->server_context()));
  MutexLock lock(s.mu);
  (void)Unlink(s, call);
}

std::optional<Context> CallRegistry::Find(const ::grpc::ServerContextBase* key,
                                          CallState** call) const {
  const std::size_t hash = Hash(key);
  Shard& s = ShardOf(hash);
  MutexLock lock(s.mu);
  for (CallState* c = s.buckets[BucketOf(hash, s.buckets.size())]; c != nullptr;
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

}  // namespace ctx::grpc::internal
