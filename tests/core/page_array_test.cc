// SPDX-License-Identifier: Apache-2.0
// PageArray (the timer heaps' storage) grows by moving its pages instead of
// copying: every element must survive each move, including the moves into
// huge-page-aligned regions past 2 MiB.

#include "page_array.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "page_memory.h"

namespace ctx::internal {
namespace {

struct Slot {
  int64_t when;
  const void* node;
};

TEST(PageArray, KeepsEveryElementAcrossGrowth) {
  PageArray<Slot> a;
  EXPECT_TRUE(a.empty());
  // 16 bytes each: 2^20 slots is 16 MiB, past several moves into huge-page
  // regions.
  constexpr int64_t kCount = int64_t{1} << 20;
  for (int64_t i = 0; i < kCount; ++i) {
    a.push_back(Slot{i * 3, &a});
    ASSERT_EQ(a.back().when, i * 3);
  }
  ASSERT_EQ(a.size(), static_cast<size_t>(kCount));
  for (int64_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(a[static_cast<size_t>(i)].when, i * 3) << i;
    ASSERT_EQ(a[static_cast<size_t>(i)].node, &a);
  }
}

TEST(PageArray, PopThenPushReusesTheSpace) {
  PageArray<Slot> a;
  for (int i = 0; i < 1000; ++i) a.push_back(Slot{i, nullptr});
  while (a.size() > 10) a.pop_back();
  EXPECT_EQ(a.back().when, 9);
  for (int i = 10; i < 5000; ++i) a.push_back(Slot{-i, nullptr});
  EXPECT_EQ(a[9].when, 9);
  EXPECT_EQ(a[10].when, -10);
  EXPECT_EQ(a.back().when, -4999);
  while (!a.empty()) a.pop_back();
  EXPECT_EQ(a.size(), 0u);
}

TEST(PageMemory, GrowPagesMovesTheContents) {
  size_t size = 4096;
  char* p = MapPages(size);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<char>(i * 7);
  // Small to small, small to a huge-page region, and huge to huge.
  for (size_t next : {size_t{8192}, kHugePage, 2 * kHugePage}) {
    p = GrowPages(p, size, next);
    for (size_t i = 0; i < 4096; ++i)
      ASSERT_EQ(p[i], static_cast<char>(i * 7)) << "at " << i;
    for (size_t i = size; i < next; ++i) ASSERT_EQ(p[i], 0) << "at " << i;
    if (next >= kHugePage) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugePage, 0u);
    }
    size = next;
  }
  UnmapPages(p, size);
}

}  // namespace
}  // namespace ctx::internal
