// SPDX-License-Identifier: Apache-2.0
// Slow clients cannot starve handlers: a connection takes a worker only once
// its request is complete, and a slow reader gives it back at the response
// deadline.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using testing::Connect;
using testing::Counter;
using testing::GetRequest;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;

// kSlowClients is many times the worker count (8).
constexpr int kSlowClients = 256;
constexpr int kRounds = 5;

TEST(SlowClients, DrippingConnectionsDoNotStarveAFullRequest) {
  RunningServer server;
  Counter calls;
  server.server().Get("/x", [&](const Context&, const httplib::Request&,
                                httplib::Response& res) {
    calls.Add();
    res.set_content("x", "text/plain");
  });
  server.Start();
  std::vector<int> slow;
  for (int i = 0; i < kSlowClients; ++i) slow.push_back(Connect(server.port()));
  const std::string request = GetRequest("/x");
  for (int round = 0; round < kRounds; ++round) {
    for (const int fd : slow) SendAll(fd, request.substr(round, 1));
  }
  const int fd = Connect(server.port());
  SendAll(fd, request);
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value()) << "the full request got no answer while "
                             << kSlowClients << " clients dripped bytes";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls.value(), 1) << "an incomplete request reached a handler";
  ::close(fd);
  for (const int s : slow) ::close(s);
}

// A slow reader: a small receive buffer and never a read, so the server's
// writes of a large response block.
int ConnectSlowReader(int port) {
  const int fd = Connect(port);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  return fd;
}

// kWorkers is the worker count of the slow-reader tests; kBig a response far
// larger than any socket buffer.
constexpr size_t kWorkers = 2;
constexpr size_t kBig = 16 * 1024 * 1024;

class SlowReaders : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    // Each write may wait long: only the whole-response deadline frees a
    // worker in time.
    options.limits.write_timeout = milliseconds(120'000);
    options.limits.response_timeout = milliseconds(300);
    server_ = std::make_unique<RunningServer>(std::move(options), kWorkers);
    server_->server().Get(
        "/big", [this](const Context&, const httplib::Request&,
                       httplib::Response& res) {
          big_calls_.Add();
          res.set_content(std::string(kBig, 'b'), "text/plain");
        });
    server_->server().Get("/x", [](const Context&, const httplib::Request&,
                                   httplib::Response& res) {
      res.set_content("x", "text/plain");
    });
    server_->Start();
  }

  Counter big_calls_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(SlowReaders, MoreSlowReadersThanWorkersDoNotStarveARequest) {
  std::vector<int> slow;
  for (size_t i = 0; i < kWorkers + 1; ++i) {
    slow.push_back(ConnectSlowReader(server_->port()));
    SendAll(slow.back(), GetRequest("/big"));
  }
  ASSERT_GE(big_calls_.WaitAtLeast(kWorkers), static_cast<int>(kWorkers))
      << "the slow readers' handlers did not start";
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/x"));
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value())
      << "GET /x got no answer while " << slow.size() << " slow readers held "
      << kWorkers << " workers; want 200";
  EXPECT_EQ(r->status, 200);
  ::close(fd);
  for (const int s : slow) ::close(s);
}

}  // namespace
}  // namespace ctx::http
