// SPDX-License-Identifier: Apache-2.0
// Proxy conventions in the HTTP bridge: Envoy's budget header (trusted only
// when configured), the minimum budget, and the x-ctx-deadline-exceeded
// marker on 504s, which ctx::http::Client reports as a deadline.

#include "ctx/proxy_headers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ctx/http/client.h"
#include "ctx/http/request_headers.h"
#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using testing::Counter;
using testing::RunningServer;

TEST(EnvoyTimeout, IgnoredUnlessTrusted) {
  RequestHeaders h = ReadRequestHeaders(
      {{"x-envoy-expected-rq-timeout-ms", "200"}}, HeaderPolicy{});
  ASSERT_TRUE(h.ok()) << h.error;
  EXPECT_FALSE(h.timeout) << "an untrusted budget was applied";
}

TEST(EnvoyTimeout, SmallestBudgetWins) {
  HeaderPolicy policy;
  policy.trust_envoy_timeout = true;
  RequestHeaders h =
      ReadRequestHeaders({{"x-envoy-expected-rq-timeout-ms", "200"},
                          {"X-Request-Timeout", "5000"}},
                         policy);
  EXPECT_EQ(h.timeout, milliseconds(200));
  h = ReadRequestHeaders(
      {{"x-envoy-expected-rq-timeout-ms", "5000"}, {"grpc-timeout", "300m"}},
      policy);
  EXPECT_EQ(h.timeout, milliseconds(300));
}

TEST(EnvoyTimeout, ServerCapStillApplies) {
  HeaderPolicy policy;
  policy.trust_envoy_timeout = true;
  policy.max_timeout = milliseconds(100);
  RequestHeaders h =
      ReadRequestHeaders({{"x-envoy-expected-rq-timeout-ms", "5000"}}, policy);
  EXPECT_EQ(h.timeout, milliseconds(100));
}

TEST(EnvoyTimeout, MalformedTrustedValueIsRejected) {
  HeaderPolicy policy;
  policy.trust_envoy_timeout = true;
  RequestHeaders h =
      ReadRequestHeaders({{"x-envoy-expected-rq-timeout-ms", "1.5"}}, policy);
  EXPECT_FALSE(h.ok());
  EXPECT_EQ(h.rejected_header, kEnvoyTimeoutHeader);
}

TEST(MinTimeout, BudgetBelowMinimumCountsAsSpent) {
  HeaderPolicy policy;
  policy.min_timeout = milliseconds(50);
  RequestHeaders h = ReadRequestHeaders({{"X-Request-Timeout", "10"}}, policy);
  EXPECT_EQ(h.timeout, std::chrono::nanoseconds::zero());
  h = ReadRequestHeaders({{"X-Request-Timeout", "60"}}, policy);
  EXPECT_EQ(h.timeout, milliseconds(60));
}

class ProxyServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.headers.min_timeout = milliseconds(1000);
    server_ = std::make_unique<RunningServer>(options);
    server_->server().Get("/work",
                          [this](const Context& c, const httplib::Request&,
                                 httplib::Response& res) {
                            calls_.Add();
                            // Waits for the deadline (bounded by the test cap).
                            if (c.Done().WaitFor(testing::kCap)) return;
                            res.set_content("done", "text/plain");
                          });
    server_->Start();
  }
  std::unique_ptr<RunningServer> server_;
  Counter calls_;
};

TEST_F(ProxyServerTest, BelowMinimumIsAnswered504WithoutRunningTheHandler) {
  httplib::Client client("127.0.0.1", server_->port());
  auto res = client.Get("/work", {{"X-Request-Timeout", "500"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504);
  EXPECT_EQ(res->get_header_value("x-ctx-deadline-exceeded"), "1");
  EXPECT_EQ(calls_.value(), 0) << "the handler ran";
}

TEST_F(ProxyServerTest, SpentDeadlineIsMarked) {
  httplib::Client client("127.0.0.1", server_->port());
  auto res = client.Get("/work", {{"X-Request-Timeout", "1100"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504);
  EXPECT_EQ(res->get_header_value("x-ctx-deadline-exceeded"), "1");
  EXPECT_EQ(calls_.value(), 1);
}

TEST_F(ProxyServerTest, ClientReportsAMarkedResponseAsDeadlineExceeded) {
  Client client("127.0.0.1", server_->port());
  // 950 ms (less the client's margin) is below the server's 1 s minimum:
  // answered 504, marked, at once, long before the caller's deadline.
  auto [short_c, short_cancel] = WithTimeout(Background(), milliseconds(950));
  Result marked = client.Get(short_c, "/work");
  EXPECT_FALSE(marked.ok()) << "a marked 504 came back as a response";
  EXPECT_TRUE(marked.deadline_exceeded()) << marked.error().message();
  EXPECT_FALSE(short_c.Err()) << "the caller's own deadline had not passed";
}

}  // namespace
}  // namespace ctx::http
