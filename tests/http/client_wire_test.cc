// SPDX-License-Identifier: Apache-2.0
// ctx::http::Client on the wire: what a raw TCP server on loopback receives.
// No value from a context or a caller can add a header or a request, and no
// call reads an answer that was not its own.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "ctx/http/client.h"
#include "ctx/propagation.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::Event;
using testing::kCap;

// Listener is a loopback listening socket on an ephemeral port.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// HeaderValues returns the values of every `name` line in a request head
// (names compare case-insensitively).
std::vector<std::string> HeaderValues(std::string_view head,
                                      std::string_view name) {
  std::vector<std::string> out;
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const size_t start = pos + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, end == std::string_view::npos ? end : end - start);
    const size_t colon = line.find(':');
    if (colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.emplace_back(value);
    }
    pos = end;
  }
  return out;
}

// LowerCase returns `s` with ASCII letters in lower case.
std::string LowerCase(std::string s) {
  for (char& ch : s) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return s;
}

// Target returns the request target of a head ("GET /x HTTP/1.1" -> "/x").
std::string Target(std::string_view head) {
  const size_t sp = head.find(' ');
  const size_t sp2 = head.find(' ', sp + 1);
  if (sp == std::string_view::npos || sp2 == std::string_view::npos) return {};
  return std::string(head.substr(sp + 1, sp2 - sp - 1));
}

// RawServer reads requests off the wire the way a strict HTTP/1.1 server
// frames them (head, then Content-Length bytes of body), records every head,
// and answers each with what `respond` returns. One connection at a time,
// which is all a serialized Client needs.
class RawServer {
 public:
  using Respond = std::function<std::string(const std::string& head)>;
  // After runs on the server thread once an answer is sent, with the
  // connection's socket.
  using After = std::function<void(int conn)>;

