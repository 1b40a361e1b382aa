// SPDX-License-Identifier: Apache-2.0
// Request framing (RFC 9112) over real loopback sockets: every body is read
// or the connection closed, and no byte after a malformed request is parsed
// as a request. One test per smuggling shape: each hides "GET /order" where a
// server that frames differently from its client would run it.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::Connect;
using testing::Counter;
using testing::FillServerEnd;
using testing::GetRequest;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;
using testing::WaitForWriting;

// kHidden is the request each test hides; its handler must never run.
const std::string kHidden = GetRequest("/order");

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RunningServer>();
    server_->server().Get("/healthz",
                          [this](const Context&, const httplib::Request&,
                                 httplib::Response& res) {
                            gets_.Add();
                            res.set_content("ok", "text/plain");
                          });
    server_->server().Post(
        "/healthz", [](const Context&, const httplib::Request& req,
                       httplib::Response& res) {
          res.set_content("posted " + std::to_string(req.body.size()),
                          "text/plain");
        });
    server_->server().Get("/order",
                          [this](const Context&, const httplib::Request&,
                                 httplib::Response& res) {
                            orders_.Add();
                            res.set_content("ordered", "text/plain");
                          });
    server_->Start();
  }

  // ExpectRejected sends `request` on a new connection: the answer must be
  // `want`, followed by EOF, and the hidden request must not have run.
  void ExpectRejected(const std::string& request, int want) {
    const testing::Answer a = testing::Exchange(server_->port(), request);
    ASSERT_TRUE(a.response.has_value()) << "no response; want " << want;
    EXPECT_EQ(a.response->status, want);
    EXPECT_EQ(a.response->header("connection"), "close");
    EXPECT_EQ(a.after, "")
        << "bytes after the rejection: the connection was not closed";
    EXPECT_EQ(orders_.value(), 0) << "the hidden request ran";
  }

  // ExpectTwoHealthz sends `first` (a /healthz request whose body is
  // kHidden) and a closing /healthz on one connection: exactly two "ok"
  // responses must come back, and the hidden request must not run.
  void ExpectTwoHealthz(const std::string& first) {
    const testing::Answer a = testing::Exchange(
        server_->port(), first + GetRequest("/healthz", {"Connection: close"}));
    ASSERT_TRUE(a.response.has_value()) << "first response missing";
    EXPECT_EQ(a.response->body, "ok");
    EXPECT_EQ(a.after.find("HTTP/1.1 200"), 0u) << "second response missing";
    EXPECT_EQ(a.after.find("HTTP/1.1", 1), std::string::npos)
        << "a third response came: " << a.after;
    EXPECT_EQ(orders_.value(), 0) << "the body ran as a request";
  }

  Counter orders_;
  Counter gets_;  // GET /healthz requests served
  std::unique_ptr<RunningServer> server_;
};

std::string Hex(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%zx", n);
  return buf;
}

// A request httplib itself refuses (it serves no CONNECT) is answered with
// a close that the answer announces: no Keep-Alive promise before the EOF.
TEST_F(FramingTest, RequestHttplibRefusesSaysItCloses) {
  ExpectRejected("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n" + kHidden, 400);
}

TEST_F(FramingTest, ContentLengthBodyOnGetIsReadNotParsed) {
  ExpectTwoHealthz(GetRequest("/healthz", {"Content-Length: " +
                                           std::to_string(kHidden.size())}) +
                   kHidden);
}

TEST_F(FramingTest, ChunkedBodyOnGetIsReadNotParsed) {
  ExpectTwoHealthz(GetRequest("/healthz", {"Transfer-Encoding: chunked"}) +
                   Hex(kHidden.size()) + "\r\n" + kHidden + "\r\n0\r\n\r\n");
}

TEST_F(FramingTest, GarbageLineClosesBeforeTheNextRequest) {
  ExpectRejected("GARBAGE\r\n\r\n" + kHidden, 400);
}

TEST_F(FramingTest, ContentLengthWithTransferEncodingIsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
          kHidden,
      400);
}

TEST_F(FramingTest, DuplicateContentLengthIsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n"
      "Content-Length: " +
          std::to_string(kHidden.size()) + "\r\n\r\n" + kHidden,
      400);
}

TEST_F(FramingTest, ContentLengthListIsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 0, 0\r\n"
      "\r\n" +
          kHidden,
      400);
}

TEST_F(FramingTest, SignedContentLengthIsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: +0\r\n"
      "\r\n" +
          kHidden,
      400);
}

TEST_F(FramingTest, SpaceBeforeColonIsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length : 0\r\n"
      "\r\n" +
          kHidden,
      400);
}

TEST_F(FramingTest, ObsFoldIsRejected) {
  ExpectRejected(
      "GET /healthz HTTP/1.1\r\nHost: test\r\nX-A: a\r\n b\r\n\r\n" + kHidden,
      400);
}

TEST_F(FramingTest, BareLfLineEndIsRejected) {
  ExpectRejected("GET /healthz HTTP/1.1\nHost: test\n\n" + kHidden, 400);
}

