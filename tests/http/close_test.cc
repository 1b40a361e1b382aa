// SPDX-License-Identifier: Apache-2.0
// How the server ends a connection after its last response: never with a RST
// that could destroy the response.

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::Connect;
using testing::Event;
using testing::GetRequest;
using testing::kCap;
using testing::ReadResponse;
using testing::ReadToEof;
using testing::RunningServer;
using testing::SendAll;
using testing::WaitFor;
using testing::WaitForWriting;

// kLarge outgrows the socket buffers, so the response's end is still queued
// in the server when it closes; kPipelined outgrows what the server reads at
// once, so input is still unread when it closes.
constexpr size_t kLarge = 1024 * 1024;
constexpr size_t kPipelined = 200 * 1024;

TEST(CloseTest, UnreadPipelinedInputDoesNotResetTheLastResponse) {
  RunningServer server;
  server.server().Get("/large", [](const Context&, const httplib::Request&,
                                   httplib::Response& res) {
    res.set_content(std::string(kLarge, 'l'), "text/plain");
  });
  server.Start();
  const int fd = Connect(server.port());
  SendAll(fd, GetRequest("/large", {"Connection: close"}));
  // Requests after the last one: the server never reads them as requests.
  std::string more;
  while (more.size() < kPipelined) more += GetRequest("/large");
  std::string_view rest = more;
  while (!rest.empty()) {
    const ssize_t n =
        ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) break;  // the buffers are full: enough is unread
    rest.remove_prefix(static_cast<size_t>(n));
  }
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value())
      << "GET /large with Connection: close and pipelined input after it: "
         "response lost; want all of it";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), kLarge);
  ::close(fd);
}

// kHeld is the body of /held: more than the client's receive window takes
// unread, well within what the server's socket takes at once, so its end is
// still queued in the server when the response is done. kBig is the body of
// /big, more than the socket takes: the loop writes its tail. The client
// leaves the last kKept bytes of it unread, which the socket takes at once.
constexpr size_t kHeld = 256 * 1024;
constexpr size_t kBig = 16 * 1024 * 1024;
constexpr size_t kKept = 256 * 1024;

// Pipelined is what a client sends after the request being answered: a
// request, and one with a body. The server never reads it as requests.
std::string Pipelined() {
  std::string more = GetRequest("/held");
  more += "POST /held HTTP/1.1\r\nHost: test\r\nContent-Length: 65536\r\n\r\n";
  more.append(64 * 1024, 'p');
  return more;
}

// The last response of a connection that must not stay open (the server is
// stopping, or the client half-closed) while input the client pipelined is
// still unread in the server's socket. The client leaves the end of the
// response unread until the server is done with it, so a reset would find
// that end still queued in the server (and turn the client's EOF into
// ECONNRESET).
class CloseAfterLastResponse : public ::testing::Test {
 protected:
  explicit CloseAfterLastResponse(ServerOptions options = {})
      : server_(std::move(options)) {}

  void SetUp() override {
    server_.server().Get(
        "/held", [this](const Context& c, const httplib::Request&,
                        httplib::Response& res) {
          held_.Fire();
          testing::WaitUntilDoneOr(c, release_);
          res.set_content(std::string(kHeld, 'h'), "text/plain");
        });
    server_.server().Get("/big", [](const Context&, const httplib::Request&,
                                    httplib::Response& res) {
      res.set_content(std::string(kBig, 'b'), "text/plain");
    });
    server_.Start();
  }
  void TearDown() override { release_.Fire(); }

  // Ask connects and sends GET `path`; returns the client's fd.
  int Ask(const std::string& path) {
    const int fd = Connect(server_.port());
    SendAll(fd, GetRequest(path));
    return fd;
  }

  // BeginShutdown starts a graceful shutdown on its own thread and waits
  // until the server's one connection knows of it.
  void BeginShutdown() {
    shutdown_ = std::jthread([this] { server_.server().Shutdown(kCap); });
    ASSERT_TRUE(WaitFor([this] {
      return ServerTestPeer::StoppingConnections(server_.server()) == 1;
    })) << "the connection never learned that the server is stopping";
  }

