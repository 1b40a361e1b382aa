// SPDX-License-Identifier: Apache-2.0
// Graceful shutdown: no new connections, every complete request answered,
// handlers canceled after the grace period, and Shutdown bounded whatever
// clients do.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ctx/http/server.h"
#include "slow_route.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using testing::Connect;
using testing::Counter;
using testing::Event;
using testing::FillServerEnd;
using testing::GetRequest;
using testing::kCap;
using testing::ReadResponse;
using testing::ReadToEof;
using testing::RunningServer;
using testing::SendAll;
using testing::SlowRoute;
using testing::WaitForWriting;

// CountingPool is a worker pool that counts the requests handed to it, so a
// test knows when they are queued.
class CountingPool : public httplib::TaskQueue {
 public:
  CountingPool(size_t threads, Counter& enqueued)
      : pool_(threads), enqueued_(enqueued) {}
  void enqueue(std::function<void()> fn) override {
    enqueued_.Add();
    pool_.enqueue(std::move(fn));
  }
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
  Counter& enqueued_;
};

class ShutdownTest : public ::testing::Test {
 protected:
  // Start serves /slow and /fast on one worker.
  void Start(ServerLimits limits = {}) {
    ServerOptions options;
    options.limits = limits;
    server_ = std::make_unique<RunningServer>(std::move(options));
    server_->server().new_task_queue = [this] {
      return new CountingPool(1, enqueued_);
    };
    slow_.Register(server_->server(), "/slow");
    server_->server().Get("/fast", [](const Context&, const httplib::Request&,
                                      httplib::Response& res) {
      res.set_content("fast", "text/plain");
    });
    // Held until released: a context handler that then throws, and a plain
    // one.
    server_->server().Get(
        "/throw",
        [this](const Context&, const httplib::Request&, httplib::Response&) {
          held_started_.Fire();
          (void)held_release_.WaitFor();
          throw std::runtime_error("thrown after the stop");
        });
    server_->server().Get(
        "/plain", [this](const httplib::Request&, httplib::Response& res) {
          held_started_.Fire();
          (void)held_release_.WaitFor();
          res.set_content("plain", "text/plain");
        });
    server_->server().Get(
        "/big", [this](const Context&, const httplib::Request&,
                       httplib::Response& res) {
          big_started_.Fire();
          res.set_content(std::string(16 * 1024 * 1024, 'b'), "text/plain");
        });
    server_->Start();
  }

