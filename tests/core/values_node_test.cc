// SPDX-License-Identifier: Apache-2.0
// internal::WithValues: several values in one node behave as one WithValue
// per present entry.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
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

// A parent moved in hands its reference to the new node: the chain stays
// alive through the child alone, with nothing leaked or freed twice.
TEST(WithValues, MovedInParentLivesOnThroughTheChild) {
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    auto [parent, cancel] = WithCancel(WithValue(Background(), kDepth, 1));
    Context c = WithValues(std::move(parent),
                           OptionalValue<std::string>{&kUser, "gopher"});
    EXPECT_EQ(*c.Value(kDepth), 1);
    EXPECT_EQ(*c.Value(kUser), "gopher");
    cancel();
    EXPECT_EQ(c.Err(), Errc::kCanceled);
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before);
}

// A parent moved in is consumed even when building the node throws: nothing
// is left alive once the caller's other handles are gone.
TEST(WithValues, ValueThatThrowsConsumesTheParentAndLeaksNothing) {
  struct ThrowsOnMove {
    ThrowsOnMove() = default;
    ThrowsOnMove(ThrowsOnMove&&) { throw std::runtime_error("moved"); }
  };
  static const Key<ThrowsOnMove> kThrows("throws");
  const int64_t live = ContextTestPeer::LiveNodes();
  {
    auto [parent, cancel] = WithCancel(Background());
    Context moved = parent;
    OptionalValue<ThrowsOnMove> entry{&kThrows, std::nullopt};
    entry.value.emplace();
    EXPECT_THROW((void)WithValues(std::move(moved), std::move(entry)),
                 std::runtime_error);
    EXPECT_EQ(ContextTestPeer::LiveNodes(), live + 1);
    cancel();
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), live) << "the parent leaked";
}

// A cause-taking cancel made from a deadline's cancel function ends that node
// with the cause; the original function is left empty (a call does nothing).
TEST(ContextPeer, CauseTakingCancelsTheSameNodeWithACause) {
  ContextAndCancel d = WithTimeout(Background(), std::chrono::hours(1));
  const CancelCauseFunc end = ContextPeer::CauseTaking(std::move(d.cancel));
  d.cancel();  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_FALSE(d.context.Done().Ready());
  end(Error(Errc::kCanceled, "ended"));
  EXPECT_EQ(d.context.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(d.context).message(), "ended");
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
