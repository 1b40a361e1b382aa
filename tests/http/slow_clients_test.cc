// SPDX-License-Identifier: Apache-2.0
// Slow clients cannot starve handlers: a connection takes a worker only once
// its request is complete, and gives it back as soon as the socket takes no
// more of its response (the loop writes the rest, up to the response
// deadline).

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
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
using testing::WaitFor;

// kSlowClients is many times the worker count (8), and below the server's
// default max_connections (1024).
constexpr int kSlowClients = 1000;
constexpr int kRounds = 5;

// RaiseDescriptorLimit lifts the soft RLIMIT_NOFILE to the hard one and
// returns how many descriptors the process may hold.
rlim_t RaiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
    (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

TEST(SlowClients, DrippingConnectionsDoNotStarveAFullRequest) {
  // Each dripping connection takes a descriptor on both ends.
  const rlim_t needed = 2 * kSlowClients + 256;
  if (RaiseDescriptorLimit() < needed) {
    GTEST_SKIP() << "RLIMIT_NOFILE below " << needed << " descriptors";
  }
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
// writes of a large response block. Only for clients that never read: with a
// window this far below loopback's segment size, the sender waits for its
// persist timer (seconds, backing off) once the reader does read. A test that
// reads later uses a plain connection and does not read until the server's
// writes have blocked (kBig is larger than both socket buffers can hold).
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
  // Start serves /big (kBig bytes) and /x. Each write may wait long, so only
  // what the tests are about can free a worker or a connection in time.
  void Start(milliseconds response_timeout) {
    ServerOptions options;
    options.limits.write_timeout = milliseconds(120'000);
    options.limits.response_timeout = response_timeout;
    options.limits.drain_timeout = milliseconds(200);
    server_ = std::make_unique<RunningServer>(std::move(options), kWorkers);
    if (replace_hook_) {
      static_cast<httplib::Server&>(server_->server())
          .set_post_routing_handler(
              [](const httplib::Request&, httplib::Response&) {});
    }
    server_->server().Get(
        "/big", [this](const Context&, const httplib::Request&,
                       httplib::Response& res) {
          big_calls_.Add();
          res.set_content(std::string(kBig, 'b'), "text/plain");
        });
    // The same from a plain httplib handler.
    server_->server().Get(
        "/plain-big", [this](const httplib::Request&, httplib::Response& res) {
          big_calls_.Add();
          res.set_content(std::string(kBig, 'b'), "text/plain");
        });
    server_->server().Get("/x", [this](const Context&, const httplib::Request&,
                                       httplib::Response& res) {
      x_calls_.Add();
      res.set_content("x", "text/plain");
    });
    server_->Start();
  }
  // StartTail starts a server whose response deadline is far away and asks
  // it for /big on a new connection (a slow reader's, or a plain one that
  // reads later); returns the client's fd once the loop writes the
  // response's tail, or -1.
  int StartTail(bool slow_reader) {
    Start(milliseconds(600'000));
    const int fd = slow_reader ? ConnectSlowReader(server_->port())
                               : Connect(server_->port());
    SendAll(fd, request_);
    if (!WaitFor([&] { return Writing() == 1; })) {
      ADD_FAILURE() << "sent " << request_.size()
                    << " request bytes for a 16 MiB response and read none: "
                       "the loop never took its tail";
      ::close(fd);
      return -1;
    }
    return fd;
  }
  size_t Writing() {
    return ServerTestPeer::WritingConnections(server_->server());
  }
  size_t Open() {
    return ServerTestPeer::WatchedConnections(server_->server());
  }

  // ExpectNoStarvation has more slow readers than workers ask for `path` (a
  // kBig body), then checks that GET /x is still answered and that the loop
  // writes every slow reader's tail. The response deadline is far away: only
  // handing the unsent rest of a response to the loop frees the workers.
  void ExpectNoStarvation(const std::string& path) {
    Start(milliseconds(600'000));
    std::vector<int> slow;
    for (size_t i = 0; i < kWorkers + 2; ++i) {
      slow.push_back(ConnectSlowReader(server_->port()));
      SendAll(slow.back(), GetRequest(path));
    }
    ASSERT_GE(big_calls_.WaitAtLeast(kWorkers + 2),
              static_cast<int>(kWorkers + 2))
        << "the slow readers' handlers did not all run: workers are held";
    const int fd = Connect(server_->port());
    SendAll(fd, GetRequest("/x"));
    std::string buffer;
    auto r = ReadResponse(fd, buffer);
    ASSERT_TRUE(r.has_value())
        << "GET /x got no answer while " << slow.size() << " slow readers of "
        << path << " had " << kWorkers << " workers; want 200";
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(WaitFor([&] { return Writing() == slow.size(); }))
        << "connections whose response tail the loop writes: " << Writing()
        << ", want " << slow.size();
    ::close(fd);
    for (const int s : slow) ::close(s);
  }

  std::string request_ = GetRequest("/big");
  bool replace_hook_ = false;  // Start: replace httplib's post-routing step
  Counter big_calls_;
  Counter x_calls_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(SlowReaders, MoreSlowReadersThanWorkersDoNotStarveARequest) {
  ExpectNoStarvation("/big");
}

TEST_F(SlowReaders, PlainHandlersSlowReadersDoNotStarveARequest) {
  ExpectNoStarvation("/plain-big");
}

// A post-routing handler set through an httplib::Server reference replaces
// the server's own step; a context handler's body still moves to the loop.
TEST_F(SlowReaders, ContextHandlersBodyMovesWhenTheHookIsReplaced) {
  replace_hook_ = true;
  ExpectNoStarvation("/big");
}

TEST_F(SlowReaders, ANeverReadingClientIsClosedAtTheResponseDeadline) {
  Start(milliseconds(300));
  const int fd = ConnectSlowReader(server_->port());
  SendAll(fd, GetRequest("/big"));
  ASSERT_EQ(big_calls_.WaitAtLeast(1), 1);
  EXPECT_TRUE(WaitFor([&] { return Open() == 0; }))
      << "a client that never reads: connection still open after "
      << testing::kCap.count() << " s; want closed at the 300 ms deadline";
  ::close(fd);
}

TEST_F(SlowReaders, TheNextRequestIsServedAfterTheTail) {
  request_ = GetRequest("/big") + GetRequest("/x");
  const int fd = StartTail(/*slow_reader=*/false);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(x_calls_.value(), 0)
      << "the pipelined request ran before the response before it was sent";
  std::string buffer;
  auto big = ReadResponse(fd, buffer);
  ASSERT_TRUE(big.has_value()) << "GET /big: no response";
  EXPECT_EQ(big->status, 200);
  EXPECT_EQ(big->body.size(), kBig) << "GET /big: body bytes";
  auto x = ReadResponse(fd, buffer);
  ASSERT_TRUE(x.has_value()) << "GET /x after the tail: no response";
  EXPECT_EQ(x->status, 200);
  EXPECT_EQ(x->body, "x");
  ::close(fd);
}

TEST_F(SlowReaders, ShutdownWritesAPendingTailWithinTheGrace) {
  const int fd = StartTail(/*slow_reader=*/false);
  ASSERT_GE(fd, 0);
  std::thread shutdown([&] { server_->server().Shutdown(testing::kCap); });
  std::string buffer;
  auto big = ReadResponse(fd, buffer);
  ASSERT_TRUE(big.has_value()) << "GET /big during a shutdown: no response";
  EXPECT_EQ(big->body.size(), kBig) << "GET /big during a shutdown: bytes";
  EXPECT_EQ(testing::ReadToEof(fd), "") << "after the response: want EOF";
  ::close(fd);  // the server lingers until the client closes
  shutdown.join();
}

TEST_F(SlowReaders, ShutdownDropsATailNobodyReads) {
  const int fd = StartTail(/*slow_reader=*/true);
  ASSERT_GE(fd, 0);
  // Bounded by the grace and drain_timeout (200 ms), not by the 10 min
  // response deadline; the test's own timeout catches a hang.
  server_->server().Shutdown(milliseconds(50));
  EXPECT_EQ(Open(), 0u) << "Shutdown returned with connections open";
  ::close(fd);
}

}  // namespace
}  // namespace ctx::http