  // ExpectWholeResponseThenEof waits until the server is done with its
  // responses (every open connection lingers; none counts), then reads the
  // rest of the response whose first bytes the client read into `got`,
  // expects all `body_size` bytes of its body, then EOF, and closes `fd`.
  void ExpectWholeResponseThenEof(int fd, std::string got, size_t body_size,
                                  const char* what) {
    ASSERT_TRUE(WaitFor([this] {
      return ServerTestPeer::WatchedConnections(server_.server()) ==
             ServerTestPeer::LingeringConnections(server_.server());
    })) << what
        << ": the server never finished the response";
    int error = 0;
    got += ReadToEof(fd, &error);
    const size_t received = got.size();
    EXPECT_EQ(error, 0) << what << ": after " << received
                        << " bytes the connection ended with "
                        << std::strerror(error) << ", want EOF";
    auto r = ReadResponse(fd, got);
    ASSERT_TRUE(r.has_value())
        << what << ": received " << received << " bytes, want a response with "
        << body_size << " body bytes";
    EXPECT_EQ(r->status, 200) << what;
    EXPECT_EQ(r->body.size(), body_size) << what << ": body bytes";
    EXPECT_EQ(got, "") << what << ": bytes after the response";
    ::close(fd);
  }

  Event held_, release_;  // /held started; /held may answer
  RunningServer server_;
  std::jthread shutdown_;  // joined before server_ is destroyed
};

// A shutdown that begins while the handler runs makes its response the
// connection's last.
TEST_F(CloseAfterLastResponse, ShutdownDuringTheHandlerDoesNotResetIt) {
  const int fd = Ask("/held");
  ASSERT_TRUE(held_.WaitFor()) << "GET /held never started";
  SendAll(fd, Pipelined());  // the loop reads no input while a handler runs
  BeginShutdown();
  release_.Fire();
  ExpectWholeResponseThenEof(fd, "", kHeld,
                             "GET /held answered after a shutdown began");
  shutdown_.join();  // the client's EOF ends the linger
}

// A shutdown that begins while the loop writes a response's tail makes that
// response the connection's last.
TEST_F(CloseAfterLastResponse, ShutdownDuringTheTailDoesNotResetIt) {
  const int fd = Ask("/big");
  ASSERT_TRUE(WaitForWriting(server_.server(), 1))
      << "GET /big: the loop never took its tail";
  SendAll(fd, Pipelined());  // the loop reads no input while it writes
  BeginShutdown();
  // Read all but the last kKept bytes; the loop writes the rest into the
  // socket without further reads.
  std::string got;
  char chunk[64 * 1024];
  while (got.size() < kBig - kKept) {
    const ssize_t n = ::recv(
        fd, chunk, std::min(sizeof(chunk), kBig - kKept - got.size()), 0);
    ASSERT_GT(n, 0) << "GET /big whose tail ended after a shutdown began: "
                       "the connection ended after "
                    << got.size() << " bytes with "
                    << (n < 0 ? std::strerror(errno) : "EOF") << ", want "
                    << kBig << " body bytes";
    got.append(chunk, static_cast<size_t>(n));
  }
  ExpectWholeResponseThenEof(
      fd, std::move(got), kBig,
      "GET /big whose tail ended after a shutdown began");
  shutdown_.join();  // the client's EOF ends the linger
}

// A client that half-closes while the handler runs is gone (its context is
// canceled), but still gets what the handler answers.
TEST_F(CloseAfterLastResponse, HalfCloseDuringTheHandlerDoesNotResetIt) {
  const int fd = Ask("/held");
  ASSERT_TRUE(held_.WaitFor()) << "GET /held never started";
  SendAll(fd, Pipelined());
  ::shutdown(fd, SHUT_WR);
  ExpectWholeResponseThenEof(fd, "", kHeld,
                             "GET /held, then more requests and a FIN");
}

