// SPDX-License-Identifier: Apache-2.0
// WithValue / WithoutCancel: typed keys, nearest wins, values survive
// WithoutCancel.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

const Key<std::string> kUser("user");
const Key<int> kDepth("depth");
const Key<int> kOtherInt("other");

// Go: TestValues
TEST(WithValue, LookupFindsStoredValue) {
  Context c = WithValue(Background(), kUser, "gopher");
  const std::string* user = c.Value(kUser);
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(*user, "gopher");
}

TEST(WithValue, MissingKeyGivesNull) {
  Context c = WithValue(Background(), kUser, "gopher");
  EXPECT_EQ(c.Value(kDepth), nullptr);
  EXPECT_EQ(Background().Value(kUser), nullptr);
}

TEST(WithValue, KeysOfSameTypeAreDistinctByIdentity) {
  Context c = WithValue(Background(), kDepth, 1);
  EXPECT_EQ(c.Value(kOtherInt), nullptr);
}

TEST(WithValue, NearestValueWins) {
  Context outer = WithValue(Background(), kDepth, 1);
  Context inner = WithValue(WithValue(outer, kUser, "x"), kDepth, 2);
  EXPECT_EQ(*inner.Value(kDepth), 2);
  EXPECT_EQ(*outer.Value(kDepth), 1) << "a child's value changed its parent's";
}

TEST(WithValue, KeyUsedAtManyDepthsResolvesToNearest) {
  Context c = Background();
  for (int i = 0; i < 1000; ++i) c = WithValue(c, kDepth, i);
  EXPECT_EQ(*c.Value(kDepth), 999);
  EXPECT_EQ(c.Value(kUser), nullptr);
}

TEST(WithValue, ValuesPassThroughCancelAndTimerNodes) {
  Context v = WithValue(Background(), kUser, "gopher");
  auto [c, cancel] = WithCancel(v);
  auto [t, cancel_t] = WithTimeout(c, std::chrono::hours(1));
  EXPECT_EQ(*t.Value(kUser), "gopher");
}

TEST(WithValue, ChildSharesParentDoneSignal) {
  auto [c, cancel] = WithCancel(Background());
  Context v = WithValue(c, kDepth, 1);
  EXPECT_EQ(&v.Done(), &c.Done());
  cancel();
  EXPECT_EQ(v.Err(), Errc::kCanceled);
}

TEST(WithValue, ValueLivesAsLongAsTheContext) {
  static const Key<std::shared_ptr<int>> kShared("shared");
  auto p = std::make_shared<int>(7);
  std::weak_ptr<int> weak = p;
  {
    Context c = WithValue(Background(), kShared, std::move(p));
    EXPECT_FALSE(weak.expired());
  }
  EXPECT_TRUE(weak.expired()) << "the value outlived its context";
}

TEST(WithValue, MoveOnlyValuesAreSupported) {
  static const Key<std::unique_ptr<int>> kUnique("unique");
  Context c = WithValue(Background(), kUnique, std::make_unique<int>(5));
  EXPECT_EQ(**c.Value(kUnique), 5);
}

// A value whose construction throws leaves no node behind, and the parent's
// reference count as it was: the parent is freed with its last handle.
TEST(WithValue, ValueThatThrowsLeavesTheParentAsItWas) {
  struct Fussy {
    explicit Fussy(int n) {
      if (n < 0) throw std::invalid_argument("negative");
    }
  };
  static const Key<Fussy> kFussy("fussy");
  const int64_t live = ContextTestPeer::LiveNodes();
  {
    auto [parent, cancel] = WithCancel(Background());
    EXPECT_THROW((void)WithValue(parent, kFussy, -1), std::invalid_argument);
    EXPECT_EQ(ContextTestPeer::LiveNodes(), live + 1);
    cancel();
    EXPECT_EQ(parent.Err(), Errc::kCanceled);
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), live) << "the parent leaked";
}

// Go: TestWithoutCancel
TEST(WithoutCancel, KeepsValuesButNeverEnds) {
  auto [parent, cancel] = WithTimeout(WithValue(Background(), kUser, "gopher"),
                                      std::chrono::hours(1));
  Context c = WithoutCancel(parent);
  cancel();
  EXPECT_FALSE(c.Done().CanBeDone());
  EXPECT_FALSE(c.Done().Ready());
  EXPECT_FALSE(c.Err());
  EXPECT_FALSE(c.Deadline().has_value());
  EXPECT_FALSE(Cause(c));
  EXPECT_EQ(*c.Value(kUser), "gopher");
}

TEST(WithoutCancel, ChildrenBelowItCanStillBeCanceled) {
  auto [parent, cancel_parent] = WithCancel(Background());
  auto [c, cancel] = WithTimeout(WithoutCancel(parent), std::chrono::hours(1));
  cancel_parent();
  EXPECT_FALSE(c.Done().Ready());
  cancel();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

TEST(Describe, MatchesGoStyle) {
  auto [c, cancel] = WithCancel(Background());
  Context v = WithValue(c, kUser, "gopher");
  EXPECT_EQ(v.ToString(),
            "context.Background.WithCancel.WithValue(user, gopher)");
  EXPECT_EQ(WithoutCancel(TODO()).ToString(), "context.TODO.WithoutCancel");
  std::ostringstream os;
  os << v;
  EXPECT_EQ(os.str(), v.ToString());
}

TEST(Describe, DeadlineShowsTimeAndRemaining) {
  auto [c, cancel] = WithTimeout(Background(), std::chrono::hours(1));
  const std::string s = c.ToString();
  EXPECT_EQ(s.rfind("context.Background.WithDeadline(", 0), 0u) << s;
  EXPECT_NE(s.find("ms])"), std::string::npos) << s;
  auto [never, cancel_never] = WithDeadline(Background(), TimePoint::max());
  EXPECT_EQ(never.ToString(), "context.Background.WithDeadline(never)");
}

TEST(Describe, UnprintableValuesAreNamed) {
  struct Opaque {};
  static const Key<Opaque> kOpaque("opaque");
  EXPECT_EQ(WithValue(Background(), kOpaque, Opaque{}).ToString(),
            "context.Background.WithValue(opaque, <not printable>)");
}

}  // namespace
}  // namespace ctx
