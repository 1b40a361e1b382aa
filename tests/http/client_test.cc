// SPDX-License-Identifier: Apache-2.0
// ctx::http::Client: context headers out, abort on cancel and deadline, and
// errors that say which.

#include "ctx/http/client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <string>

#include "ctx/http/server.h"
#include "ctx/http/status.h"
#include "ctx/propagation.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using testing::Counter;
using testing::Event;
using testing::kCap;
using testing::RunningServer;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RunningServer>();
    // A plain handler that records the headers it got.
    server_->server().Get("/headers", [this](const httplib::Request& req,
                                             httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      headers_ = req.headers;
      res.set_content("ok", "text/plain");
    });
    // A plain handler that ignores every context: it blocks until the test
    // releases it, so only the client side can end a call early.
    server_->server().Get(
        "/block", [this](const httplib::Request&, httplib::Response& res) {
          calls_.Add();
          blocked_.Fire();
          (void)release_.WaitFor();  // bounded by kCap
          res.set_content("late", "text/plain");
        });
    server_->server().Get("/504",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.status = 504;
                          });
    server_->Start();
  }
  void TearDown() override {
    release_.Fire();
    server_.reset();
  }
  std::string SeenHeader(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = headers_.find(name);
    return it == headers_.end() ? std::string() : it->second;
  }
  size_t SeenHeaderCount(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return headers_.count(name);
  }

  std::unique_ptr<RunningServer> server_;
  std::mutex mu_;
  httplib::Headers headers_;
  Counter calls_;
  Event blocked_, release_;
};

TEST_F(ClientTest, SendsRequestIdSessionAndRemainingBudget) {
  Client client("127.0.0.1", server_->port());
  auto [timed, cancel] = WithTimeout(Background(), std::chrono::seconds(10));
  Context c = WithValue(timed, kRequestIdKey, std::string("rid-1"));
  c = WithValue(c, kSessionIdKey, std::string("sid-1"));
  Result r = client.Get(c, "/headers");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r.request_id(), "rid-1");
  EXPECT_EQ(SeenHeader("X-Request-Id"), "rid-1");
  EXPECT_EQ(SeenHeader("X-Session-Id"), "sid-1");
  const std::string budget = SeenHeader("X-Request-Timeout");
  ASSERT_FALSE(budget.empty()) << "no X-Request-Timeout sent";
  auto parsed = ParseRequestTimeout(budget);
  ASSERT_TRUE(parsed.ok()) << budget;
  EXPECT_GT(*parsed.value, milliseconds(0));
  EXPECT_LE(*parsed.value, milliseconds(10000));
}

TEST_F(ClientTest, DeadlineMarginShortensSentBudget) {
  ClientOptions options;
  options.deadline_margin = std::chrono::seconds(5);
  Client client("127.0.0.1", server_->port(), options);
  auto [c, cancel] = WithTimeout(Background(), std::chrono::seconds(10));
  ASSERT_TRUE(client.Get(c, "/headers").ok());
  auto parsed = ParseRequestTimeout(SeenHeader("X-Request-Timeout"));
  ASSERT_TRUE(parsed.ok());
  EXPECT_LE(*parsed.value, milliseconds(5000));
}

TEST_F(ClientTest, NoDeadlineSendsNoBudget) {
  Client client("127.0.0.1", server_->port());
  ASSERT_TRUE(client.Get(Background(), "/headers").ok());
  EXPECT_EQ(SeenHeaderCount("X-Request-Timeout"), 0u);
}

TEST_F(ClientTest, GeneratesRequestIdWhenContextHasNone) {
  Client client("127.0.0.1", server_->port());
  Result r = client.Get(Background(), "/headers");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(IsValidRequestId(r.request_id())) << r.request_id();
  EXPECT_EQ(SeenHeader("X-Request-Id"), r.request_id());
}

