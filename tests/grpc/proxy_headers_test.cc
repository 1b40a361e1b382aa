// SPDX-License-Identifier: Apache-2.0
// Proxy conventions over a real gRPC server: Envoy's budget header (trusted
// only when configured), the minimum budget, and the DEADLINE_EXCEEDED
// marker in trailing metadata.

#include "ctx/proxy_headers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

using std::chrono::milliseconds;

// EchoWith calls "echo" with `timeout` as gRPC's deadline (zero: none) and
// `envoy_ms` as Envoy's header (empty: none); returns the status and fills
// `response` and `trailing` (the marker's value, "" when absent).
::grpc::Status EchoWith(ctxtest::TestService::Stub* stub, milliseconds timeout,
                        const std::string& envoy_ms,
                        ctxtest::EchoResponse* response,
                        std::string* trailing = nullptr) {
  ::grpc::ClientContext cc;
  if (timeout > milliseconds::zero())
    cc.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!envoy_ms.empty())
    cc.AddMetadata(std::string(kEnvoyTimeoutHeader), envoy_ms);
  ctxtest::EchoRequest request;
  request.set_action("echo");
  ::grpc::Status s = stub->Echo(&cc, request, response);
  if (trailing != nullptr) {
    auto it = cc.GetServerTrailingMetadata().find(
        std::string(kDeadlineExceededHeader));
    *trailing = it == cc.GetServerTrailingMetadata().end()
                    ? std::string()
                    : std::string(it->second.data(), it->second.size());
  }
  return s;
}

// DeadlineSeen serves one "echo" call with a sync server built with
// `options` and returns the handler's remaining budget in ms (-1: none).
int64_t DeadlineSeen(const ServerOptions& options, milliseconds timeout,
                     const std::string& envoy_ms) {
  Env env;
  ApiServer server(Api::kSync, &env, options);
  auto stub = server.NewStub();
  ctxtest::EchoResponse response;
  const ::grpc::Status s = EchoWith(stub.get(), timeout, envoy_ms, &response);
  EXPECT_TRUE(s.ok()) << "echo: " << s.error_message();
  return response.deadline_ms();
}

ServerOptions TrustingEnvoy() {
  ServerOptions options;
  options.trust_envoy_timeout = true;
  return options;
}

TEST(GrpcEnvoyTimeout, IgnoredUnlessTrusted) {
  ServerOptions options;
  options.max_timeout = std::nullopt;
  EXPECT_EQ(DeadlineSeen(options, {}, "200"), -1)
      << "an untrusted budget was applied";
}

TEST(GrpcEnvoyTimeout, TrustedBudgetWinsWhenSmaller) {
  const int64_t left =
      DeadlineSeen(TrustingEnvoy(), milliseconds(20000), "2000");
  EXPECT_GT(left, 0);
  EXPECT_LE(left, 2000) << "Envoy's 2 s did not win";
}

TEST(GrpcEnvoyTimeout, ClientDeadlineWinsWhenSmaller) {
  // gRPC rounds the client's grpc-timeout up a little; 20 s would be far
  // above.
  EXPECT_LT(DeadlineSeen(TrustingEnvoy(), milliseconds(2000), "20000"), 3000)
      << "the client's 2 s did not win";
}

TEST(GrpcEnvoyTimeout, ServerCapStillApplies) {
  ServerOptions options = TrustingEnvoy();
  options.max_timeout = milliseconds(1000);
  EXPECT_LE(DeadlineSeen(options, {}, "20000"), 1000)
      << "the cap did not apply";
}

TEST(GrpcEnvoyTimeout, MalformedValueIsIgnored) {
  ServerOptions options = TrustingEnvoy();
  options.max_timeout = std::nullopt;
  EXPECT_EQ(DeadlineSeen(options, {}, "-5"), -1);
}

class GrpcMinTimeout : public ::testing::TestWithParam<Api> {};

TEST_P(GrpcMinTimeout, BelowMinimumFailsWithMarkedDeadlineExceeded) {
  Env env;
  ServerOptions options;
  options.min_timeout = milliseconds(10000);
  ApiServer server(GetParam(), &env, options);
  auto stub = server.NewStub();
  ctxtest::EchoResponse response;
  std::string marker;
  const ::grpc::Status s =
      EchoWith(stub.get(), milliseconds(5000), "", &response, &marker);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED)
      << "5 s budget under a 10 s minimum: " << s.error_message();
  EXPECT_EQ(marker, kDeadlineExceededValue) << "trailing marker";
}

TEST_P(GrpcMinTimeout, AboveMinimumRunsNormally) {
  Env env;
  ServerOptions options;
  options.min_timeout = milliseconds(100);
  ApiServer server(GetParam(), &env, options);
  auto stub = server.NewStub();
  ctxtest::EchoResponse response;
  std::string marker;
  EXPECT_TRUE(
      EchoWith(stub.get(), milliseconds(5000), "", &response, &marker).ok());
  EXPECT_EQ(marker, "");
}

// Without an interceptor (ServeUnary), the handler does not run at all.
TEST(GrpcMinTimeoutWithoutInterceptor, BelowMinimumSkipsHandler) {
  Env env;
  ServerOptions options;
  options.min_timeout = milliseconds(10000);
  ApiServer server(Api::kCallbackNoInterceptor, &env, options);
  auto stub = server.NewStub();
  ctxtest::EchoResponse response;
  const ::grpc::Status s =
      EchoWith(stub.get(), milliseconds(5000), "", &response);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_message();
  EXPECT_EQ(env.recorder.Count(), 0u)
      << "handler ran for a call below the minimum budget";
}

INSTANTIATE_TEST_SUITE_P(Apis, GrpcMinTimeout, ::testing::ValuesIn(kAllApis),
                         ApiName);

}  // namespace
}  // namespace ctx::grpc::testing
