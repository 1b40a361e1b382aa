// SPDX-License-Identifier: Apache-2.0
// NodePool serves the blocks of cancel and timer nodes. Blocks must be
// distinct and whole, reused once freed (on any thread), and never lost: not
// when a thread exits with blocks in its cache, nor when a thread_local
// destructor frees or allocates after the pool's own exit flush ran.

#include "node_pool.h"

#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "gtest/gtest.h"

namespace ctx::internal {
namespace {

constexpr int kClasses = NodePool::kClasses;

size_t BlockSize(int cls) { return NodePool::kBlockSizes[cls]; }

// Fill and Intact stamp a block with a pattern of its own address and check
// it, so that overlapping blocks or a block handed out twice show up.
void Fill(void* p, int cls) {
  std::memset(p, static_cast<int>(reinterpret_cast<uintptr_t>(p) >> 4),
              BlockSize(cls));
}
bool Intact(const void* p, int cls) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  const auto want =
      static_cast<unsigned char>(reinterpret_cast<uintptr_t>(p) >> 4);
  for (size_t i = 0; i < BlockSize(cls); ++i)
    if (bytes[i] != want) return false;
  return true;
}

TEST(NodePool, ServesEachSizeFromTheSmallestClassThatHoldsIt) {
  EXPECT_EQ(NodePool::ClassOf(1), 0);
  for (int cls = 0; cls < kClasses; ++cls) {
    EXPECT_EQ(NodePool::ClassOf(BlockSize(cls)), cls);
    EXPECT_EQ(NodePool::ClassOf(BlockSize(cls) + 1),
              cls + 1 < kClasses ? cls + 1 : -1);
  }
}

// Served counts the blocks of a class this thread was handed so far.
uint64_t Served(int cls) {
  uint64_t served = 0;
  uint64_t returned = 0;
  NodePool::ThreadStats(cls, &served, &returned);
  return served;
}
uint64_t Returned(int cls) {
  uint64_t served = 0;
  uint64_t returned = 0;
  NodePool::ThreadStats(cls, &served, &returned);
  return returned;
}

const Key<std::string> kName("name");
const Key<int> kCount("count");

TEST(NodePool, ValueNodesTakeAndReturnItsBlocks) {
  if (!kNodePoolEnabled) GTEST_SKIP() << "the pool is off under ASan";
  const int one = NodePool::ClassOf(sizeof(ValueNodeOf<std::string>));
  const int several = NodePool::ClassOf(sizeof(ValuesNodeOf<std::string, int>));
  ASSERT_GE(one, 0);
  ASSERT_GE(several, 0);
  const uint64_t served_one = Served(one);
  const uint64_t returned_one = Returned(one);
  {
    const Context c = WithValue(Background(), kName, std::string("gopher"));
    EXPECT_EQ(Served(one), served_one + 1);
    EXPECT_EQ(*c.Value(kName), "gopher");
  }
  EXPECT_EQ(Returned(one), returned_one + 1);
  const uint64_t served_several = Served(several);
  const uint64_t returned_several = Returned(several);
  {
    const Context c =
        WithValues(Background(), OptionalValue<std::string>{&kName, "gopher"},
                   OptionalValue<int>{&kCount, 3});
    EXPECT_EQ(Served(several), served_several + 1);
    EXPECT_EQ(*c.Value(kCount), 3);
  }
  EXPECT_EQ(Returned(several), returned_several + 1);
}

struct Large {
  char bytes[2 * NodePool::kBlockSizes[kClasses - 1]] = {};
};
const Key<Large> kLarge("large");

TEST(NodePool, ValueNodesLargerThanEveryBlockComeFromOperatorNew) {
  ASSERT_EQ(NodePool::ClassOf(sizeof(ValueNodeOf<Large>)), -1);
  uint64_t served = 0;
  for (int cls = 0; cls < kClasses; ++cls) served += Served(cls);
  Large large;
  large.bytes[sizeof(large.bytes) - 1] = 7;
  const Context c = WithValue(Background(), kLarge, large);
  EXPECT_EQ(c.Value(kLarge)->bytes[sizeof(large.bytes) - 1], 7);
  uint64_t after = 0;
  for (int cls = 0; cls < kClasses; ++cls) after += Served(cls);
  EXPECT_EQ(after, served);
}

struct alignas(64) Wide {
  int value = 0;
};
const Key<Wide> kWide("wide");

TEST(NodePool, OverAlignedValuesKeepTheirAlignment) {
  std::vector<Context> contexts;
  for (int i = 0; i < 100; ++i) {
    contexts.push_back(WithValue(Background(), kWide, Wide{i}));
    const Wide* w = contexts.back().Value(kWide);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(w) % alignof(Wide), 0u);
    EXPECT_EQ(w->value, i);
  }
}

TEST(NodePool, BlocksAreDistinctAlignedAndWhole) {
  for (int cls = 0; cls < kClasses; ++cls) {
    std::vector<void*> blocks;
    std::set<void*> seen;
    // More than a first chunk holds, so a second chunk is carved too.
    for (int i = 0; i < 20000; ++i) {
      void* p = NodePool::Allocate(cls);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
      ASSERT_TRUE(seen.insert(p).second) << "block handed out twice";
      Fill(p, cls);
      blocks.push_back(p);
    }
    for (void* p : blocks) ASSERT_TRUE(Intact(p, cls));
    for (void* p : blocks) NodePool::Free(cls, p);
  }
}

