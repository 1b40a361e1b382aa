// The disconnect rule: a client that closes or resets while its handler runs
// cancels the handler's context; keep-alive, pipelining and half-close never
// do.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

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
    server_->server().Get("/fast",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.set_content("fast", "text/plain");
                          });
    server_->Start();
  }

  LogCapture log_;
  SlowRoute slow_;
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

TEST_F(DisconnectTest, HalfCloseAfterHandlerStartedDoesNotCancel) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  ::shutdown(fd, SHUT_WR);
  std::string buffer;
  // The server answers the FIN with an interim 100 Continue: once we read
  // it, the server has seen the FIN and is waiting for a RST that a
  // half-closed client never sends.
  auto interim = ReadResponse(fd, buffer, /*skip_interim=*/false);
  ASSERT_TRUE(interim.has_value()) << "no probe after the FIN";
  EXPECT_EQ(interim->status, 100);
  slow_.Release();
  auto final_response = ReadResponse(fd, buffer);
  ASSERT_TRUE(final_response.has_value())
      << "a half-closed client got no response";
  EXPECT_EQ(final_response->status, 200);
  EXPECT_EQ(final_response->body, "done");
  EXPECT_FALSE(slow_.err())
      << "half-close canceled the context: " << slow_.err().message();
  ::close(fd);
}

TEST_F(DisconnectTest, HalfCloseSentWithRequestDoesNotCancel) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ::shutdown(fd, SHUT_WR);  // usually seen before the handler starts
  ASSERT_TRUE(slow_.started().WaitFor());
  std::string buffer;
  auto interim = ReadResponse(fd, buffer, /*skip_interim=*/false);
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  slow_.Release();
  auto final_response = ReadResponse(fd, buffer);
  ASSERT_TRUE(final_response.has_value());
  EXPECT_EQ(final_response->status, 200);
  EXPECT_FALSE(slow_.err()) << slow_.err().message();
  ::close(fd);
}

TEST_F(DisconnectTest, Http10HalfCloseGetsNoProbeAndNoCancel) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow", {}, "HTTP/1.0"));
  ASSERT_TRUE(slow_.started().WaitFor());
  ::shutdown(fd, SHUT_WR);
  slow_.Release();
  const std::string all = ReadToEof(fd);
  EXPECT_EQ(all.find("100 Continue"), std::string::npos)
      << "an HTTP/1.0 client got a 1xx response";
  EXPECT_NE(all.find("200 OK"), std::string::npos) << all;
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
  ReadToEof(fd);  // the server unregisters before it closes
  EXPECT_EQ(ServerTestPeer::WatchedConnections(server_->server()), 0u);
  ::close(fd);
}

}  // namespace
}  // namespace ctx::http
