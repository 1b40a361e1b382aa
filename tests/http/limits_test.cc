// SPDX-License-Identifier: Apache-2.0
// ServerLimits: each limit answers with its status and closes, and the
// defaults leave ordinary requests alone.

#include <gtest/gtest.h>
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
using testing::ReadToEof;
using testing::RunningServer;
using testing::SendAll;

class LimitsTest : public ::testing::Test {
 protected:
  void Start(ServerLimits limits) {
    ServerOptions options;
    options.limits = limits;
    server_ = std::make_unique<RunningServer>(std::move(options));
    server_->server().Get("/x", [this](const Context&, const httplib::Request&,
                                       httplib::Response& res) {
      calls_.Add();
      res.set_content("x", "text/plain");
    });
    server_->server().Post(
        "/x", [this](const Context&, const httplib::Request& req,
                     httplib::Response& res) {
          calls_.Add();
          res.set_content(std::to_string(req.body.size()), "text/plain");
        });
    server_->Start();
  }

  // ExpectAnswer sends `request` on a new connection: the answer must be
  // `want` followed by EOF, and no handler may have run.
  void ExpectAnswer(const std::string& request, int want) {
    const testing::Answer a = testing::Exchange(server_->port(), request);
    ASSERT_TRUE(a.response.has_value()) << "no response; want " << want;
    EXPECT_EQ(a.response->status, want);
    EXPECT_EQ(a.after, "") << "connection not closed";
    EXPECT_EQ(calls_.value(), 0) << "the handler ran";
  }

  // HoldTwoThenExpectRefused holds a connection from each of `first` and
  // `second`, then expects one more, from `third`, to be refused.
  void HoldTwoThenExpectRefused(const char* first, const char* second,
                                const char* third);

  // StartWithBodyBudgetHeld starts a server whose bodies may hold 10000
  // bytes and returns a connection whose body (`declared` bytes, `sent` of
  // them sent) holds part of it.
  int StartWithBodyBudgetHeld(size_t declared, size_t sent);

  Counter calls_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(LimitsTest, LongRequestLineGets414) {
  ServerLimits limits;
  limits.max_request_line = 100;
  Start(limits);
  ExpectAnswer(GetRequest("/x?" + std::string(200, 'a')), 414);
}

TEST_F(LimitsTest, HeaderBytesOverLimitGet431) {
  ServerLimits limits;
  limits.max_header_bytes = 1024;
  Start(limits);
  std::vector<std::string> headers;
  for (int i = 0; i < 20; ++i) {
    headers.push_back("X-H" + std::to_string(i) + ": " + std::string(60, 'v'));
  }
  ExpectAnswer(GetRequest("/x", headers), 431);
}

TEST_F(LimitsTest, HeaderCountOverLimitGets431) {
  ServerLimits limits;
  limits.max_header_count = 5;
  Start(limits);
  std::vector<std::string> headers;
  for (int i = 0; i < 6; ++i)
    headers.push_back("X-H" + std::to_string(i) + ": v");
  ExpectAnswer(GetRequest("/x", headers), 431);
}

// The answer comes while the line is still arriving: it was never buffered
// whole.
TEST_F(LimitsTest, HugeHeaderLineGets431BeforeItEnds) {
  Start(ServerLimits{});
  ExpectAnswer("GET /x HTTP/1.1\r\nHost: test\r\nX-Big: " +
                   std::string(100 * 1024, 'a'),  // no CRLF, ever
               431);
}

// httplib parses every line again, with a limit of 8192 bytes counting the
// CRLF: a longer line must get our answer, not httplib's 400.
TEST_F(LimitsTest, HeaderLineOverHttplibsLimitGets431) {
  Start(ServerLimits{});
  // 8191 bytes before its CRLF: one more than httplib takes.
  const std::string line = "X-Big: " + std::string(8191 - 7, 'a');
  ExpectAnswer(GetRequest("/x", {line}), 431);
}

TEST_F(LimitsTest, BodyOverLimitGets413WithoutReadingIt) {
  ServerLimits limits;
  limits.max_body_bytes = 10;
  Start(limits);
  ExpectAnswer("POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\n",
               413);
}

TEST_F(LimitsTest, ChunkedBodyOverLimitGets413) {
  ServerLimits limits;
  limits.max_body_bytes = 10;
  Start(limits);
  ExpectAnswer(
      "POST /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n",
      413);
}

TEST_F(LimitsTest, BodyAtLimitIsServed) {
  ServerLimits limits;
  limits.max_body_bytes = 10;
  Start(limits);
  const testing::Answer a = testing::Exchange(
      server_->port(),
      "POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n"
      "Connection: close\r\n\r\n0123456789");
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->status, 200);
  EXPECT_EQ(a.response->body, "10");
}