TEST_F(FramingTest, ChunkedOnHttp10IsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n" +
          kHidden,
      400);
}

TEST_F(FramingTest, UnknownTransferCodingIsNotImplemented) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\n"
      "Transfer-Encoding: gzip, chunked\r\n\r\n" +
          kHidden,
      501);
}

TEST_F(FramingTest, MalformedChunkSizeIsRejected) {
  ExpectRejected(
      "POST /healthz HTTP/1.1\r\nHost: test\r\n"
      "Transfer-Encoding: chunked\r\n\r\nzz\r\n" +
          kHidden,
      400);
}

TEST_F(FramingTest, MissingHostOnHttp11IsRejected) {
  ExpectRejected("GET /healthz HTTP/1.1\r\n\r\n" + kHidden, 400);
}

TEST_F(FramingTest, UnsupportedVersionIsRejected) {
  ExpectRejected("GET /healthz HTTP/2.0\r\nHost: test\r\n\r\n" + kHidden, 505);
}

TEST_F(FramingTest, Http10KeepAliveTokenIsCaseInsensitive) {
  const int fd = Connect(server_->port());
  SendAll(fd, GetRequest("/healthz", {"connection: keep-alive"}, "HTTP/1.0"));
  std::string buffer;
  auto first = ReadResponse(fd, buffer);
  ASSERT_TRUE(first.has_value());
  SendAll(fd, GetRequest("/healthz", {}, "HTTP/1.0"));
  auto second = ReadResponse(fd, buffer);
  EXPECT_TRUE(second.has_value())
      << "HTTP/1.0 with \"connection: keep-alive\": connection closed after "
         "the first response; want it kept open";
  ::close(fd);
}

TEST_F(FramingTest, AbsoluteFormTargetIsRoutedByItsPath) {
  const testing::Answer a = testing::Exchange(
      server_->port(),
      "GET http://example.com/healthz HTTP/1.1\r\nHost: example.com\r\n"
      "Connection: close\r\n\r\n");
  ASSERT_TRUE(a.response.has_value()) << "no response";
  EXPECT_EQ(a.response->status, 200)
      << "GET http://example.com/healthz: want the /healthz route";
  EXPECT_EQ(a.response->body, "ok");
}

TEST_F(FramingTest, ChunkedPostBodyReachesTheHandler) {
  const int fd = Connect(server_->port());
  SendAll(fd,
          "POST /healthz HTTP/1.1\r\nHost: test\r\n"
          "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n"
          "0\r\nTrailer: t\r\n\r\n" +
              GetRequest("/healthz", {"Connection: close"}));
  std::string buffer;
  auto posted = ReadResponse(fd, buffer);
  ASSERT_TRUE(posted.has_value());
  EXPECT_EQ(posted->body, "posted 5");
  auto next = ReadResponse(fd, buffer);
  ASSERT_TRUE(next.has_value()) << "the request after a chunked one was lost";
  EXPECT_EQ(next->body, "ok");
  ::close(fd);
}

TEST_F(FramingTest, ExpectContinueGetsInterimThenResponse) {
  const int fd = Connect(server_->port());
  SendAll(fd,
          "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n"
          "Expect: 100-continue\r\n\r\n");
  std::string buffer;
  auto interim = ReadResponse(fd, buffer, /*skip_interim=*/false);
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  SendAll(fd, "body");
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "posted 4");
  ::close(fd);
}

// A client that has not read what came before gets the interim response
// whole, after it, and never a cut one: the server waits for room in the
// socket instead of dropping it.
TEST_F(FramingTest, ExpectContinueWaitsForRoomInAFullSocket) {
  const int fd = Connect(server_->port());
  // A request answered first: the server's accept happens before the test
  // touches the server's socket (as ThreadSanitizer requires).
  SendAll(fd, GetRequest("/healthz"));
  std::string buffer;
  ASSERT_TRUE(ReadResponse(fd, buffer).has_value());
  gets_.WaitAtLeast(1);
  const size_t unread = FillServerEnd(fd);
  ASSERT_GT(unread, 0u) << "the server's end of the connection not filled";
  SendAll(fd,
          "POST /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 4\r\n"
          "Expect: 100-continue\r\n\r\n");
  ASSERT_TRUE(WaitForWriting(server_->server(), 1))
      << "the 100 Continue did not wait for room";

  while (buffer.size() < unread) {
    char chunk[64 * 1024];
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    ASSERT_GT(n, 0) << "the filler was not delivered";
    buffer.append(chunk, static_cast<size_t>(n));
  }
  ASSERT_EQ(buffer.substr(0, unread).find_first_not_of('x'), std::string::npos);
  buffer.erase(0, unread);
  SendAll(fd, "body");
  auto interim = ReadResponse(fd, buffer, /*skip_interim=*/false);
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100) << "the interim response was dropped";
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "posted 4");
  ::close(fd);
}

}  // namespace
}  // namespace ctx::http
