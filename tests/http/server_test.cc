// SPDX-License-Identifier: Apache-2.0
// The request context a ctx::http::Server handler gets, and what the client
// receives for each header rule and each way the context can end.

#include "ctx/http/server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "ctx/clock.h"
#include "ctx/propagation.h"
#include "slow_route.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using testing::Connect;
using testing::Counter;
using testing::GetRequest;
using testing::kCap;
using testing::LogCapture;
using testing::RawResponse;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;
using testing::SlowRoute;

// Exchange sends one request on a fresh connection and reads one response.
std::optional<RawResponse> Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  SendAll(fd, request);
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ::close(fd);
  return r;
}

// Seen is what a handler saw in its context.
struct Seen {
  std::string request_id;
  std::optional<std::string> session_id;
  std::optional<RequestInfo> info;
  std::optional<Clock::duration> remaining;
};

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    options.logger = log_.Logger();
    server_ = std::make_unique<RunningServer>(std::move(options));
    server_->server().Get(
        "/seen", [this](const Context& c, const httplib::Request&,
                        httplib::Response& res) {
          calls_.Add();
          std::lock_guard<std::mutex> lock(mu_);
          if (const std::string* id = c.Value(kRequestIdKey)) {
            seen_.request_id = *id;
          }
          if (const std::string* s = c.Value(kSessionIdKey)) {
            seen_.session_id = *s;
          }
          if (const RequestInfo* info = GetRequestInfo(c)) seen_.info = *info;
          seen_.remaining = Remaining(c);
          res.set_content("seen", "text/plain");
        });
    server_->server().Get(R"(/any/([\s\S]*))",
                          [this](const Context&, const httplib::Request&,
                                 httplib::Response& res) {
                            calls_.Add();
                            res.set_content("any", "text/plain");
                          });
    slow_.Register(server_->server(), "/slow");
    server_->Start();
  }
  Seen seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int port() const { return server_->port(); }

  LogCapture log_;
  SlowRoute slow_;
  Counter calls_;
  std::mutex mu_;
  Seen seen_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(ServerTest, HandlerSeesRequestIdSessionMethodPathAndPeer) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Id: req-42",
                                                 "X-Session-Id: sess-7"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  Seen s = seen();
  EXPECT_EQ(s.request_id, "req-42");
  EXPECT_EQ(s.session_id, "sess-7");
  ASSERT_TRUE(s.info.has_value());
  EXPECT_EQ(s.info->method, "GET");
  EXPECT_EQ(s.info->path, "/seen");
  EXPECT_EQ(s.info->remote_addr, "127.0.0.1");
  EXPECT_GT(s.info->remote_port, 0);
}

TEST_F(ServerTest, RequestIdIsEchoed) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Id: echo-me"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("x-request-id"), "echo-me");
}

TEST_F(ServerTest, MissingRequestIdIsGeneratedAndEchoed) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen"));
  ASSERT_TRUE(r.has_value());
  const std::string echoed = r->header("x-request-id");
  EXPECT_TRUE(IsValidRequestId(echoed)) << LogSafe(echoed);
  EXPECT_EQ(seen().request_id, echoed);
}

TEST_F(ServerTest, InvalidRequestIdIsReplacedNotEchoed) {
  Start();
  const std::string bad_ids[] = {"has space", std::string("nul\0byte", 8),
                                 "caf\xc3\xa9", "bare\rcr", "quote\"d"};
  for (const std::string& bad : bad_ids) {
    auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Id: " + bad}));
    ASSERT_TRUE(r.has_value()) << "no response for id " << LogSafe(bad);
    // A NUL or CR in a header value is malformed framing: 400, nothing echoed.
    if (r->status == 400) {
      EXPECT_EQ(r->header("x-request-id"), "") << "for " << LogSafe(bad);
      continue;
    }
    const std::string echoed = r->header("x-request-id");
    EXPECT_TRUE(IsValidRequestId(echoed))
        << "echoed " << LogSafe(echoed) << " for " << LogSafe(bad);
    EXPECT_NE(echoed, bad);
  }
}