// Post is a POST /x that declares `declared` body bytes and sends `sent`.
std::string Post(size_t declared, size_t sent) {
  return "POST /x HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
         "Content-Length: " +
         std::to_string(declared) + "\r\n\r\n" + std::string(sent, 'a');
}

TEST_F(LimitsTest, BodyPastTheServersBodyBudgetGets503) {
  ServerLimits limits;
  limits.max_body_bytes = 100;
  limits.max_buffered_body_bytes = 100;
  Start(limits);
  const auto held = [this] {
    return ServerTestPeer::BufferedBodyBytes(server_->server());
  };
  // A slow client's body holds its buffer, here its whole declared length
  // (a buffer never grows past it).
  const int slow = Connect(server_->port());
  SendAll(slow, Post(80, 70));
  ASSERT_TRUE(testing::WaitFor([&] { return held() == 80; }))
      << "held: " << held();
  ExpectAnswer(Post(40, 40), 503);
  EXPECT_EQ(held(), 80u) << "the refused body still holds some";
  // Once the slow request is served, its memory goes back.
  SendAll(slow, std::string(10, 'a'));
  std::string buffer;
  auto r = ReadResponse(slow, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "80");
  ::close(slow);
  ASSERT_TRUE(testing::WaitFor([&] { return held() == 0; }))
      << "held: " << held();
  const testing::Answer a = testing::Exchange(server_->port(), Post(40, 40));
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->status, 200);
}

// Bodies' bytes past their first 64 KiB cannot take the reserve kept for
// small ones: while two slow clients hold large bodies, a small request is
// still served.
TEST_F(LimitsTest, SmallBodyIsServedWhileLargeBodiesHoldTheirShare) {
  ServerLimits limits;
  limits.max_body_bytes = 256 * 1024;
  limits.max_buffered_body_bytes = 512 * 1024;
  limits.max_connections = 4;  // a reserve of 4 x 64 KiB: half the budget
  limits.body_timeout = std::chrono::seconds(5);
  Start(limits);
  const auto held = [this] {
    return ServerTestPeer::BufferedBodyBytes(server_->server());
  };
  // 200 KiB sent of 256: a room of up to 256 KiB, up to 192 KiB of it past
  // its first 64 KiB, of the large bodies' share of 256 KiB.
  const int first = Connect(server_->port());
  SendAll(first, Post(256 * 1024, 200 * 1024));
  ASSERT_TRUE(testing::WaitFor([&] { return held() > 200 * 1024; }))
      << "held: " << held();
  // A second large body is refused once its bytes past 64 KiB would pass
  // the share.
  const int second = Connect(server_->port());
  SendAll(second, Post(256 * 1024, 200 * 1024));
  std::string buffer;
  auto r = ReadResponse(second, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  const testing::Answer a =
      testing::Exchange(server_->port(), Post(60 * 1024, 60 * 1024));
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->status, 200) << "a small body was refused";
  ::close(second);
  ::close(first);
}

// A body that would need more than the large bodies' share (plus its first
// 64 KiB) can never fit without taking the small bodies' reserve: 413, even
// within max_body_bytes.
TEST_F(LimitsTest, BodyPastTheLargeBodiesShareGets413) {
  ServerLimits limits;
  limits.max_body_bytes = 512 * 1024;
  limits.max_buffered_body_bytes = 512 * 1024;
  limits.max_connections = 4;  // a reserve of 256 KiB: a share of 256 KiB
  Start(limits);
  ExpectAnswer(Post(400 * 1024, 0), 413);
}