TEST(NodePool, FreedBlockIsReusedFirst) {
  for (int cls = 0; cls < kClasses; ++cls) {
    void* a = NodePool::Allocate(cls);
    NodePool::Free(cls, a);
    EXPECT_EQ(NodePool::Allocate(cls), a);
    NodePool::Free(cls, a);
  }
}

TEST(NodePool, ThreadCacheIsBoundedAndSpillsToTheSharedStack) {
  const int cls = 0;
  std::vector<void*> blocks;
  for (uint32_t i = 0; i < 10 * NodePool::kBatch; ++i)
    blocks.push_back(NodePool::Allocate(cls));
  const size_t shared = NodePool::SharedForTest(cls);
  for (void* p : blocks) NodePool::Free(cls, p);
  EXPECT_LE(NodePool::ThreadCachedForTest(cls), 2 * NodePool::kBatch);
  // 640 blocks freed, at most 128 kept: the rest went to the shared stack.
  EXPECT_GE(NodePool::SharedForTest(cls) - shared, 8 * NodePool::kBatch);
}

TEST(NodePool, ExitingThreadReturnsItsBlocks) {
  const int cls = 1;
  const size_t shared = NodePool::SharedForTest(cls);
  const size_t carved = NodePool::CarvedForTest(cls);
  std::thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 1000; ++i) blocks.push_back(NodePool::Allocate(cls));
    for (size_t i = 0; i < blocks.size(); i += 2)
      NodePool::Free(cls, blocks[i]);
    for (size_t i = 1; i < blocks.size(); i += 2)
      NodePool::Free(cls, blocks[i]);
  }).join();
  // Every block the thread took (from the stack or newly carved) is back.
  EXPECT_EQ(NodePool::SharedForTest(cls) - shared,
            NodePool::CarvedForTest(cls) - carved);
}

// Late is a thread_local built before the thread's first pool call, so it is
// destroyed after the pool's exit flush: what it frees and allocates then
// must go through the shared stack, not the emptied cache.
struct Late {
  void* block = nullptr;
  ~Late() {
    NodePool::Free(1, block);
    void* again = NodePool::Allocate(1);
    Fill(again, 1);
    NodePool::Free(1, again);
  }
};

TEST(NodePool, ThreadLocalDestructorsAfterTheExitFlushLoseNothing) {
  const size_t shared = NodePool::SharedForTest(1);
  const size_t carved = NodePool::CarvedForTest(1);
  std::thread([] {
    thread_local Late late;
    late.block = NodePool::Allocate(1);
  }).join();
  EXPECT_EQ(NodePool::SharedForTest(1) - shared,
            NodePool::CarvedForTest(1) - carved);
}

TEST(NodePool, BlocksFreedOnAnotherThreadAreReused) {
  const int cls = 0;
  std::vector<void*> blocks;
  for (int i = 0; i < 5000; ++i) {
    blocks.push_back(NodePool::Allocate(cls));
    Fill(blocks.back(), cls);
  }
  std::thread([&] {
    for (void* p : blocks) {
      ASSERT_TRUE(Intact(p, cls));
      NodePool::Free(cls, p);
    }
  }).join();
  // The other thread's blocks went to the shared stack; taking as many again
  // carves nothing new.
  const size_t carved = NodePool::CarvedForTest(cls);
  std::vector<void*> again;
  for (size_t i = 0; i < blocks.size() - 2 * NodePool::kBatch; ++i)
    again.push_back(NodePool::Allocate(cls));
  EXPECT_EQ(NodePool::CarvedForTest(cls), carved);
  for (void* p : again) NodePool::Free(cls, p);
}

TEST(NodePool, ConcurrentAllocateAndFreeKeepBlocksWhole) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  std::vector<std::thread> threads;
  // Each thread frees half of what it allocates into a mailbox the next
  // thread empties, so blocks cross threads all the time.
  std::vector<std::vector<std::pair<int, void*>>> mail(kThreads);
  std::vector<std::mutex> mail_mu(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<std::pair<int, void*>> mine;
      for (int i = 0; i < kRounds; ++i) {
        const int cls = static_cast<int>(rng() % kClasses);
        void* p = NodePool::Allocate(cls);
        Fill(p, cls);
        mine.emplace_back(cls, p);
        if (mine.size() > 300 || rng() % 4 == 0) {
          auto [c, q] = mine[rng() % mine.size()];
          ASSERT_TRUE(Intact(q, c));
          std::erase(mine, std::make_pair(c, q));
          if (rng() % 2) {
            NodePool::Free(c, q);
          } else {
            std::lock_guard<std::mutex> lock(mail_mu[(t + 1) % kThreads]);
            mail[(t + 1) % kThreads].emplace_back(c, q);
          }
        }
        if (i % 64 == 0) {
          std::lock_guard<std::mutex> lock(mail_mu[t]);
          for (auto [c, q] : mail[t]) {
            ASSERT_TRUE(Intact(q, c));
            NodePool::Free(c, q);
          }
          mail[t].clear();
        }
      }
      for (auto [c, q] : mine) {
        ASSERT_TRUE(Intact(q, c));
        NodePool::Free(c, q);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (auto& box : mail)
    for (auto [c, q] : box) {
      EXPECT_TRUE(Intact(q, c));
      NodePool::Free(c, q);
    }
}

}  // namespace
}  // namespace ctx::internal
