// SPDX-License-Identifier: Apache-2.0
// CallRegistry: a registered call is found by its ServerContext until it is
// erased; a second call under the same ServerContext replaces the first, whose
// late erase then removes nothing; buckets grow with the calls registered at
// once; and inserts, erases and finds from many threads never find a call
// that is not registered, or miss one that is.
//
// The CallStates here are made directly. Their ServerContext pointers are
// distinct addresses in an array of stand-ins, never dereferenced.

#include "call_registry.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
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

// Each thread owns its own keys and cycles calls through them (insert, find,
// erase, find), while the others do the same on theirs: a thread must always
// find its registered call, with its own tag, and never its erased one.
TEST(CallRegistry, StressThreadsInsertFindAndEraseTheirOwnCalls) {
  CallRegistry registry;
  constexpr int kThreads = 4;
  constexpr int kKeysPerThread = 64;
  constexpr int kRounds = 300;
  std::vector<StandIn> keys(kThreads * kKeysPerThread);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::unique_ptr<CallState>> calls;
        for (int k = 0; k < kKeysPerThread; ++k) {
          const StandIn& key = keys[t * kKeysPerThread + k];
          calls.push_back(NewCall(KeyOf(key), round * kKeysPerThread + k));
          registry.Insert(calls.back().get());
        }
        for (int k = 0; k < kKeysPerThread; ++k) {
          CallState* found = nullptr;
          std::optional<Context> c =
              registry.Find(KeyOf(keys[t * kKeysPerThread + k]), &found);
          if (!c || found != calls[k].get() ||
              TagOf(*c) != round * kKeysPerThread + k)
            failures.fetch_add(1);
        }
        for (int k = 0; k < kKeysPerThread; ++k) {
          registry.Erase(calls[k].get());
          CallState* found = nullptr;
          if (registry.Find(KeyOf(keys[t * kKeysPerThread + k]), &found))
            failures.fetch_add(1);
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