int LimitsTest::StartWithBodyBudgetHeld(size_t declared, size_t sent) {
  ServerLimits limits;
  limits.max_body_bytes = 10'000;
  limits.max_buffered_body_bytes = 10'000;
  Start(limits);
  const int fd = Connect(server_->port());
  SendAll(fd, Post(declared, sent));
  EXPECT_TRUE(testing::WaitFor([this] {
    return ServerTestPeer::BufferedBodyBytes(server_->server()) > 0;
  }));
  return fd;
}

// A declared length takes nothing of the budget: the buffer grows as the
// bytes arrive.
TEST_F(LimitsTest, DeclaredBodyLengthTakesNoBodyBudget) {
  const int promise = StartWithBodyBudgetHeld(10'000, 1);
  const testing::Answer a =
      testing::Exchange(server_->port(), Post(5'000, 5'000));
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->status, 200);
  ::close(promise);
}

// A client that asks first (Expect: 100-continue) is refused before it
// sends a body that would not fit.
TEST_F(LimitsTest, ExpectContinueThatDoesNotFitGets503WithoutContinue) {
  const int slow = StartWithBodyBudgetHeld(8'000, 100);
  const int asking = Connect(server_->port());
  SendAll(asking,
          "POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 8000\r\n"
          "Expect: 100-continue\r\n\r\n");
  std::string buffer;
  auto r = ReadResponse(asking, buffer, /*skip_interim=*/false);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  ::close(asking);
  ::close(slow);
}

TEST_F(LimitsTest, BodyLargerThanTheBodyBudgetGets413) {
  ServerLimits limits;
  limits.max_body_bytes = 100;
  limits.max_buffered_body_bytes = 50;
  Start(limits);
  ExpectAnswer(Post(60, 60), 413);
}

// An encoded body's decoded size is known only by decoding it all, so it
// cannot be held to max_body_bytes: such a body is refused unread.
TEST_F(LimitsTest, EncodedBodyIsRefusedWith415) {
  ServerLimits limits;
  limits.max_body_bytes = 100;
  Start(limits);
  // gzip of 1000 'a' bytes: 29 bytes as sent.
  constexpr char kGzip[] =
      "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x4b\x4c\x1c\x05\xa3\x60\x14"
      "\x0c\x77\x00\x00\x03\xda\x38\x9a\xe8\x03\x00\x00";
  const std::string body(kGzip, sizeof(kGzip) - 1);
  ExpectAnswer(
      "POST /x HTTP/1.1\r\nHost: test\r\nContent-Encoding: gzip\r\n"
      "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body,
      415);
}

TEST_F(LimitsTest, IdentityEncodingIsAccepted) {
  Start(ServerLimits{});
  const testing::Answer a = testing::Exchange(
      server_->port(),
      "POST /x HTTP/1.1\r\nHost: test\r\nContent-Encoding: Identity \r\n"
      "Content-Length: 3\r\nConnection: close\r\n\r\nabc");
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->status, 200) << "Content-Encoding: Identity";
  EXPECT_EQ(a.response->body, "3");
}

TEST_F(LimitsTest, HeadNotCompleteInTimeGets408) {
  ServerLimits limits;
  limits.head_timeout = milliseconds(100);
  Start(limits);
  ExpectAnswer("GET /x HTTP/1.1\r\nHost: te", 408);  // and nothing more
}

TEST_F(LimitsTest, BodyNotCompleteInTimeGets408) {
  ServerLimits limits;
  limits.body_timeout = milliseconds(100);
  Start(limits);
  ExpectAnswer("POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nab",
               408);
}

TEST_F(LimitsTest, IdleConnectionIsClosedSilently) {
  ServerLimits limits;
  limits.idle_timeout = milliseconds(100);
  Start(limits);
  const int fd = Connect(server_->port());
  EXPECT_EQ(ReadToEof(fd), "") << "an idle connection got bytes";
  ::close(fd);
}

TEST_F(LimitsTest, IdleKeepAliveConnectionIsClosedAfterItsResponse) {
  ServerLimits limits;
  // Counted from the accept too: long enough that a stalled test thread
  // still sends its request in time.
  limits.idle_timeout = milliseconds(1000);
  Start(limits);
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/x"));
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(buffer + ReadToEof(fd), "");
  ::close(fd);
}

