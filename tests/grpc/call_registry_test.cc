// SPDX-License-Identifier: Apache-2.0
// CallRegistry: a registered call is found by its ServerContext until it is
// erased; a second call under the same ServerContext replaces the first, whose
// late erase then removes nothing, and the calls chained after it stay found;
// buckets grow with the calls registered at once and chains stay short, also
// for addresses that differ only far up; and inserts, erases and finds from
// many threads, on keys of their own or shared, never find a call that is not
// registered, or miss one that is.
//
// The CallStates here are made directly. Their ServerContext pointers are
// never dereferenced: addresses in an array of stand-ins, or made up.

#include "call_registry.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "call_state.h"
#include "ctx/context.h"

namespace ctx::grpc::internal {
namespace {

// alignas(16): the registry drops the low bits of the address, as it may for
// gRPC's ServerContexts.
struct alignas(16) StandIn {
  char bytes[16];
};

const ::grpc::ServerContextBase* KeyOf(const StandIn& s) {
  return reinterpret_cast<const ::grpc::ServerContextBase*>(&s);
}

// MadeUpKey is an address no object has (the registry only hashes and
// compares it).
const ::grpc::ServerContextBase* MadeUpKey(std::uintptr_t address) {
  return reinterpret_cast<const ::grpc::ServerContextBase*>(address);
}

constexpr Key<int> kTag{"registry-test-tag"};

// NewCall makes a call for `key` (not yet registered), whose context carries
// `tag`.
std::unique_ptr<CallState> NewCall(const ::grpc::ServerContextBase* key,
                                   int tag = 0) {
  auto [c, cancel] = WithCancelCause(Background());
  return std::make_unique<CallState>(WithValue(c, kTag, tag), std::move(cancel),
                                     std::nullopt, Clock::duration::zero(), key,
                                     /*callback_api=*/true,
                                     /*watcher=*/nullptr);
}

int TagOf(const Context& c) {
  const int* tag = c.Value(kTag);
  return tag ? *tag : -1;
}

TEST(CallRegistry, RegisteredCallIsFoundUntilErased) {
  CallRegistry registry;
  std::array<StandIn, 3> keys;
  auto a = NewCall(KeyOf(keys[0]), 1);
  auto b = NewCall(KeyOf(keys[1]), 2);
  registry.Insert(a.get());
  registry.Insert(b.get());
  CallState* found = nullptr;
  std::optional<Context> c = registry.Find(KeyOf(keys[0]), &found);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(found, a.get());
  EXPECT_EQ(TagOf(*c), 1);
  EXPECT_FALSE(registry.Find(KeyOf(keys[2]), &found).has_value());
  EXPECT_EQ(registry.Size(), 2u);

  registry.Erase(a.get());
  EXPECT_FALSE(registry.Find(KeyOf(keys[0]), &found).has_value());
  c = registry.Find(KeyOf(keys[1]), &found);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(found, b.get());
  registry.Erase(b.get());
  EXPECT_EQ(registry.Size(), 0u);
}

TEST(CallRegistry,
     SecondCallUnderAKeyReplacesTheFirstWhoseEraseThenDoesNothing) {
  CallRegistry registry;
  StandIn key;
  auto first = NewCall(KeyOf(key), 1);
  auto second = NewCall(KeyOf(key), 2);
  registry.Insert(first.get());
  registry.Insert(second.get());
  EXPECT_EQ(registry.Size(), 1u);
  registry.Erase(first.get());  // late: it no longer owns the entry
  CallState* found = nullptr;
  std::optional<Context> c = registry.Find(KeyOf(key), &found);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(found, second.get());
  EXPECT_EQ(TagOf(*c), 2);
  registry.Erase(second.get());
  EXPECT_EQ(registry.Size(), 0u);
}

// Replacing an entry unlinks it from the middle of its chain: the calls
// chained after it must stay found.
TEST(CallRegistry, ReplacingEntriesKeepsEveryOtherCallFound) {
  CallRegistry registry;
  constexpr int kCalls = 4096;
  std::vector<StandIn> keys(kCalls);
  std::vector<std::unique_ptr<CallState>> first, second;
  for (int i = 0; i < kCalls; ++i) {
    first.push_back(NewCall(KeyOf(keys[i]), i));
    registry.Insert(first.back().get());
  }
  for (int i = 0; i < kCalls; i += 2) {
    second.push_back(NewCall(KeyOf(keys[i]), kCalls + i));
    registry.Insert(second.back().get());
  }
  for (int i = 0; i < kCalls; i += 2) registry.Erase(first[i].get());  // late
  EXPECT_EQ(registry.Size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) {
    CallState* found = nullptr;
    std::optional<Context> c = registry.Find(KeyOf(keys[i]), &found);
    ASSERT_TRUE(c.has_value()) << i;
    ASSERT_EQ(TagOf(*c), i % 2 == 0 ? kCalls + i : i) << i;
  }
}

// Addresses that differ only in high bits (a per-thread heap every 64 MiB, a
// mapping every 4 GiB) must spread over buckets like any others.
TEST(CallRegistry, ChainsStayShortForAddressesFarApart) {
  constexpr int kCalls = 4096;
  for (const std::uintptr_t stride :
       {std::uintptr_t{16}, std::uintptr_t{1} << 26, std::uintptr_t{1} << 32}) {
    CallRegistry registry;
    std::vector<std::unique_ptr<CallState>> calls;
    for (int i = 0; i < kCalls; ++i) {
      calls.push_back(NewCall(
          MadeUpKey(0x10000000 + static_cast<std::uintptr_t>(i) * stride)));
      registry.Insert(calls.back().get());
    }
    EXPECT_LE(registry.LongestChain(), 16u) << "stride " << stride;
    for (auto& c : calls) registry.Erase(c.get());
    EXPECT_EQ(registry.Size(), 0u);
  }
}

TEST(CallRegistry, EraseOfACallNeverRegisteredDoesNothing) {
  CallRegistry registry;
  std::array<StandIn, 2> keys;
  auto in = NewCall(KeyOf(keys[0]));
  auto out = NewCall(KeyOf(keys[1]));
  registry.Insert(in.get());
  registry.Erase(out.get());
  EXPECT_EQ(registry.Size(), 1u);
  registry.Erase(in.get());
  EXPECT_EQ(registry.Size(), 0u);
}

TEST(CallRegistry, BucketsGrowWithTheCallsRegisteredAndEveryCallStaysFound) {
  CallRegistry registry;
  const std::size_t initial = registry.BucketCount();
  constexpr int kCalls = 20000;
  std::vector<StandIn> keys(kCalls);
  std::vector<std::unique_ptr<CallState>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(NewCall(KeyOf(keys[i]), i));
    registry.Insert(calls.back().get());
  }
  EXPECT_GT(registry.BucketCount(), initial);
  EXPECT_LE(static_cast<std::size_t>(kCalls), 2 * registry.BucketCount());
  EXPECT_LE(registry.LongestChain(), 16u);
  EXPECT_EQ(registry.Size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) {
    CallState* found = nullptr;
    std::optional<Context> c = registry.Find(KeyOf(keys[i]), &found);
    ASSERT_TRUE(c.has_value()) << i;
    ASSERT_EQ(found, calls[i].get()) << i;
    ASSERT_EQ(TagOf(*c), i);
  }
  for (int i = 0; i < kCalls; i += 2) registry.Erase(calls[i].get());
  for (int i = 0; i < kCalls; ++i) {
    CallState* found = nullptr;
    ASSERT_EQ(registry.Find(KeyOf(keys[i]), &found).has_value(), i % 2 == 1)
        << i;
  }
}

// Each of kOwners threads owns its own keys and cycles calls through them
// (insert, find, erase, find): it must always find its registered call, with
// its own tag, and never its erased one. There are enough keys that the shards
// grow while the others walk their chains. Meanwhile kSharers threads cycle
// calls through one shared set of keys, as a late erase of an old call races
// the insert of a new one under the same ServerContext: whatever they find
// must be a live call's context (ASan and TSan check that).
TEST(CallRegistry, StressThreadsInsertFindAndEraseOwnAndSharedKeys) {
  CallRegistry registry;
  constexpr int kOwners = 4;
  constexpr int kSharers = 2;
  constexpr int kKeysPerOwner = 2048;
  constexpr int kSharedKeys = 256;
  constexpr int kRounds = 12;
  std::vector<StandIn> keys(kOwners * kKeysPerOwner);
  std::vector<StandIn> shared(kSharedKeys);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kOwners; ++t) {
    threads.emplace_back([&, t] {
      const StandIn* mine = &keys[t * kKeysPerOwner];
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::unique_ptr<CallState>> calls;
        for (int k = 0; k < kKeysPerOwner; ++k) {
          calls.push_back(NewCall(KeyOf(mine[k]), round * kKeysPerOwner + k));
          registry.Insert(calls.back().get());
        }
        for (int k = 0; k < kKeysPerOwner; ++k) {
          CallState* found = nullptr;
          std::optional<Context> c = registry.Find(KeyOf(mine[k]), &found);
          if (!c || found != calls[k].get() ||
              TagOf(*c) != round * kKeysPerOwner + k)
            failures.fetch_add(1);
        }
        for (int k = 0; k < kKeysPerOwner; ++k) {
          registry.Erase(calls[k].get());
          CallState* found = nullptr;
          if (registry.Find(KeyOf(mine[k]), &found)) failures.fetch_add(1);
        }
      }
    });
  }
  for (int t = 0; t < kSharers; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20 * kRounds; ++round) {
        for (int k = 0; k < kSharedKeys; ++k) {
          auto call = NewCall(KeyOf(shared[k]), t);
          registry.Insert(call.get());
          CallState* found = nullptr;
          if (std::optional<Context> c =
                  registry.Find(KeyOf(shared[k]), &found);
              c && TagOf(*c) != 0 && TagOf(*c) != 1)
            failures.fetch_add(1);
          registry.Erase(call.get());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(registry.Size(), 0u);
}

}  // namespace
}  // namespace ctx::grpc::internal
