// SPDX-License-Identifier: Apache-2.0
// StatusFromContext / StatusFromError: the one mapping from context errors to
// gRPC status codes.

#include "ctx/grpc/status.h"

#include <gtest/gtest.h>

#include "ctx/context.h"

namespace ctx::grpc {
namespace {

TEST(StatusFromContext, LiveContextIsOk) {
  auto [c, cancel] = WithCancel(Background());
  EXPECT_TRUE(StatusFromContext(c).ok());
  EXPECT_TRUE(StatusFromContext(Background()).ok());
}

TEST(StatusFromContext, CanceledIsCancelled) {
  auto [c, cancel] = WithCancel(Background());
  cancel();
  const ::grpc::Status s = StatusFromContext(c);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(s.error_message(), "context canceled");
}

TEST(StatusFromContext, DeadlineExceededIsDeadlineExceeded) {
  auto [c, cancel] = WithTimeout(Background(), std::chrono::seconds(-1));
  const ::grpc::Status s = StatusFromContext(c);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(s.error_message(), "context deadline exceeded");
}

TEST(StatusFromContext, MessageIncludesTheCause) {
  auto [c, cancel] = WithCancelCause(Background());
  cancel(Error(Errc::kCanceled, "client went away"));
  const ::grpc::Status s = StatusFromContext(c);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(s.error_message(), "context canceled: client went away");
}

TEST(StatusFromContext, CodeFollowsErrNotCause) {
  auto [c, cancel] = WithCancelCause(Background());
  cancel(Error(std::errc::timed_out, "upstream timed out"));
  EXPECT_EQ(StatusFromContext(c).error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST(StatusFromError, MapsCtxCodesAndTheirPortableConditions) {
  EXPECT_TRUE(StatusFromError(Error()).ok());
  EXPECT_EQ(StatusFromError(Errc::kCanceled).error_code(),
            ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(StatusFromError(Errc::kDeadlineExceeded).error_code(),
            ::grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(StatusFromError(std::errc::operation_canceled).error_code(),
            ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(StatusFromError(std::errc::timed_out).error_code(),
            ::grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST(StatusFromError, OtherErrorsAreUnknownWithTheirMessage) {
  const ::grpc::Status s =
      StatusFromError(Error(std::errc::connection_reset, "peer reset"));
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "peer reset");
}

}  // namespace
}  // namespace ctx::grpc