TEST_F(ServerTest, OversizedRequestIdNeverCrashesOrEchoes) {
  Start();
  // 64 KiB: longer than httplib's header line limit, so httplib itself may
  // refuse the request; either way nothing of it comes back.
  const std::string huge(64 * 1024, 'a');
  const int fd = Connect(port());
  SendAll(fd, GetRequest("/seen", {"X-Request-Id: " + huge}));
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ::close(fd);
  if (r.has_value()) {
    EXPECT_EQ(r->header("x-request-id").find(huge), std::string::npos);
    if (r->status == 200) {
      EXPECT_TRUE(IsValidRequestId(r->header("x-request-id")));
    }
  }
  // The server still serves.
  auto after = Exchange(port(), GetRequest("/seen"));
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ServerTest, MalformedTimeoutIsRejectedWith400AndReason) {
  Start();
  const std::pair<std::string, std::string> cases[] = {
      {"X-Request-Timeout", "-1"},
      {"X-Request-Timeout", "1.5"},
      {"X-Request-Timeout", "abc"},
      {"X-Request-Timeout", "99999999999999999999999"},
      {"grpc-timeout", "10"},
      {"grpc-timeout", "10x"},
      {"grpc-timeout", "123456789S"},
      {"grpc-timeout", "-1S"},
  };
  for (const auto& [name, value] : cases) {
    auto r = Exchange(port(), GetRequest("/seen", {name + ": " + value}));
    ASSERT_TRUE(r.has_value()) << name << ": " << value;
    EXPECT_EQ(r->status, 400) << name << ": \"" << value << "\"";
    EXPECT_EQ(r->body.rfind("bad ", 0), 0u) << r->body;
    if (!value.empty()) {
      EXPECT_EQ(r->body.find(value), std::string::npos)
          << "the 400 body echoes the raw value: " << r->body;
    }
    EXPECT_TRUE(IsValidRequestId(r->header("x-request-id")));
  }
  EXPECT_EQ(calls_.value(), 0) << "a rejected request reached the handler";
}

TEST_F(ServerTest, EmptyTimeoutHeaderCountsAsAbsent) {
  // httplib's parser drops header lines with an empty value before the
  // bridge sees them, so "X-Request-Timeout:" is the same as no header.
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Timeout:"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(seen().remaining.has_value());
}

TEST_F(ServerTest, RepeatedTimeoutHeaderIsRejectedWith400) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Timeout: 100",
                                                 "X-Request-Timeout: 200"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "bad x-request-timeout: repeated header\n");
}

TEST_F(ServerTest, RejectionIsLoggedWithoutRawValue) {
  Start();
  auto r = Exchange(port(),
                    GetRequest("/seen", {"X-Request-Timeout: evil\x01value"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 400);
  EXPECT_EQ(records[0].reason.find("evil"), std::string::npos);
}

TEST_F(ServerTest, LoggedPathIsLogSafe) {
  Start();
  // The path is percent-decoded by httplib: CR LF reach the handler's path.
  auto r = Exchange(port(), GetRequest("/any/x%0D%0AInjected:%201",
                                       {"X-Request-Timeout: 0"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 504);
  auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].path.find_first_of("\r\n"), std::string::npos)
      << records[0].path;
}

TEST_F(ServerTest, LoggedRecordCarriesTheRequestsTraceAndSpan) {
  Start();
  auto r = Exchange(
      port(),
      GetRequest("/seen",
                 {"X-Request-Timeout: 0",
                  "traceparent: "
                  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-"
                  "01"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 504);
  auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(records[0].span_id, "b7ad6b7169203331");
}

TEST_F(ServerTest, BudgetFromHeaderBecomesDeadline) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Timeout: 60000"}));
  ASSERT_TRUE(r.has_value());
  auto remaining = seen().remaining;
  ASSERT_TRUE(remaining.has_value()) << "no deadline from X-Request-Timeout";
  EXPECT_LE(*remaining, milliseconds(60000));
}

TEST_F(ServerTest, GrpcTimeoutBecomesDeadline) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"grpc-timeout: 1M"}));
  ASSERT_TRUE(r.has_value());
  auto remaining = seen().remaining;
  ASSERT_TRUE(remaining.has_value());
  EXPECT_LE(*remaining, std::chrono::minutes(1));
}

