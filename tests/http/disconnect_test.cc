// SPDX-License-Identifier: Apache-2.0
// The disconnect rule: a client that closes, half-closes or resets while its
// handler runs cancels the handler's context, for HTTP/1.0 and 1.1;
// keep-alive and pipelining never do.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "ctx/http/server.h"
#include "slow_route.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::CloseWithReset;
using testing::Connect;
using testing::GetRequest;
using testing::LogCapture;
using testing::ReadResponse;
using testing::ReadToEof;
using testing::RunningServer;
using testing::SendAll;
using testing::SlowRoute;

class DisconnectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.logger = log_.Logger();
    server_ = std::make_unique<RunningServer>(std::move(options));
    slow_.Register(server_->server(), "/slow");
    server_->server().Get(
        "/silent",
        [this](const Context& c, const httplib::Request&, httplib::Response&) {
          silent_started_.Fire();
          (void)c.Done().WaitFor(testing::kCap);
        });
    server_->server().Get("/fast",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.set_content("fast", "text/plain");
                          });
    server_->Start();
  }

  LogCapture log_;
  SlowRoute slow_;
  testing::Event silent_started_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(DisconnectTest, ClientCloseCancelsRunningHandler) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor()) << "handler never started";
  ::close(fd);
  ASSERT_TRUE(slow_.finished().WaitFor())
      << "closing the connection did not end the handler's context";
  EXPECT_EQ(slow_.err(), Errc::kCanceled);
  EXPECT_EQ(slow_.cause(), ClientDisconnected());
}

TEST_F(DisconnectTest, ClientResetCancelsRunningHandler) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  CloseWithReset(fd);
  ASSERT_TRUE(slow_.finished().WaitFor())
      << "resetting the connection did not end the handler's context";
  EXPECT_EQ(slow_.err(), Errc::kCanceled);
  EXPECT_EQ(slow_.cause(), ClientDisconnected());
}

TEST_F(DisconnectTest, DisconnectIsLoggedAs499WithRequestId) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow", {"X-Request-Id: gone-1"}));
  ASSERT_TRUE(slow_.started().WaitFor());
  ::close(fd);
  ASSERT_TRUE(slow_.finished().WaitFor());
  // The record is written after the handler returns: wait for the worker by
  // stopping the server (listen returns once every worker is done).
  server_->Stop();
  auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, kStatusClientClosedRequest);
  EXPECT_EQ(records[0].request_id, "gone-1");
  EXPECT_EQ(records[0].path, "/slow");
}

// Go's rule (net/http cancels when its background read sees EOF): a FIN
// while the handler runs means the client is gone.
TEST_F(DisconnectTest, HalfCloseWhileHandlerRunsCancels) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  ::shutdown(fd, SHUT_WR);
  ASSERT_TRUE(slow_.finished().WaitFor())
      << "a FIN while the handler ran did not end its context";
  EXPECT_EQ(slow_.cause(), ClientDisconnected());
  ::close(fd);
}

TEST_F(DisconnectTest, HalfClosedClientGetsTheHandlersResponse) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  ::shutdown(fd, SHUT_WR);
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value())
      << "half-closed after GET /slow: no response, want the handler's";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  ::close(fd);
}

TEST_F(DisconnectTest, HalfClosedClientGetsNoResponseTheHandlerDidNotSet) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/silent"));
  ASSERT_TRUE(silent_started_.WaitFor()) << "handler never started";
  ::shutdown(fd, SHUT_WR);
  EXPECT_EQ(ReadToEof(fd), "")
      << "half-closed after GET /silent, whose handler set nothing: want no "
         "bytes (never a 499 status line)";
  ::close(fd);
}

TEST_F(DisconnectTest, Http10ClientCloseCancelsRunningHandler) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow", {}, "HTTP/1.0"));
  ASSERT_TRUE(slow_.started().WaitFor());
  ::close(fd);
  ASSERT_TRUE(slow_.finished().WaitFor())
      << "closing an HTTP/1.0 connection did not end the handler's context";
  EXPECT_EQ(slow_.err(), Errc::kCanceled);
  EXPECT_EQ(slow_.cause(), ClientDisconnected());
}

TEST_F(DisconnectTest, Http10ClientResetCancelsRunningHandler) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow", {}, "HTTP/1.0"));
  ASSERT_TRUE(slow_.started().WaitFor());
  CloseWithReset(fd);
  ASSERT_TRUE(slow_.finished().WaitFor())
      << "resetting an HTTP/1.0 connection did not end the handler's context";
  EXPECT_EQ(slow_.cause(), ClientDisconnected());
}

TEST_F(DisconnectTest, Http10KeepAliveGetsItsResponse) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow", {"Connection: keep-alive"}, "HTTP/1.0"));
  ASSERT_TRUE(slow_.started().WaitFor());
  slow_.Release();
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(slow_.err()) << slow_.err().message();
  ::close(fd);
}

TEST_F(DisconnectTest, KeepAliveReuseDoesNotCancel) {
  const int fd = Connect(server_->port());
  std::string buffer;
  SendAll(fd, GetRequest("/fast"));
  auto first = ReadResponse(fd, buffer);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  slow_.Release();
  auto second = ReadResponse(fd, buffer);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_FALSE(slow_.err()) << slow_.err().message();
  EXPECT_EQ(ServerTestPeer::WatchedConnections(server_->server()), 1u)
      << "a keep-alive connection is watched once, not per request";
  ::close(fd);
}

TEST_F(DisconnectTest, PipelinedRequestsAreServedWithoutCancel) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow") + GetRequest("/fast") +
                  GetRequest("/fast", {"Connection: close"}));
  ASSERT_TRUE(slow_.started().WaitFor());
  slow_.Release();
  std::string buffer;
  for (const char* want : {"done", "fast", "fast"}) {
    auto r = ReadResponse(fd, buffer);
    ASSERT_TRUE(r.has_value())
        << "pipelined response for " << want << " missing";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, want);
  }
  EXPECT_FALSE(slow_.err()) << slow_.err().message();
  ::close(fd);
}

TEST_F(DisconnectTest, ClosedConnectionsLeaveTheWatcher) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/fast", {"Connection: close"}));
  ReadToEof(fd);
  // The server half-closed and drains until the client closes too; only then
  // is the connection gone (bounded by kCap, polled).
  ::close(fd);
  const auto give_up = std::chrono::steady_clock::now() + testing::kCap;
  while (ServerTestPeer::WatchedConnections(server_->server()) != 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(ServerTestPeer::WatchedConnections(server_->server()), 0u)
      << "closed both ways: still watched after " << testing::kCap.count()
      << " s";
}

}  // namespace
}  // namespace ctx::http