// A connection that waits for its next request when the server ends it (a
// shutdown) while the client has sent part of one, or bytes the server has
// not read yet. The client leaves the previous response unread, so a reset
// would find its end still queued in the server. To keep input unread, the
// test stalls the server's loop in the log record of a rejected request
// (the loop calls the logger for the requests it rejects itself).
class CloseBetweenRequests : public CloseAfterLastResponse {
 protected:
  CloseBetweenRequests() : CloseAfterLastResponse(StallingOptions()) {}

  void TearDown() override {
    unstall_.Fire();
    CloseAfterLastResponse::TearDown();
  }

  // AnswerHeld sends GET /held (answered at once) and what `after` holds in
  // one write, so the loop reads both together, then waits until the
  // response is written and the loop reads the next request. Returns the
  // client's fd.
  int AnswerHeld(const std::string& after) {
    release_.Fire();
    const int fd = Connect(server_.port());
    SendAll(fd, GetRequest("/held") + after);
    EXPECT_TRUE(held_.WaitFor()) << "GET /held never started";
    EXPECT_TRUE(WaitFor([this] {
      return ServerTestPeer::ReadingConnections(server_.server()) == 1;
    })) << "GET /held: the server never went on to the next request";
    return fd;
  }

  // StallLoop makes the server's loop reject a request and block in its log
  // record until unstall_ fires; returns the rejected client's fd.
  int StallLoop() {
    const int fd = Connect(server_.port());
    SendAll(fd, "BAD\r\n\r\n");
    EXPECT_TRUE(stalled_.WaitFor()) << "the loop never rejected BAD";
    return fd;
  }

  Event stalled_, unstall_;  // the loop is in the logger; it may return

 private:
  ServerOptions StallingOptions() {
    ServerOptions options;
    options.logger = [this](const RequestLogRecord& r) {
      if (r.status != 400) return;
      stalled_.Fire();
      (void)unstall_.WaitFor();
    };
    return options;
  }
};

// A shutdown that finds part of the next request read (a pipelined request
// whose body is still on its way) lingers: the rest of the body arrives
// after the server is done, and must not reset the connection.
TEST_F(CloseBetweenRequests, ShutdownWithPartOfARequestDoesNotResetIt) {
  const int fd = AnswerHeld(
      "POST /held HTTP/1.1\r\nHost: test\r\nContent-Length: 65536\r\n\r\n" +
      std::string(1024, 'p'));
  shutdown_ = std::jthread([this] { server_.server().Shutdown(kCap); });
  ASSERT_TRUE(WaitFor([this] {
    return ServerTestPeer::WatchedConnections(server_.server()) ==
           ServerTestPeer::LingeringConnections(server_.server());
  })) << "the shutdown never ended the connection";
  SendAll(fd, std::string(65536 - 1024, 'p'));  // the rest of the body
  ExpectWholeResponseThenEof(
      fd, "", kHeld,
      "GET /held, then part of a POST, a shutdown, and the rest of the POST");
  shutdown_.join();  // the client's EOF ends the linger
}

// A shutdown that finds a request received but not yet read (the loop was
// busy) lingers: a close with unread input would reset the connection.
TEST_F(CloseBetweenRequests, ShutdownWithARequestUnreadDoesNotResetIt) {
  const int fd = AnswerHeld("");
  const int rejected = StallLoop();
  SendAll(fd, GetRequest("/held"));  // the stalled loop cannot read it
  ASSERT_TRUE(WaitFor([fd] {
    int unacked = -1;
    return ::ioctl(fd, TIOCOUTQ, &unacked) == 0 && unacked == 0;
  })) << "the server's socket never received the second GET /held";
  shutdown_ = std::jthread([this] { server_.server().Shutdown(kCap); });
  ASSERT_TRUE(WaitFor(
      [this] { return ServerTestPeer::ShutdownBegun(server_.server()); }));
  unstall_.Fire();  // the loop's next step is the drain
  ExpectWholeResponseThenEof(
      fd, "", kHeld,
      "GET /held, then a shutdown while a second GET /held was unread");
  ReadToEof(rejected);
  ::close(rejected);
  shutdown_.join();  // the clients' EOF ends the lingers
}

}  // namespace
}  // namespace ctx::http
