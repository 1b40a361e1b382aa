// SPDX-License-Identifier: Apache-2.0
// BoundClientContext: what an outgoing call carries, failing fast when the
// context is already done, and the cancel registration's lifetime.

#include "ctx/grpc/client_context.h"

#include <grpc/support/time.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "ctx/propagation.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class BoundClientContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.max_timeout.reset();  // let the client's deadline through untouched
    server_ = std::make_unique<ApiServer>(Api::kCallback, &env_, options);
    stub_ = server_->NewStub();
  }
  void TearDown() override {
    stub_.reset();
    server_.reset();
  }

  // Call makes one Echo(action) through a BoundClientContext for c.
  ::grpc::Status Call(const Context& c, const std::string& action,
                      ctxtest::EchoResponse* response,
                      const ClientOptions& options = {}) {
    BoundClientContext call(c, options);
    ctxtest::EchoRequest request;
    request.set_action(action);
    return stub_->Echo(call.get(), request, response);
  }

  Env env_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<ctxtest::TestService::Stub> stub_;
};

TEST_F(BoundClientContextTest, SendsRemainingDeadlineMinusMargin) {
  auto [c, cancel] = WithTimeout(Background(), seconds(20));
  ClientOptions options;
  options.deadline_margin = seconds(5);
  options.deadline_margin_ratio = 0.25;  // 20 s - 5 s - 5 s = 10 s
  BoundClientContext call(c, options);
  // What the client hands gRPC: 10 s from when the context was made (less
  // the time since, so at most 10 s).
  const gpr_timespec sent = call.get()->raw_deadline();
  const int64_t sent_ms =
      gpr_time_to_millis(gpr_time_sub(sent, gpr_now(sent.clock_type)));
  EXPECT_LE(sent_ms, 10'000);
  EXPECT_GE(sent_ms, 9'000);
  ctxtest::EchoRequest request;
  request.set_action("echo");
  ctxtest::EchoResponse response;
  ASSERT_TRUE(stub_->Echo(call.get(), request, &response).ok());
  // What the server's handler got: gRPC's deadline for the call, exactly;
  // gRPC itself (rounding up, clock readings on both sides) moves it a
  // little, more on a loaded machine.
  ASSERT_TRUE(response.has_deadline_vs_grpc_us());
  EXPECT_LE(std::abs(response.deadline_vs_grpc_us()), 1'000);
  EXPECT_LE(response.deadline_ms(), 11'000);
  EXPECT_GE(response.deadline_ms(), 5'000);
}

TEST_F(BoundClientContextTest, SendsNoDeadlineForContextWithout) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Call(Background(), "echo", &response).ok());
  EXPECT_EQ(response.deadline_ms(), -1);
}

TEST_F(BoundClientContextTest, ForwardsRequestIdAndSessionId) {
  Context c = WithValue(Background(), kRequestIdKey, "req-1");
  c = WithValue(c, kSessionIdKey, "sess-1");
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Call(c, "echo", &response).ok());
  EXPECT_EQ(response.request_id(), "req-1");
  EXPECT_EQ(response.session_id(), "sess-1");
}

TEST_F(BoundClientContextTest, DoesNotForwardInvalidIds) {
  Context c = WithValue(Background(), kRequestIdKey, "bad id\r\nx-admin: 1");
  c = WithValue(c, kSessionIdKey, "bad session");
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Call(c, "echo", &response).ok())
      << "an invalid value must not break the call";
  EXPECT_TRUE(IsValidRequestId(response.request_id()));
  EXPECT_EQ(response.session_id(), "");
}

TEST_F(BoundClientContextTest, ForwardingCanBeTurnedOff) {
  const Context c = WithValue(Background(), kRequestIdKey, "req-2");
  ClientOptions options;
  options.forward_request_id = false;
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Call(c, "echo", &response, options).ok());
  EXPECT_NE(response.request_id(), "req-2");
}