  // QueueBehindSlow starts /slow, then queues `n` requests for `path` behind
  // it (one worker) and returns their sockets.
  std::vector<int> QueueBehindSlow(int n, const std::string& path = "/fast") {
    slow_fd_ = Connect(server_->port());
    SendAll(slow_fd_, GetRequest("/slow"));
    EXPECT_TRUE(slow_.started().WaitFor()) << "/slow never started";
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
      fds.push_back(Connect(server_->port()));
      SendAll(fds.back(), GetRequest(path));
    }
    EXPECT_EQ(enqueued_.WaitAtLeast(n + 1), n + 1) << "requests not queued";
    return fds;
  }

  // ServedAfterTheStop queues a request for `path` behind /slow, begins a
  // shutdown, releases /slow once every connection knows the server is
  // stopping, and returns the queued request's response.
  std::optional<testing::RawResponse> ServedAfterTheStop(
      const std::string& path) {
    std::vector<int> queued = QueueBehindSlow(1, path);
    std::jthread shutdown([&] { server_->server().Shutdown(kCap); });
    EXPECT_TRUE(testing::WaitFor([&] {
      return ServerTestPeer::StoppingConnections(server_->server()) == 2;
    })) << "the connections never learned that the server is stopping";
    slow_.Release();  // the queued request is dispatched now
    std::string buffer;
    EXPECT_TRUE(ReadResponse(slow_fd_, buffer).has_value());
    ::close(slow_fd_);
    buffer.clear();
    auto r = ReadResponse(queued[0], buffer);
    ::close(queued[0]);
    return r;
  }

  // HeldAtTheStop sends a request for a held route (`path`), begins a
  // shutdown while its handler runs, releases the handler once the
  // connection knows the server is stopping, and returns the response.
  std::optional<testing::RawResponse> HeldAtTheStop(const std::string& path) {
    const int fd = Connect(server_->port());
    SendAll(fd, GetRequest(path));
    EXPECT_TRUE(held_started_.WaitFor()) << path << " never started";
    std::jthread shutdown([&] { server_->server().Shutdown(kCap); });
    EXPECT_TRUE(testing::WaitFor([&] {
      return ServerTestPeer::StoppingConnections(server_->server()) == 1;
    })) << "the connection never learned that the server is stopping";
    held_release_.Fire();
    std::string buffer;
    auto r = ReadResponse(fd, buffer);
    ::close(fd);
    return r;
  }

  Counter enqueued_;
  Event held_started_, held_release_;
  SlowRoute slow_;
  Event big_started_;
  int slow_fd_ = -1;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(ShutdownTest, QueuedRequestsAreServedWithinTheGrace) {
  Start();
  std::vector<int> queued = QueueBehindSlow(4);
  std::thread shutdown([&] { server_->server().Shutdown(kCap); });
  slow_.Release();
  std::string buffer;
  auto slow = ReadResponse(slow_fd_, buffer);
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->status, 200);
  ::close(slow_fd_);  // the server lingers until the client closes
  for (size_t i = 0; i < queued.size(); ++i) {
    std::string b;
    auto r = ReadResponse(queued[i], b);
    ASSERT_TRUE(r.has_value()) << "queued request " << i << " got no response";
    EXPECT_EQ(r->status, 200) << "queued request " << i;
    EXPECT_EQ(r->body, "fast");
    ::close(queued[i]);
  }
  shutdown.join();
  EXPECT_FALSE(slow_.err())
      << "canceled within the grace period: " << slow_.err().message();
}

TEST_F(ShutdownTest, HandlerRunningAfterTheGraceIsCanceled) {
  Start();
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/slow"));
  ASSERT_TRUE(slow_.started().WaitFor());
  std::thread shutdown([&] { server_->server().Shutdown(milliseconds(20)); });
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  const std::string after = ReadToEof(fd);
  ::close(fd);  // the server lingers until the client closes
  shutdown.join();
  ASSERT_TRUE(slow_.finished().Fired()) << "Shutdown returned first";
  EXPECT_EQ(slow_.cause(), ServerStopping());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(after, "") << "after the 503: want EOF";
}

// A request dispatched after the shutdown began is answered with one
// Connection: close and no Keep-Alive.
TEST_F(ShutdownTest, ResponseAfterTheStopSaysCloseOnce) {
  Start();
  auto r = ServedAfterTheStop("/fast");
  ASSERT_TRUE(r.has_value()) << "the queued request got no response";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.count("connection"), 1u)
      << "Connection lines of a response after the stop";
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(r->header("keep-alive"), "")
      << "Keep-Alive of a response after the stop";
}

TEST_F(ShutdownTest, ThrowingHandlerRunningAtTheStopSaysClose) {
  Start();
  auto r = HeldAtTheStop("/throw");
  ASSERT_TRUE(r.has_value()) << "the queued request got no response";
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(r->header("keep-alive"), "");
}

TEST_F(ShutdownTest, PlainHandlerRunningAtTheStopSaysClose) {
  Start();
  auto r = HeldAtTheStop("/plain");
  ASSERT_TRUE(r.has_value()) << "the queued request got no response";
  EXPECT_EQ(r->body, "plain");
  EXPECT_EQ(r->headers.count("connection"), 1u);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(r->header("keep-alive"), "");
}