TEST_F(ClientTest, ContextHeadersReplaceCallerHeaders) {
  Client client("127.0.0.1", server_->port());
  Context c = WithValue(Background(), kRequestIdKey, std::string("ctx-id"));
  Result r = client.Get(c, "/headers",
                        {{"X-Request-Id", "caller-id"}, {"X-Other", "kept"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(SeenHeaderCount("X-Request-Id"), 1u);
  EXPECT_EQ(SeenHeader("X-Request-Id"), "ctx-id");
  EXPECT_EQ(SeenHeader("X-Other"), "kept");
}

TEST_F(ClientTest, CancelAbortsWaitingCall) {
  Client client("127.0.0.1", server_->port());
  auto [c, cancel] = WithCancel(Background());
  auto call = std::async(std::launch::async,
                         [&client, c = c] { return client.Get(c, "/block"); });
  ASSERT_TRUE(blocked_.WaitFor()) << "the call never reached the server";
  cancel();
  ASSERT_EQ(call.wait_for(kCap), std::future_status::ready)
      << "the call did not end after cancel";
  Result r = call.get();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.canceled()) << r.error().ToString();
  EXPECT_EQ(r.error(), std::errc::operation_canceled);
}

TEST_F(ClientTest, CancelCauseMessageIsReported) {
  Client client("127.0.0.1", server_->port());
  auto [c, cancel] = WithCancelCause(Background());
  auto call = std::async(std::launch::async,
                         [&client, c = c] { return client.Get(c, "/block"); });
  ASSERT_TRUE(blocked_.WaitFor());
  cancel(ClientDisconnected());
  Result r = call.get();
  EXPECT_TRUE(r.canceled());
  EXPECT_EQ(r.error().message(), "client disconnected");
}

TEST_F(ClientTest, DeadlineAbortsWaitingCall) {
  Client client("127.0.0.1", server_->port());
  auto [c, cancel] = WithTimeout(Background(), milliseconds(100));
  Result r = client.Get(c, "/block");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.deadline_exceeded()) << r.error().ToString();
  EXPECT_EQ(r.error(), std::errc::timed_out);
}

TEST_F(ClientTest, DoneContextFailsWithoutConnecting) {
  Client client("127.0.0.1", server_->port());
  auto [c, cancel] = WithCancel(Background());
  cancel();
  Result r = client.Get(c, "/block");
  EXPECT_TRUE(r.canceled());
  EXPECT_EQ(calls_.value(), 0);
}

TEST_F(ClientTest, ConnectionRefusedIsTransportError) {
  // A port that was just free: bind, read the port, close.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  Client client("127.0.0.1", ntohs(addr.sin_port));
  Result r = client.Get(Background(), "/");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.transport_failed()) << r.error().ToString();
  EXPECT_FALSE(r.canceled());
  EXPECT_EQ(r.error().code(), TransportError(httplib::Error::Connection));
}

TEST_F(ClientTest, CancelAbortsConnectInProgress) {
  // A listener that never accepts, its queue full: a new connect hangs in
  // SYN_SENT until canceled.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  ASSERT_EQ(::listen(listener, 0), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len),
            0);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fillers.push_back(f);
  }
  Client client("127.0.0.1", ntohs(addr.sin_port));
  Event connecting;
  // socket_options runs on the new socket right before connect(2).
  client.httplib_client().set_socket_options(
      [&connecting](socket_t) { connecting.Fire(); });
  auto [c, cancel] = WithCancel(Background());
  auto call = std::async(std::launch::async,
                         [&client, c = c] { return client.Get(c, "/"); });
  ASSERT_TRUE(connecting.WaitFor());
  cancel();
  ASSERT_EQ(call.wait_for(kCap), std::future_status::ready);
  Result r = call.get();
  EXPECT_TRUE(r.canceled()) << r.error().ToString();
  for (int f : fillers) ::close(f);
  ::close(listener);
}

TEST_F(ClientTest, ErrorStatusIsAResponseNotAnError) {
  Client client("127.0.0.1", server_->port());
  Result r = client.Get(Background(), "/504");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 504);
  EXPECT_FALSE(r.error());
}

TEST_F(ClientTest, PostSendsBody) {
  server_.reset();
  RunningServer server;
  std::string got;
  server.server().Post("/echo",
                       [&got](const Context&, const httplib::Request& req,
                              httplib::Response& res) {
                         got = req.body;
                         res.set_content(req.body, "text/plain");
                       });
  server.Start();
  Client client("127.0.0.1", server.port());
  Result r = client.Post(Background(), "/echo", "payload", "text/plain");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "payload");
  EXPECT_EQ(got, "payload");
}

TEST_F(ClientTest, KeepAliveConnectionIsReusedAcrossCalls) {
  Client client("127.0.0.1", server_->port());
  client.httplib_client().set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    Result r = client.Get(Background(), "/headers");
    ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.error().ToString();
  }
  EXPECT_EQ(ServerTestPeer::WatchedConnections(server_->server()), 1u);
}

}  // namespace
}  // namespace ctx::http