TEST_F(ServerTest, ServerMaximumCapsBudget) {
  ServerOptions options;
  options.headers.max_timeout = milliseconds(5000);
  Start(std::move(options));
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Timeout: 600000"}));
  ASSERT_TRUE(r.has_value());
  auto remaining = seen().remaining;
  ASSERT_TRUE(remaining.has_value());
  EXPECT_LE(*remaining, milliseconds(5000));
}

TEST_F(ServerTest, NoBudgetAndNoPolicyMeansNoDeadline) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen"));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(seen().remaining.has_value());
}

TEST_F(ServerTest, DeadlinePassingBeforeHandlerReturnsGives504) {
  Start();
  auto r = Exchange(port(), GetRequest("/slow", {"X-Request-Timeout: 50",
                                                 "X-Request-Id: late-1"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(r->body, "deadline exceeded\n");
  EXPECT_EQ(r->header("x-request-id"), "late-1");
  EXPECT_EQ(slow_.err(), Errc::kDeadlineExceeded);
  auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 504);
  EXPECT_EQ(records[0].request_id, "late-1");
}

TEST_F(ServerTest, DefaultTimeoutGives504) {
  ServerOptions options;
  options.headers.default_timeout = milliseconds(50);
  Start(std::move(options));
  auto r = Exchange(port(), GetRequest("/slow"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 504);
}

TEST_F(ServerTest, ZeroBudgetGives504WithoutRunningHandler) {
  Start();
  auto r = Exchange(port(), GetRequest("/seen", {"X-Request-Timeout: 0"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(calls_.value(), 0);
}

TEST_F(ServerTest, CanceledRootGives503) {
  auto [root, cancel_root] = WithCancel(Background());
  ServerOptions options;
  options.root = root;
  Start(std::move(options));
  auto first = Exchange(port(), GetRequest("/seen"));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  cancel_root();
  auto r = Exchange(port(), GetRequest("/seen"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
}

TEST_F(ServerTest, StopCancelsInFlightHandlersAndReturns) {
  Start();
  const int fd = Connect(port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  // Stop returns only once listen_after_bind has returned.
  std::thread stop([&] { server_->Stop(); });
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  const std::string after = testing::ReadToEof(fd);
  ::close(fd);  // the server lingers until the client closes
  stop.join();
  EXPECT_TRUE(slow_.finished().Fired());
  EXPECT_EQ(slow_.err(), Errc::kCanceled);
  EXPECT_EQ(slow_.cause(), ServerStopping());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(after, "") << "after the 503: want EOF";
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnections) {
  Start();
  const int fd = Connect(port());
  SendAll(fd, GetRequest("/seen"));
  std::string buffer;
  ASSERT_TRUE(ReadResponse(fd, buffer).has_value());
  // Once the worker hands the connection back, it idles in keep-alive; stop
  // must not wait for it. (Stopped before that, the response would be the
  // connection's last, and the server would linger until the client closes.)
  ASSERT_TRUE(testing::WaitFor([this] {
    return ServerTestPeer::ReadingConnections(server_->server()) == 1;
  })) << "the connection never went back to reading";
  server_->Stop();
  EXPECT_EQ(testing::ReadToEof(fd), "");
  ::close(fd);
}

TEST_F(ServerTest, HandlerThatThrowsStillEndsItsWindow) {
  Start();
  server_->Stop();
  auto server = std::make_unique<RunningServer>();
  server->server().Get(
      "/throw", [](const Context&, const httplib::Request&,
                   httplib::Response&) { throw std::runtime_error("boom"); });
  server->Start();
  auto r = Exchange(server->port(), GetRequest("/throw"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  auto again = Exchange(server->port(), GetRequest("/throw"));
  ASSERT_TRUE(again.has_value());
}

TEST(ServerPostRouting, UsersHandlerRunsBeforeEachResponseIsWritten) {
  RunningServer server;
  server.server().Get("/plain",
                      [](const httplib::Request&, httplib::Response& res) {
                        res.set_content("plain", "text/plain");
                      });
  server.server().set_post_routing_handler(
      [](const httplib::Request&, httplib::Response& res) {
        res.set_header("X-Post", "1");
      });
  server.Start();
  for (const char* path : {"/plain", "/missing"}) {
    auto r = Exchange(server.port(), GetRequest(path));
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->header("x-post"), "1") << path;
  }
}

}  // namespace
}  // namespace ctx::http