TEST_F(BoundClientContextTest, CanceledContextFailsFastWithoutReachingServer) {
  auto [c, cancel] = WithCancel(Background());
  cancel();
  ctxtest::EchoResponse response;
  EXPECT_EQ(Call(c, "echo", &response).error_code(),
            ::grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(Call(Background(), "echo", &response).ok());
  EXPECT_EQ(env_.recorder.Count(), 1u)
      << "the canceled call reached the server";
}

TEST_F(BoundClientContextTest, ExpiredContextFailsFastWithDeadlineExceeded) {
  auto [c, cancel] = WithTimeout(Background(), seconds(-1));
  ctxtest::EchoResponse response;
  EXPECT_EQ(Call(c, "echo", &response).error_code(),
            ::grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(Call(Background(), "echo", &response).ok());
  EXPECT_EQ(env_.recorder.Count(), 1u) << "the expired call reached the server";
}

// The earliest deadline there is (far past): no arithmetic on it overflows
// (UBSan checks), and the call fails as any expired one.
TEST_F(BoundClientContextTest, EarliestDeadlineFailsFastWithDeadlineExceeded) {
  auto [c, cancel] = WithDeadline(Background(), TimePoint::min());
  ctxtest::EchoResponse response;
  EXPECT_EQ(Call(c, "echo", &response).error_code(),
            ::grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(env_.recorder.Count(), 0u) << "the expired call reached the server";
}

// A NaN margin ratio counts as zero: the budget is sent, less the fixed margin.
TEST_F(BoundClientContextTest, NanMarginRatioCountsAsZero) {
  auto [c, cancel] = WithTimeout(Background(), seconds(20));
  ClientOptions options;
  options.deadline_margin = seconds(5);
  options.deadline_margin_ratio = std::numeric_limits<double>::quiet_NaN();
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Call(c, "echo", &response, options).ok());
  const Context server_ctx = env_.recorder.Get(0);
  const std::optional<TimePoint> deadline = server_ctx.Deadline();
  ASSERT_TRUE(deadline.has_value());
  const Clock::duration left = *deadline - Clock::now();
  EXPECT_GT(left, seconds(13)) << "a NaN ratio took more than the margin";
  EXPECT_LE(left, seconds(15));
}

TEST_F(BoundClientContextTest, BudgetBelowMarginFailsFastWithDeadlineExceeded) {
  auto [c, cancel] = WithTimeout(Background(), hours(1));
  ClientOptions options;
  options.deadline_margin = hours(2);
  ctxtest::EchoResponse response;
  EXPECT_EQ(Call(c, "echo", &response, options).error_code(),
            ::grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(Call(Background(), "echo", &response).ok());
  EXPECT_EQ(env_.recorder.Count(), 1u)
      << "the call without budget reached the server";
}

TEST_F(BoundClientContextTest, CancelDuringCallCancelsIt) {
  auto [c, cancel] = WithCancel(Background());
  std::unique_ptr<PendingCall> call = StartEcho(stub_.get(), c, "wait");
  ASSERT_TRUE(env_.recorder.WaitForCount(1));
  cancel();
  EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_F(BoundClientContextTest, CancelAfterCompletionIsHarmless) {
  auto [c, cancel] = WithCancel(Background());
  {
    BoundClientContext call(c);
    ctxtest::EchoRequest request;
    request.set_action("echo");
    ctxtest::EchoResponse response;
    ASSERT_TRUE(stub_->Echo(call.get(), request, &response).ok());
    cancel();  // TryCancel on a finished call: a no-op
  }
  EXPECT_EQ(c.Err(), Errc::kCanceled);
}

// Destroying a BoundClientContext while another thread cancels its context: the
// callback either never runs or finishes before the ClientContext dies.
// (ASan/TSan make a mistake visible.)
TEST(BoundClientContext, DestroyRacingCancelIsSafe) {
  constexpr int kIterations = 2000;
  for (int i = 0; i < kIterations; ++i) {
    auto [c, cancel] = WithCancel(Background());
    auto call = std::make_unique<BoundClientContext>(c);
    std::thread canceler([cancel = cancel] { cancel(); });
    call.reset();
    canceler.join();
  }
}

TEST(BoundClientContext, AccessorsReturnTheBoundObjects) {
  const Context c = WithValue(Background(), kRequestIdKey, "r");
  BoundClientContext call(c);
  EXPECT_EQ(call.context(), c);
  EXPECT_EQ(call.get(), &*call);
  EXPECT_EQ(call.get(), call.operator->());
}

}  // namespace
}  // namespace ctx::grpc::testing