// Held is a connection the server has accepted and answered once, so it
// counts as open; -1 if it got no answer.
int Held(int port, const char* from) {
  const int fd = Connect(port, from);
  SendAll(fd, GetRequest("/x"));
  std::string buffer;
  if (!ReadResponse(fd, buffer).has_value()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// ExpectRefused connects from `from`: the answer must be 503, then EOF.
void ExpectRefused(int port, const char* from) {
  const int fd = Connect(port, from);
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  const std::string after = r.has_value() ? buffer + ReadToEof(fd) : "";
  ::close(fd);
  ASSERT_TRUE(r.has_value()) << "the extra connection got no answer";
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(after, "") << "the connection was not closed";
}

void LimitsTest::HoldTwoThenExpectRefused(const char* first, const char* second,
                                          const char* third) {
  const int held[2] = {Held(server_->port(), first),
                       Held(server_->port(), second)};
  EXPECT_GE(held[0], 0);
  EXPECT_GE(held[1], 0);
  if (held[0] >= 0 && held[1] >= 0) ExpectRefused(server_->port(), third);
  for (int h : held) {
    if (h >= 0) ::close(h);
  }
}

TEST_F(LimitsTest, ConnectionBeyondMaximumGets503AndClose) {
  ServerLimits limits;
  limits.max_connections = 2;
  Start(limits);
  HoldTwoThenExpectRefused("127.0.0.1", "127.0.0.2", "127.0.0.3");
}

TEST_F(LimitsTest, ConnectionBeyondOneAddressesMaximumGets503AndClose) {
  ServerLimits limits;
  limits.max_connections_per_ip = 2;
  Start(limits);
  HoldTwoThenExpectRefused("127.0.0.1", "127.0.0.1", "127.0.0.1");
}

TEST_F(LimitsTest, OneAddressesMaximumLeavesOtherAddressesAlone) {
  ServerLimits limits;
  limits.max_connections_per_ip = 1;
  Start(limits);
  const int held = Held(server_->port(), "127.0.0.1");
  ASSERT_GE(held, 0);
  const int other = Held(server_->port(), "127.0.0.2");
  EXPECT_GE(other, 0) << "another address was refused";
  if (other >= 0) ::close(other);
  ::close(held);
}

TEST_F(LimitsTest, ClosedConnectionFreesItsAddressesSlot) {
  ServerLimits limits;
  limits.max_connections_per_ip = 1;
  Start(limits);
  const int held = Held(server_->port(), "127.0.0.1");
  ASSERT_GE(held, 0);
  ::close(held);
  // The server counts the connection closed once it reads the EOF: until
  // then a new one may still be refused.
  const auto give_up = std::chrono::steady_clock::now() + testing::kCap;
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < give_up) {
    const int fd = Connect(server_->port(), "127.0.0.1");
    SendAll(fd, GetRequest("/x"));
    std::string buffer;
    auto r = ReadResponse(fd, buffer);
    ::close(fd);
    status = r.has_value() ? r->status : 0;
    if (status != 200) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(status, 200)
      << "the address stayed full after its connection closed";
}

TEST_F(LimitsTest, LastRequestOfAConnectionSaysClose) {
  ServerLimits limits;
  limits.max_requests_per_connection = 2;
  Start(limits);
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/x") + GetRequest("/x"));
  std::string buffer;
  auto first = ReadResponse(fd, buffer);
  ASSERT_TRUE(first.has_value());
  EXPECT_NE(first->header("connection"), "close");
  auto second = ReadResponse(fd, buffer);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->header("connection"), "close");
  EXPECT_EQ(buffer + ReadToEof(fd), "");
  ::close(fd);
}

TEST_F(LimitsTest, KeepAliveHeaderStatesTheServersLimits) {
  ServerLimits limits;
  limits.idle_timeout = milliseconds(2'500);
  limits.max_requests_per_connection = 7;
  Start(limits);
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/x"));
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->header("keep-alive"), "timeout=2, max=7")
      << "idle_timeout 2.5 s, max_requests_per_connection 7";
  ::close(fd);
}

}  // namespace
}  // namespace ctx::http
