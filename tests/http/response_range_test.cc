// SPDX-License-Identifier: Apache-2.0
// How a byte range resolves against a body's size (RFC 9110 14.1.2;
// http/src/response_range.h).

#include "response_range.h"

#include <gtest/gtest.h>

namespace ctx::http::internal {
namespace {

TEST(ResolveRange, RangeWithinTheBodyIsKept) {
  EXPECT_EQ(ResolveRange({2, 4}, 10), (ByteSpan{2, 4}));
  EXPECT_EQ(ResolveRange({0, 9}, 10), (ByteSpan{0, 9}));
}

TEST(ResolveRange, LastPastTheEndOrAbsentMeansTheEnd) {
  EXPECT_EQ(ResolveRange({5, 30}, 10), (ByteSpan{5, 9}));
  EXPECT_EQ(ResolveRange({7, -1}, 10), (ByteSpan{7, 9}));
}

TEST(ResolveRange, SuffixIsTheLastBytesOrAll) {
  EXPECT_EQ(ResolveRange({-1, 3}, 10), (ByteSpan{7, 9}));
  EXPECT_EQ(ResolveRange({-1, 30}, 10), (ByteSpan{0, 9}));
}

TEST(ResolveRange, UnsatisfiableRangesResolveToNothing) {
  EXPECT_FALSE(ResolveRange({10, -1}, 10));    // starts at the end
  EXPECT_FALSE(ResolveRange({100, 200}, 10));  // past it
  EXPECT_FALSE(ResolveRange({-1, 0}, 10));     // an empty suffix
  EXPECT_FALSE(ResolveRange({0, -1}, 0));      // an empty body
  EXPECT_FALSE(ResolveRange({-1, 5}, 0));
  EXPECT_FALSE(ResolveRange({5, 2}, 10));  // last before first
}

}  // namespace
}  // namespace ctx::http::internal
