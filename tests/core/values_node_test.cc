// SPDX-License-Identifier: Apache-2.0
// internal::WithValues: several values in one node behave as one WithValue
// per present entry.

#include <memory>
#include <optional>
#include <string>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

using internal::OptionalValue;
using internal::WithValues;

const Key<std::string> kUser("user");
const Key<int> kDepth("depth");
const Key<int> kOtherInt("other");

TEST(WithValues, EachPresentEntryIsFound) {
  Context c =
      WithValues(Background(), OptionalValue<std::string>{&kUser, "gopher"},
                 OptionalValue<int>{&kDepth, 3});
  ASSERT_NE(c.Value(kUser), nullptr);
  EXPECT_EQ(*c.Value(kUser), "gopher");
  ASSERT_NE(c.Value(kDepth), nullptr);
  EXPECT_EQ(*c.Value(kDepth), 3);
}

TEST(WithValues, AbsentEntryLeavesTheKeyToTheParent) {
  Context parent = WithValue(Background(), kDepth, 1);
  Context c = WithValues(parent, OptionalValue<std::string>{&kUser, "gopher"},
                         OptionalValue<int>{&kDepth, std::nullopt});
  ASSERT_NE(c.Value(kDepth), nullptr) << "an absent entry hid the parent's";
  EXPECT_EQ(*c.Value(kDepth), 1);
  EXPECT_EQ(c.Value(kOtherInt), nullptr);
}

TEST(WithValues, PresentEntryShadowsTheParentsValue) {
  Context parent = WithValue(Background(), kDepth, 1);
  Context c = WithValues(parent, OptionalValue<int>{&kDepth, 2});
  EXPECT_EQ(*c.Value(kDepth), 2);
}

TEST(WithValues, LaterEntryWithTheSameKeyWins) {
  Context c = WithValues(Background(), OptionalValue<int>{&kDepth, 1},
                         OptionalValue<int>{&kDepth, 2});
  EXPECT_EQ(*c.Value(kDepth), 2);
}

TEST(WithValues, NoEntryPresentReturnsTheParent) {
  Context parent = WithValue(Background(), kDepth, 1);
  Context c = WithValues(parent, OptionalValue<int>{&kOtherInt, std::nullopt});
  EXPECT_EQ(c, parent);
}

TEST(WithValues, SharesTheParentsDoneSignal) {
  auto [parent, cancel] = WithCancel(Background());
  Context c = WithValues(parent, OptionalValue<int>{&kDepth, 1});
  EXPECT_EQ(&c.Done(), &parent.Done());
  cancel();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

TEST(WithValues, ValuesLiveAsLongAsTheContext) {
  static const Key<std::shared_ptr<int>> kShared("shared");
  auto p = std::make_shared<int>(7);
  std::weak_ptr<int> weak = p;
  const int64_t live = ContextTestPeer::LiveNodes();
  {
    Context c = WithValues(Background(),
                           OptionalValue<std::shared_ptr<int>>{&kShared, p},
                           OptionalValue<int>{&kDepth, 1});
    p.reset();
    EXPECT_FALSE(weak.expired());
    EXPECT_EQ(ContextTestPeer::LiveNodes(), live + 1);
  }
  EXPECT_TRUE(weak.expired()) << "a value outlived its context";
  EXPECT_EQ(ContextTestPeer::LiveNodes(), live);
}

TEST(WithValues, DescribesEachPresentEntryAsAWithValue) {
  Context c =
      WithValues(Background(), OptionalValue<std::string>{&kUser, "gopher"},
                 OptionalValue<int>{&kOtherInt, std::nullopt},
                 OptionalValue<int>{&kDepth, 3});
  EXPECT_EQ(c.ToString(),
            "context.Background.WithValue(user, gopher).WithValue(depth, 3)");
}

}  // namespace
}  // namespace ctx
