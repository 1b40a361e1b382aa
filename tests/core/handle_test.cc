// SPDX-License-Identifier: Apache-2.0
// Handles keep their promises (ctx/context.h): what copy, move and assignment
// of Context, CancelFunc, CancelCauseFunc and StopFunc leave in the source and
// the target, and what each keeps alive (live node counts).

#include <memory>
#include <optional>
#include <utility>

#include "ctx/context.h"
#include "gtest/gtest.h"
#include "test_peer.h"

namespace ctx {
namespace {

int64_t Live() { return ContextTestPeer::LiveNodes(); }

// ---- Context ----

TEST(ContextHandle, CopyRefersToTheSameContextAndKeepsItAlive) {
  const int64_t before = Live();
  std::optional<Context> a = WithCancel(Background()).context;
  const Context b = *a;
  EXPECT_EQ(b, *a) << "copy: got another context, want the same";
  a.reset();
  EXPECT_EQ(Live(), before + 1) << "after dropping the original of a copy";
  EXPECT_FALSE(b.Done().Ready());
}

TEST(ContextHandle, MoveConstructionLeavesTheSourceBackground) {
  const int64_t before = Live();
  auto [a, cancel] = WithCancel(Background());
  const Context keep = a;
  Context b(std::move(a));
  EXPECT_EQ(a, Background()) << "moved-from source: got " << a.ToString();
  EXPECT_EQ(b, keep);
  EXPECT_EQ(Live(), before + 1);
}

TEST(ContextHandle, MoveAssignmentLeavesTheSourceBackground) {
  auto [a, ca] = WithCancel(Background());
  ca();
  auto [b, cb] = WithCancel(Background());
  Context src = b;
  Context dst = a;
  dst = std::move(src);
  EXPECT_EQ(src, Background())
      << "moved-from source: got " << src.ToString() << ", want Background";
  EXPECT_EQ(dst, b);
  EXPECT_FALSE(dst.Done().Ready()) << "target: got a's canceled context";
}

TEST(ContextHandle, MoveAssignmentReleasesTheTargetsContextAtOnce) {
  const int64_t before = Live();
  Context dst = WithCancel(Background()).context;  // dst alone holds it
  Context src = WithCancel(Background()).context;
  ASSERT_EQ(Live(), before + 2);
  dst = std::move(src);
  EXPECT_EQ(Live(), before + 1) << "after move-assigning over the only handle "
                                   "of a context: live nodes";
}

TEST(ContextHandle, CopyAssignmentReleasesTheTargetsContextAtOnce) {
  const int64_t before = Live();
  Context dst = WithCancel(Background()).context;
  const Context src = WithCancel(Background()).context;
  dst = src;
  EXPECT_EQ(dst, src);
  EXPECT_EQ(Live(), before + 1) << "after copy-assigning over the only handle "
                                   "of a context: live nodes";
}

TEST(ContextHandle, SelfAssignmentKeepsTheContext) {
  const int64_t before = Live();
  Context c = WithCancel(Background()).context;
  const Context keep = c;
  Context& alias = c;
  c = alias;
  EXPECT_EQ(c, keep) << "after self copy-assignment";
  c = std::move(alias);
  EXPECT_EQ(c, keep) << "after self move-assignment";
  EXPECT_EQ(Live(), before + 1);
}

// ---- CancelFunc and CancelCauseFunc ----

// The cancel handles are tested alike: F is CancelFunc or CancelCauseFunc,
// Make returns a fresh context and its cancel of type F.
template <class F>
struct CancelKind;
template <>
struct CancelKind<CancelFunc> {
  static ContextAndCancel Make() { return WithCancel(Background()); }
};
template <>
struct CancelKind<CancelCauseFunc> {
  static ContextAndCancelCause Make() { return WithCancelCause(Background()); }
};

template <class F>
class CancelHandle : public ::testing::Test {};
using CancelTypes = ::testing::Types<CancelFunc, CancelCauseFunc>;
TYPED_TEST_SUITE(CancelHandle, CancelTypes);

TYPED_TEST(CancelHandle, CopyCancelsTheSameContextAndKeepsItAlive) {
  const int64_t before = Live();
  std::optional<TypeParam> copy;
  Context c;
  {
    auto [made, cancel] = CancelKind<TypeParam>::Make();
    c = made;
    copy = cancel;
  }
  c = Context();
  EXPECT_EQ(Live(), before + 1) << "a copied cancel function alone";
  {
    auto [c2, cancel2] = CancelKind<TypeParam>::Make();
    TypeParam copy2 = cancel2;
    copy2();
    EXPECT_EQ(c2.Err(), Errc::kCanceled) << "after calling a copy";
  }
  copy.reset();
  EXPECT_EQ(Live(), before);
}

TYPED_TEST(CancelHandle, MoveConstructionLeavesTheSourceDoingNothing) {
  auto [c, cancel] = CancelKind<TypeParam>::Make();
  TypeParam moved(std::move(cancel));
  cancel();
  EXPECT_FALSE(c.Done().Ready()) << "calling a moved-from cancel function";
  moved();
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

TYPED_TEST(CancelHandle, MoveAssignmentLeavesTheSourceDoingNothing) {
  auto [a, ca] = CancelKind<TypeParam>::Make();
  auto [b, cb] = CancelKind<TypeParam>::Make();
  ca = std::move(cb);
  cb();
  EXPECT_FALSE(a.Done().Ready())
      << "calling a moved-from cancel function canceled the target's old "
         "context";
  EXPECT_FALSE(b.Done().Ready()) << "calling a moved-from cancel function";
  ca();
  EXPECT_EQ(b.Err(), Errc::kCanceled) << "calling the target";
  EXPECT_FALSE(a.Done().Ready());
}

TYPED_TEST(CancelHandle, AssignmentReleasesTheTargetsContextAtOnce) {
  const int64_t before = Live();
  TypeParam dst = CancelKind<TypeParam>::Make().cancel;  // dst alone holds it
  TypeParam src = CancelKind<TypeParam>::Make().cancel;
  ASSERT_EQ(Live(), before + 2);
  dst = src;
  EXPECT_EQ(Live(), before + 1) << "after copy-assigning: live nodes";
  TypeParam other = CancelKind<TypeParam>::Make().cancel;
  dst = std::move(other);
  EXPECT_EQ(Live(), before + 2)
      << "after move-assigning over a shared cancel: live nodes";
  src = TypeParam();
  EXPECT_EQ(Live(), before + 1)
      << "after assigning a default over the last holder: live nodes";
}

// ---- StopFunc ----

// A pending AfterFunc on Background is held only by its StopFuncs: the token's
// use count says whether the registration (and f) is still alive.
StopFunc Registration(const std::shared_ptr<int>& token) {
  return AfterFunc(Background(), [token] {});
}

TEST(StopHandle, CopyStopsTheSameRegistration) {
  auto [c, cancel] = WithCancel(Background());
  bool ran = false;
  StopFunc stop = AfterFunc(c, [&ran] { ran = true; });
  const StopFunc copy = stop;
  EXPECT_TRUE(copy()) << "stopping through a copy";
  EXPECT_FALSE(stop()) << "stopping again through the original";
  cancel();
  EXPECT_FALSE(ran);
}

TEST(StopHandle, MoveConstructionLeavesTheSourceDoingNothing) {
  auto token = std::make_shared<int>();
  StopFunc src = Registration(token);
  StopFunc dst(std::move(src));
  EXPECT_FALSE(src()) << "stopping through a moved-from StopFunc";
  EXPECT_TRUE(dst()) << "stopping through the target";
}

TEST(StopHandle, MoveAssignmentLeavesTheSourceDoingNothing) {
  auto old_token = std::make_shared<int>();
  auto token = std::make_shared<int>();
  StopFunc dst = Registration(old_token);
  StopFunc src = Registration(token);
  dst = std::move(src);
  EXPECT_FALSE(src()) << "stopping through a moved-from StopFunc (it held "
                         "the target's old registration)";
  EXPECT_TRUE(dst()) << "stopping through the target";
}

TEST(StopHandle, AssignmentReleasesTheTargetsRegistrationAtOnce) {
  auto old_token = std::make_shared<int>();
  auto token = std::make_shared<int>();
  StopFunc dst = Registration(old_token);
  StopFunc src = Registration(token);
  ASSERT_EQ(old_token.use_count(), 2);
  dst = src;
  EXPECT_EQ(old_token.use_count(), 1)
      << "after copy-assigning over the only StopFunc: f's captures alive";
  auto third = std::make_shared<int>();
  StopFunc other = Registration(third);
  dst = std::move(other);
  EXPECT_EQ(token.use_count(), 2) << "src still holds its registration";
  EXPECT_EQ(third.use_count(), 2);
  src = StopFunc();
  EXPECT_EQ(token.use_count(), 1)
      << "after assigning a default over the last StopFunc";
}

TEST(StopHandle, APendingRegistrationKeepsItsContextAliveNotTheStopFunc) {
  const int64_t before = Live();
  std::optional<StopFunc> stop;
  {
    auto [c, cancel] = WithCancel(Background());
    stop = AfterFunc(c, [] {});
  }
  EXPECT_EQ(Live(), before + 1) << "a pending AfterFunc holds its context";
  EXPECT_TRUE((*stop)());
  EXPECT_EQ(Live(), before) << "after Stop, with the StopFunc still held";
}

}  // namespace
}  // namespace ctx