  explicit RawServer(Respond respond, After after = nullptr)
      : respond_(std::move(respond)), after_(std::move(after)) {
    if (::pipe2(stop_, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2 failed";
    thread_ = std::thread([this] { Run(); });
  }
  ~RawServer() {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  [[nodiscard]] int port() const { return listener_.port(); }
  [[nodiscard]] std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }
  [[nodiscard]] int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

  // Ok answers 200 with the request target as body.
  static std::string Ok(const std::string& head) {
    const std::string body = Target(head);
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  }

 private:
  // WaitReadable waits (at most kCap) for `fd` to turn readable; false when
  // the server is stopping or the wait timed out.
  bool WaitReadable(int fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    const int r = ::poll(fds, 2, static_cast<int>(kCap.count() * 1000));
    return r > 0 && fds[1].revents == 0;
  }

  void Run() {
    while (WaitReadable(listener_.fd())) {
      const int conn =
          ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++connections_;
      }
      Serve(conn);
      ::close(conn);
    }
  }

  void Serve(int conn) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      // Frame every complete request in the buffer.
      for (size_t end; (end = buffer.find("\r\n\r\n")) != std::string::npos;) {
        const std::string head = buffer.substr(0, end + 2);
        size_t body = 0;
        for (const std::string& v : HeaderValues(head, "Content-Length")) {
          body = std::stoul(v);
        }
        if (buffer.size() < end + 4 + body) break;
        buffer.erase(0, end + 4 + body);
        {
          std::lock_guard<std::mutex> lock(mu_);
          heads_.push_back(head);
        }
        const std::string answer = respond_(head);
        if (::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(answer.size())) {
          return;
        }
        if (after_) after_(conn);
      }
      if (!WaitReadable(conn)) return;
      const ssize_t n = ::recv(conn, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }

  Respond respond_;
  After after_;
  Listener listener_;
  int stop_[2] = {-1, -1};
  std::mutex mu_;
  std::vector<std::string> heads_;
  int connections_ = 0;
  std::thread thread_;
};

// A value that would add a header (and, with a blank line, a whole second
// request) if it reached the wire as is.
const std::string kInjection =
    "ok\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\n"
    "GET /smuggled HTTP/1.1\r\nHost: evil";

TEST(ClientWireTest, InvalidRequestIdIsReplacedNotSent) {
  RawServer server(RawServer::Ok);
  Client client("127.0.0.1", server.port());
  Context c = WithValue(Background(), kRequestIdKey, kInjection);
  Result r = client.Get(c, "/one");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  const std::vector<std::string> heads = server.heads();
  ASSERT_EQ(heads.size(), 1u) << "requests the server framed; want 1";
  const std::vector<std::string> ids = HeaderValues(heads[0], "X-Request-Id");
  ASSERT_EQ(ids.size(), 1u) << heads[0];
  EXPECT_TRUE(IsValidRequestId(ids[0])) << "sent id " << LogSafe(ids[0]);
  EXPECT_EQ(ids[0], r.request_id()) << "the id sent vs the id reported";
  EXPECT_TRUE(HeaderValues(heads[0], "X-Injected").empty()) << heads[0];
}

TEST(ClientWireTest, InvalidSessionIsNotSent) {
  RawServer server(RawServer::Ok);
  Client client("127.0.0.1", server.port());
  Context c = WithValue(Background(), kSessionIdKey, kInjection);
  ASSERT_TRUE(client.Get(c, "/one").ok());
  const std::vector<std::string> heads = server.heads();
  ASSERT_EQ(heads.size(), 1u) << "requests the server framed; want 1";
  EXPECT_TRUE(HeaderValues(heads[0], "X-Session-Id").empty()) << heads[0];
  EXPECT_TRUE(HeaderValues(heads[0], "X-Injected").empty()) << heads[0];
}

TEST(ClientWireTest, InjectedValuesSmuggleNoRequestOnKeepAlive) {
  RawServer server(RawServer::Ok);
  Client client("127.0.0.1", server.port());
  client.httplib_client().set_keep_alive(true);
  const std::vector<std::string> paths = {"/one", "/two", "/three", "/four"};
  for (size_t i = 0; i < paths.size(); ++i) {
    Context c = WithValue(Background(), kRequestIdKey, kInjection);
    c = WithValue(c, kSessionIdKey, kInjection);
    Result r = client.Get(c, paths[i]);
    ASSERT_TRUE(r.ok()) << "call " << paths[i] << ": " << r.error().ToString();
    EXPECT_EQ(r->body, paths[i])
        << "call " << paths[i] << " got the answer to " << r->body;
  }
  const std::vector<std::string> heads = server.heads();
  ASSERT_EQ(heads.size(), paths.size()) << "requests the server framed";
  for (size_t i = 0; i < heads.size(); ++i) {
    EXPECT_EQ(Target(heads[i]), paths[i]);
    EXPECT_TRUE(HeaderValues(heads[i], "X-Injected").empty()) << heads[i];
    EXPECT_EQ(HeaderValues(heads[i], "Host").size(), 1u) << heads[i];
  }
  EXPECT_EQ(server.connections(), 1) << "the connection was kept alive";
}

TEST(ClientWireTest, UnsafeRequestBytesFailBeforeConnecting) {
  RawServer server(RawServer::Ok);
  struct Case {
    const char* what;
    std::function<void(httplib::Request&)> spoil;
  };
  const std::vector<Case> cases = {
      {"CR LF in a header value",
       [](httplib::Request& q) { q.headers.emplace("X-Note", kInjection); }},
      {"NUL in a header value",
       [](httplib::Request& q) {
         q.headers.emplace("X-Note", std::string("a\0b", 3));
       }},
      {"a lone LF in a header value",
       [](httplib::Request& q) { q.headers.emplace("X-Note", "a\nb"); }},
      {"CR LF in a header name",
       [](httplib::Request& q) {
         q.headers.emplace("X-Note: a\r\nX-Injected", "yes");
       }},
      {"an empty header name",
       [](httplib::Request& q) { q.headers.emplace("", "yes"); }},
      {"CR LF in the path",
       [](httplib::Request& q) { q.path = "/a\r\nX-Injected: yes"; }},
      {"NUL in the path",
       [](httplib::Request& q) { q.path = std::string("/a\0b", 4); }},
      {"a space in the method",
       [](httplib::Request& q) { q.method = "GET /x HTTP/1.1\r\n"; }},
  };
  Client client("127.0.0.1", server.port());
  for (const Case& k : cases) {
    httplib::Request req;
    req.method = "GET";
    req.path = "/x";
    k.spoil(req);
    Result r = client.Send(Background(), req);
    EXPECT_FALSE(r.ok()) << k.what << ": sent";
    EXPECT_EQ(r.error(), std::errc::invalid_argument)
        << k.what << ": got " << r.error().ToString();
  }
  EXPECT_EQ(server.connections(), 0) << "connections for refused calls";
}

TEST(ClientWireTest, UnsafeClientSettingsFailBeforeConnecting) {
  RawServer server(RawServer::Ok);
  Client client("127.0.0.1", server.port());
  client.httplib_client().set_default_headers({{"X-Note", kInjection}});
  Result r = client.Get(Background(), "/x");
  EXPECT_EQ(r.error(), std::errc::invalid_argument) << r.error().ToString();
  client.httplib_client().set_bearer_token_auth(kInjection);
  client.httplib_client().set_default_headers({});
  r = client.Get(Background(), "/x");
  EXPECT_EQ(r.error(), std::errc::invalid_argument) << r.error().ToString();
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  client.httplib_client().set_bearer_token_auth("");
  client.httplib_client().set_digest_auth(kInjection, "pw");
  r = client.Get(Background(), "/x");
  EXPECT_EQ(r.error(), std::errc::invalid_argument) << r.error().ToString();
#endif
  EXPECT_EQ(server.connections(), 0);
}

TEST(ClientWireTest, FramingHeaderFailsBeforeConnecting) {
  RawServer server(RawServer::Ok);
  Client client("127.0.0.1", server.port());
  // The body is a whole request: a caller's Content-Length: 0 would make the
  // server run it as a second one.
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string value = "0";
  for (const std::string name :
       {"Content-Length", "Transfer-Encoding", "Trailer", "Connection",
        "Keep-Alive", "TE", "Upgrade", "Proxy-Connection", "Expect"}) {
    for (const std::string& spelled : {name, LowerCase(name)}) {
      Result r = client.Post(Background(), "/echo", smuggled, "text/plain",
                             {{spelled, value}});
      EXPECT_EQ(r.error(), std::errc::invalid_argument)
          << "call header " << spelled << ": got " << r.error().ToString();
      EXPECT_NE(r.error().message().find(name), std::string::npos)
          << "call header " << spelled << ": message " << r.error().message();
      client.httplib_client().set_default_headers({{spelled, value}});
      r = client.Get(Background(), "/x");
      client.httplib_client().set_default_headers({});
      EXPECT_EQ(r.error(), std::errc::invalid_argument)
          << "default header " << spelled << ": got " << r.error().ToString();
    }
  }
  EXPECT_EQ(server.connections(), 0) << "connections for refused calls";
  Result r = client.Get(Background(), "/x", {{"Host", "example.test"}});
  ASSERT_TRUE(r.ok()) << "Host is allowed: " << r.error().ToString();
  const std::vector<std::string> heads = server.heads();
  ASSERT_EQ(heads.size(), 1u) << "requests the server framed; want 1";
  EXPECT_EQ(HeaderValues(heads[0], "Host"),
            std::vector<std::string>{"example.test"});
}

// Answer answers 200 with `headers` and `body` as is (no framing added).
std::string Answer(const std::string& headers, const std::string& body) {
  return "HTTP/1.1 200 OK\r\n" + headers + "\r\n" + body;
}

// Chunked frames `body` in chunks of `size` bytes, then the last chunk.
std::string Chunked(const std::string& body, size_t size) {
  std::string out;
  for (size_t i = 0; i < body.size(); i += size) {
    const std::string part = body.substr(i, size);
    char hex[32];
    std::snprintf(hex, sizeof(hex), "%zx\r\n", part.size());
    out += hex + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

// WithLimit is the default options with `max_response_bytes`.
ClientOptions WithLimit(size_t max_response_bytes) {
  ClientOptions options;
  options.max_response_bytes = max_response_bytes;
  return options;
}

TEST(ClientWireTest, EncodedResponseIsNotDecoded) {
  // "hello", gzipped.
  const std::string gzipped(
      "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\xcb\x48\xcd\xc9\xc9\x07"
      "\x00\x86\xa6\x10\x36\x05\x00\x00\x00",
      25);
  RawServer server([&gzipped](const std::string&) {
    return Answer("Content-Encoding: gzip\r\nContent-Length: " +
                      std::to_string(gzipped.size()) + "\r\n",
                  gzipped);
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, gzipped)
      << "body of " << r->body.size() << " bytes; want the 25 bytes sent";
  EXPECT_EQ(r->get_header_value("Content-Encoding"), "gzip");
  const std::vector<std::string> heads = server.heads();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_TRUE(HeaderValues(heads[0], "Accept-Encoding").empty())
      << "the client asked for compression: " << heads[0];
}

TEST(ClientWireTest, ResponseHeaderValuesArriveAsSent) {
  RawServer server([](const std::string&) {
    return "HTTP/1.1 302 Found\r\nLocation: /a%20b\r\nX-Share: 100%\r\n"
           "X-Wide: %u0041\r\nContent-Length: 4\r\n\r\n%41%";
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->get_header_value("Location"), "/a%20b");
  EXPECT_EQ(r->get_header_value("X-Share"), "100%");
  EXPECT_EQ(r->get_header_value("X-Wide"), "%u0041");
  EXPECT_EQ(r->body, "%41%");
}

TEST(ClientWireTest, EncodedContentLengthDoesNotFrameTheBody) {
  // Decoded, "%31%30" would read as 10 and frame the body as ten bytes.
  RawServer server([](const std::string&) {
    return Answer("Content-Length: %31%30\r\n", "0123456789");
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  if (r.ok()) {
    EXPECT_EQ(r->get_header_value("Content-Length"), "%31%30");
    EXPECT_NE(r->body, "0123456789");
  }
}

TEST(ClientWireTest, HeaderValuesAfter100ContinueArriveAsSent) {
  RawServer server([](const std::string&) {
    return "HTTP/1.1 100 Continue\r\n\r\n" +
           Answer("X-Id: a%2Fb\r\nContent-Length: 2\r\n", "ok");
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Id"), "a%2Fb");
  EXPECT_EQ(r->body, "ok");
}

TEST(ClientWireTest, HeaderValuesAfterABareLf100ArriveAsSent) {
  RawServer server([](const std::string&) {
    return "HTTP/1.1 100\n\r\n" +
           Answer("Location: /a%20b\r\nContent-Length: %31%30\r\n",
                  "0123456789");
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  if (r.ok()) {
    EXPECT_EQ(r->get_header_value("Location"), "/a%20b");
    EXPECT_NE(r->body, "0123456789") << "framed by a decoded Content-Length";
  }
}

TEST(ClientWireTest, ResponseAfterA100AndAnyLineIsReadAsSent) {
  // httplib skips the line after a 100 whatever it holds.
  RawServer server([](const std::string&) {
    return "HTTP/1.1 100 Continue\r\nX-Junk: 1\r\n"
           "HTTP/1.1 200 100%\r\nX-Id: a%2Fb\r\nContent-Length: 10\r\n\r\n"
           "a\nb%41xyzw";
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->reason, "100%");
  EXPECT_EQ(r->get_header_value("X-Id"), "a%2Fb");
  EXPECT_EQ(r->body, "a\nb%41xyzw");
}

TEST(ClientWireTest, HeaderNameWithPercentIsKept) {
  RawServer server([](const std::string&) {
    return Answer("X-100%: yes\r\nContent-Length: 2\r\n", "ok");
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->get_header_value("X-100%"), "yes");
}

TEST(ClientWireTest, ConnectResponseValuesArriveAsSent) {
  // The first line fails httplib's status pattern, which CONNECT tolerates:
  // the lines after it are read as headers.
  RawServer server([](const std::string&) {
    return std::string(
        "HTTP/1.1 100 x\ry\r\nLocation: /a%20b\r\nX-Id: a%2Fb\r\n\r\n");
  });
  Client client("127.0.0.1", server.port());
  httplib::Request req;
  req.method = "CONNECT";
  req.path = "/x";
  Result r = client.Send(Background(), req);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->get_header_value("Location"), "/a%20b");
  EXPECT_EQ(r->get_header_value("X-Id"), "a%2Fb");
}

TEST(ClientWireTest, HugeStatusLineFailsTheCall) {
  // httplib's status pattern recursed once per byte: 400 KB took the stack.
  RawServer server([](const std::string&) {
    return "HTTP/1.1 200 " + std::string(400'000, 'a') +
           "\r\nContent-Length: 2\r\n\r\nok";
  });
  Client client("127.0.0.1", server.port());
  Result r = client.Get(Background(), "/x");
  EXPECT_FALSE(r.ok());
}

TEST(ClientWireTest, ResponseLargerThanLimitFails) {
  RawServer server([](const std::string&) {
    return Answer("Content-Length: 1001\r\n", std::string(1001, 'x'));
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  Result r = client.Get(Background(), "/x");
  EXPECT_FALSE(r.ok()) << "kept a body of " << r->body.size() << " bytes";
  EXPECT_EQ(r.error(), std::errc::message_size) << r.error().ToString();
}

TEST(ClientWireTest, AnnouncedLengthLargerThanLimitFailsBeforeBody) {
  // The server announces a terabyte and sends none of it.
  RawServer server([](const std::string&) {
    return Answer("Content-Length: 1000000000000\r\n", "");
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  auto [c, cancel] = WithTimeout(Background(), kCap);
  Result r = client.Get(c, "/x");
  EXPECT_EQ(r.error(), std::errc::message_size)
      << "got " << r.error().ToString() << "; want the failure before the body";
}

TEST(ClientWireTest, ChunkedResponseLargerThanLimitFails) {
  RawServer server([](const std::string&) {
    return Answer("Transfer-Encoding: chunked\r\n",
                  Chunked(std::string(1001, 'x'), 100));
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  Result r = client.Get(Background(), "/x");
  EXPECT_FALSE(r.ok()) << "kept a body of " << r->body.size() << " bytes";
  EXPECT_EQ(r.error(), std::errc::message_size) << r.error().ToString();
}

TEST(ClientWireTest, UnframedResponseLargerThanLimitFails) {
  // No length: the body runs to EOF, which never comes while the client
  // reads.
  RawServer server(
      [](const std::string&) { return Answer("", std::string(1001, 'x')); });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  auto [c, cancel] = WithTimeout(Background(), kCap);
  Result r = client.Get(c, "/x");
  EXPECT_EQ(r.error(), std::errc::message_size) << r.error().ToString();
}

// A head that never ends (one header line without CRLF, 2 MiB and more) is
// bounded by the same option, with 1 MiB of room for a head.
TEST(ClientWireTest, EndlessResponseHeadFails) {
  RawServer server([](const std::string&) {
    return "HTTP/1.1 200 OK\r\nX-Endless: " + std::string(size_t{2} << 20, 'a');
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  auto [c, cancel] = WithTimeout(Background(), kCap);
  Result r = client.Get(c, "/x");
  EXPECT_EQ(r.error(), std::errc::message_size) << r.error().ToString();
}

// A response without a body (to HEAD, or 204) may announce a length past the
// limit: it is not what this call reads.
TEST(ClientWireTest, BodylessResponseAnnouncingMoreThanLimitIsKept) {
  RawServer server([](const std::string& head) {
    return head.rfind("HEAD", 0) == 0 ? Answer("Content-Length: 5000\r\n", "")
                                      : std::string(
                                            "HTTP/1.1 204 No Content\r\n"
                                            "Content-Length: 5000\r\n\r\n");
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  Result head = client.Head(Background(), "/x");
  ASSERT_TRUE(head.ok()) << "HEAD: " << head.error().ToString();
  EXPECT_EQ(head->get_header_value("Content-Length"), "5000");
  Result get = client.Get(Background(), "/x");
  ASSERT_TRUE(get.ok()) << "204: " << get.error().ToString();
  EXPECT_EQ(get->status, 204);
}

TEST(ClientWireTest, ResponseAtLimitIsKept) {
  const std::string body(1000, 'x');
  bool chunked = false;
  RawServer server([&](const std::string&) {
    return std::exchange(chunked, true)
               ? Answer("Transfer-Encoding: chunked\r\n", Chunked(body, 300))
               : Answer("Content-Length: 1000\r\n", body);
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  for (const char* framing : {"Content-Length", "chunked"}) {
    Result r = client.Get(Background(), "/x");
    ASSERT_TRUE(r.ok()) << framing << ": " << r.error().ToString();
    EXPECT_EQ(r->body.size(), 1000u) << framing;
  }
}

TEST(ClientWireTest, ConnectionOfResponseLargerThanLimitIsNotReused) {
  int answered = 0;
  RawServer server([&answered](const std::string& head) {
    if (answered++ == 0) {
      return Answer("Transfer-Encoding: chunked\r\n",
                    Chunked(std::string(2000, 'x'), 500));
    }
    return RawServer::Ok(head);
  });
  Client client("127.0.0.1", server.port(), WithLimit(1000));
  client.httplib_client().set_keep_alive(true);
  Result r = client.Get(Background(), "/one");
  EXPECT_EQ(r.error(), std::errc::message_size) << r.error().ToString();
  r = client.Get(Background(), "/two");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "/two") << "the second call read the rest of the first";
  EXPECT_EQ(server.connections(), 2) << "the failed connection was reused";
}

TEST(ClientWireTest, UnencodedPathWithSpaceFails) {
  RawServer server(RawServer::Ok);
  Client client("127.0.0.1", server.port());
  client.httplib_client().set_url_encode(false);
  Result r = client.Get(Background(), "/a?b=c%20d");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "/a?b=c%20d");
  r = client.Get(Background(), "/a b");
  EXPECT_EQ(r.error(), std::errc::invalid_argument)
      << "a space in a path sent unencoded: " << r.error().ToString();
}

TEST(ClientWireTest, StrayResponseAnswersNoLaterCall) {
  // The first answer carries a second, unrequested response behind it.
  int answered = 0;
  RawServer server([&answered](const std::string& head) {
    std::string out = RawServer::Ok(head);
    if (answered++ == 0) {
      out += "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled";
    }
    return out;
  });
  Client client("127.0.0.1", server.port());
  client.httplib_client().set_keep_alive(true);
  for (const std::string path : {"/one", "/two", "/three"}) {
    Result r = client.Get(Background(), path);
    ASSERT_TRUE(r.ok()) << "call " << path << ": " << r.error().ToString();
    EXPECT_EQ(r->body, path) << "call " << path << " got another's answer";
  }
  EXPECT_EQ(server.connections(), 2)
      << "the connection with stray bytes was replaced, the next kept";
}

// WaitAcked waits (bounded) until the peer has acknowledged every byte sent
// on `conn`: they are then in its receive queue.
bool WaitAcked(int conn) {
  for (int i = 0; i < 100'000; ++i) {
    int unacked = 0;
    if (::ioctl(conn, SIOCOUTQ, &unacked) != 0) return false;
    if (unacked == 0) return true;
    std::this_thread::yield();
  }
  return false;
}

TEST(ClientWireTest, StrayResponseArrivingWhileIdleAnswersNoLaterCall) {
  // After the first answer, once the first call has returned, the server
  // sends a response nobody asked for on the idle kept-alive connection.
  Event first_returned, stray_sent;
  bool first = true;
  RawServer server(RawServer::Ok, [&](int conn) {
    if (!std::exchange(first, false)) return;
    if (!first_returned.WaitFor()) return;
    testing::SendAll(conn,
                     "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled");
    if (WaitAcked(conn)) stray_sent.Fire();
  });
  Client client("127.0.0.1", server.port());
  client.httplib_client().set_keep_alive(true);
  Result r = client.Get(Background(), "/one");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "/one");
  first_returned.Fire();
  ASSERT_TRUE(stray_sent.WaitFor()) << "the stray response was not delivered";
  r = client.Get(Background(), "/two");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "/two") << "the second call got the stray answer";
  EXPECT_EQ(server.connections(), 2) << "the idle connection was replaced";
}

TEST(ClientWireTest, CancelAbortsCallWhileSendingBody) {
  // A server that never reads: the kernel buffers what it can, then the
  // client blocks sending.
  Listener listener;
  const int small = 64 << 10;
  ::setsockopt(listener.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  Client client("127.0.0.1", listener.port());
  // Small socket buffers: the body cannot all be taken by the kernel.
  client.httplib_client().set_socket_options([small](socket_t fd) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  });
  auto [c, cancel] = WithCancel(Background());
  const std::string body(8 << 20, 'x');
  auto call = std::async(std::launch::async, [&client, &body, c = c] {
    return client.Post(c, "/upload", body, "application/octet-stream");
  });
  const int wait = static_cast<int>(kCap.count() * 1000);
  pollfd p{listener.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, wait), 1) << "the client never connected";
  const int conn = ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  // The first bytes are here: the client is sending, and 8 MiB cannot fit.
  p = {conn, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, wait), 1) << "the client never sent";
  cancel();
  ASSERT_EQ(call.wait_for(kCap), std::future_status::ready)
      << "the call did not end after cancel";
  Result r = call.get();
  EXPECT_TRUE(r.canceled()) << r.error().ToString();
  ::close(conn);
}

}  // namespace
}  // namespace ctx::http