TEST_F(ShutdownTest, StopAnswersQueuedRequestsWith503) {
  Start();
  std::vector<int> queued = QueueBehindSlow(3);
  server_->server().stop();
  for (size_t i = 0; i < queued.size(); ++i) {
    std::string b;
    auto r = ReadResponse(queued[i], b);
    ASSERT_TRUE(r.has_value()) << "queued request " << i << " got no response";
    EXPECT_EQ(r->status, 503) << "queued request " << i;
    ::close(queued[i]);
  }
  std::string buffer;
  auto slow = ReadResponse(slow_fd_, buffer);
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->status, 503);
  ::close(slow_fd_);
}

TEST_F(ShutdownTest, IncompleteRequestIsClosedNotWaitedFor) {
  Start();
  const int fd = Connect(server_->port());
  SendAll(fd, "GET /fast HTTP/1.1\r\nHo");  // never completed
  // A complete request on another connection proves the partial one was read.
  const int other = Connect(server_->port());
  SendAll(other, GetRequest("/fast"));
  std::string buffer;
  ASSERT_TRUE(ReadResponse(other, buffer).has_value());
  std::thread shutdown([&] { server_->server().Shutdown(kCap); });
  // EOF at once; the server then discards what the client still sends (a
  // close could reset the connection) until the client closes.
  EXPECT_EQ(ReadToEof(fd), "");
  ::close(fd);
  shutdown.join();
  ::close(other);
}

// A client that never reads its (large) response cannot hold Shutdown: the
// socket is shut down drain_timeout after the grace period.
TEST_F(ShutdownTest, ClientNotReadingDoesNotHoldShutdown) {
  ServerLimits limits;
  limits.write_timeout = std::chrono::minutes(10);
  limits.drain_timeout = milliseconds(50);
  Start(limits);
  const int fd = Connect(server_->port());
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  SendAll(fd, GetRequest("/big"));
  ASSERT_TRUE(big_started_.WaitFor());
  // The client reads nothing, ever: Shutdown returns all the same, soon after
  // grace + drain_timeout (it would otherwise wait out the 10 min
  // write_timeout).
  const auto start = std::chrono::steady_clock::now();
  server_->server().Shutdown(milliseconds(0));
  EXPECT_LT(std::chrono::steady_clock::now() - start, kCap)
      << "a client that does not read held Shutdown";
  ::close(fd);
}

// A request whose 100 Continue waits for room in the socket is not complete:
// Shutdown closes its connection at once, not when the client reads (or the
// drain ends).
TEST_F(ShutdownTest, RequestWaitingForItsContinueIsNotWaitedFor) {
  ServerLimits limits;
  limits.write_timeout = std::chrono::minutes(10);
  Start(limits);
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/fast"));
  std::string buffer;
  ASSERT_TRUE(ReadResponse(fd, buffer).has_value());
  // Dispatched: the server's accept happens before the test touches the
  // server's socket (as ThreadSanitizer requires).
  ASSERT_EQ(enqueued_.WaitAtLeast(1), 1);
  ASSERT_GT(FillServerEnd(fd), 0u)
      << "the server's end of the connection not filled";
  SendAll(fd,
          "POST /fast HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n"
          "Expect: 100-continue\r\n\r\n");
  ASSERT_TRUE(WaitForWriting(server_->server(), 1))
      << "the 100 Continue did not wait for room";

  const auto start = std::chrono::steady_clock::now();
  server_->server().Shutdown(milliseconds(4000));  // + drain_timeout (1 s)
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(3000))
      << "Shutdown waited for a request that was not complete";
  ::close(fd);
}

TEST_F(ShutdownTest, NewConnectionsAreRefusedAfterShutdown) {
  Start();
  const int port = server_->port();
  server_->server().Shutdown(kCap);
  EXPECT_THROW(Connect(port), std::runtime_error)
      << "a connection was accepted after Shutdown";
}

}  // namespace
}  // namespace ctx::http
