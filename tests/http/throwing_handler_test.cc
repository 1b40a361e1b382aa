// SPDX-License-Identifier: Apache-2.0
// What a client gets from a handler that throws (ctx/http/status.h): a plain
// 500 that says nothing of the exception, whatever the handler had set; the
// request's context ends, the exception is logged, the connection stays
// usable, and set_exception_handler still decides when it is set. A response
// step that throws outside the handler closes its connection and no more.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::GetRequest;
using testing::LogCapture;
using testing::RawResponse;
using testing::RunningServer;

constexpr char kSecret[] = "password=hunter2";

class ThrowingHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.logger = log_.Logger();
    server_ = std::make_unique<RunningServer>(std::move(options));
    Server& s = server_->server();
    s.Get("/context", [this](const Context& c, const httplib::Request&,
                             httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_ = c;
      }
      res.set_content(std::string("half-built ") + kSecret, "text/plain");
      throw std::runtime_error(std::string("db: ") + kSecret + "\r\nX-Evil: 1");
    });
    s.Get("/plain", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string("half-built ") + kSecret, "text/plain");
      throw 42;
    });
    s.Get("/gave-up-half-built",
          [this](const Context& c, const httplib::Request&,
                 httplib::Response& res) {
            res.set_content(std::string("half-built ") + kSecret, "text/plain");
            started_.Fire();
            c.Done().Wait();
            throw std::runtime_error("gave up half way");
          });
    s.Get("/gave-up",
          [](const Context& c, const httplib::Request&, httplib::Response&) {
            c.Done().Wait();
            throw std::system_error(c.Err());
          });
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
  }

  // Get sends `request` and then GET /ok on one connection and reads both
  // responses; the second must be /ok's (the 500 was framed, and the
  // connection kept).
  RawResponse Get(const std::string& request) {
    const auto r =
        testing::ExchangeMany(server_->port(), request + GetRequest("/ok"), 2);
    EXPECT_EQ(r.size(), 2u) << "a response is missing";
    if (r.size() == 2) {
      EXPECT_EQ(r[1].body, "ok") << "the connection did not go on";
    }
    return r.empty() ? RawResponse{} : r[0];
  }

  // ExpectPlain500 checks that `r` is the server's plain 500.
  static void ExpectPlain500(const RawResponse& r) {
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, "internal server error\n");
    EXPECT_EQ(r.headers.count("exception_what"), 0u);
    EXPECT_EQ(r.headers.count("x-evil"), 0u);
    for (const auto& [name, value] : r.headers) {
      EXPECT_EQ(value.find("hunter2"), std::string::npos) << name;
    }
  }

  LogCapture log_;
  std::unique_ptr<RunningServer> server_;
  std::mutex mu_;
  std::optional<Context> seen_;
  testing::Event started_;
};

TEST_F(ThrowingHandlerTest, ContextHandlerClientGetsAPlain500) {
  server_->Start();
  const RawResponse r =
      Get(GetRequest("/context", {"X-Request-Id: thrown-request-1"}));
  ExpectPlain500(r);
  EXPECT_EQ(r.header("x-request-id"), "thrown-request-1");
}

TEST_F(ThrowingHandlerTest, PlainHandlerClientGetsAPlain500) {
  server_->Start();
  const RawResponse r = Get(GetRequest("/plain"));
  ExpectPlain500(r);
  EXPECT_EQ(r.headers.count("x-request-id"), 0u);
}

TEST_F(ThrowingHandlerTest, ContextHandlersExceptionIsLoggedLogSafe) {
  server_->Start();
  Get(GetRequest("/context", {"X-Request-Id: thrown-request-2"}));
  const auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 500);
  EXPECT_EQ(records[0].request_id, "thrown-request-2");
  EXPECT_EQ(records[0].path, "/context");
  EXPECT_NE(records[0].reason.find(kSecret), std::string::npos)
      << records[0].reason;
  EXPECT_EQ(records[0].reason.find_first_of("\r\n"), std::string::npos)
      << "an exception's text reached the log with its line breaks";
}

TEST_F(ThrowingHandlerTest, ContextEndsWithTheRequest) {
  server_->Start();
  Get(GetRequest("/context", {"X-Request-Timeout: 600000"}));
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_TRUE(seen_.has_value());
  EXPECT_EQ(seen_->Err(), Errc::kCanceled)
      << "the context (and its 10-minute timer) outlived the request";
}

TEST_F(ThrowingHandlerTest, ThrowOnceTheContextEndedIsAnsweredForTheContext) {
  server_->Start();
  const RawResponse r = Get(GetRequest("/gave-up", {"X-Request-Timeout: 20"}));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, "deadline exceeded\n");
  EXPECT_EQ(r.header("x-ctx-deadline-exceeded"), "1");
  const auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 504);
}

TEST_F(ThrowingHandlerTest, HalfClosedClientOfAHandlerThatThrewGetsNothing) {
  server_->Start();
  const int fd = testing::Connect(server_->port());
  testing::SendAll(fd, GetRequest("/gave-up-half-built"));
  ASSERT_TRUE(started_.WaitFor());
  ::shutdown(fd, SHUT_WR);  // the client goes: the handler gives up, throwing
  EXPECT_EQ(testing::ReadToEof(fd), "")
      << "a thrown handler's half-built response was written";
  ::close(fd);
}

TEST_F(ThrowingHandlerTest, SetExceptionHandlerDecidesTheAnswer) {
  server_->server().set_exception_handler([](const httplib::Request&,
                                             httplib::Response& res,
                                             const std::exception_ptr&) {
    res.status = 418;
    res.set_content("teapot", "text/plain");
  });
  server_->Start();
  const RawResponse r = Get(GetRequest("/plain"));
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, "teapot");
}

// Response steps httplib runs outside its handler's try: a throw there closes
// the connection (the response may be cut anywhere), and the server goes on.
class ThrowingResponseStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.logger = log_.Logger();
    server_ = std::make_unique<RunningServer>(std::move(options));
    server_->server().Get("/ok",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.set_content("ok", "text/plain");
                          });
  }

  // ExpectClosedThenServed sends GET `path` and expects the connection to
  // close without a whole response, a logged 500, and then /ok to be served.
  void ExpectClosedThenServed(const std::string& path) {
    const testing::Answer a =
        testing::Exchange(server_->port(), GetRequest(path));
    EXPECT_FALSE(a.response.has_value() && a.response->status == 200 &&
                 a.response->body == "0123456789")
        << "a whole response";
    const auto records = log_.records();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].status, 500);
    EXPECT_NE(records[0].reason.find("step threw"), std::string::npos)
        << records[0].reason;
    const testing::Answer next =
        testing::Exchange(server_->port(), GetRequest("/ok"));
    ASSERT_TRUE(next.response.has_value()) << "the server stopped serving";
    EXPECT_EQ(next.response->body, "ok");
  }

  LogCapture log_;
  std::unique_ptr<RunningServer> server_;
};

TEST_F(ThrowingResponseStepTest, ContentProviderThatThrowsClosesTheConnection) {
  server_->server().Get(
      "/p", [](const httplib::Request&, httplib::Response& res) {
        res.set_content_provider(
            10, "text/plain", [](size_t, size_t, httplib::DataSink&) -> bool {
              throw std::runtime_error("step threw");
            });
      });
  server_->Start();
  ExpectClosedThenServed("/p");
}

TEST_F(ThrowingResponseStepTest,
       PostRoutingHandlerThatThrowsClosesTheConnection) {
  server_->server().set_post_routing_handler(
      [](const httplib::Request& req, httplib::Response&) {
        if (req.path == "/p") throw std::runtime_error("step threw");
      });
  server_->server().Get("/p",
                        [](const httplib::Request&, httplib::Response& res) {
                          res.set_content("0123456789", "text/plain");
                        });
  server_->Start();
  ExpectClosedThenServed("/p");
}

TEST_F(ThrowingResponseStepTest, ErrorHandlerThatThrowsClosesTheConnection) {
  server_->server().set_error_handler(
      [](const httplib::Request& req, httplib::Response&) {
        if (req.path == "/missing") throw std::runtime_error("step threw");
      });
  server_->Start();
  ExpectClosedThenServed("/missing");
}

TEST_F(ThrowingResponseStepTest, ProviderReleaserThatThrowsIsContained) {
  server_->server().Get(
      "/r", [](const httplib::Request&, httplib::Response& res) {
        res.set_content_provider(
            2, "text/plain",
            [](size_t, size_t, httplib::DataSink& sink) {
              sink.write("ok", 2);
              return true;
            },
            [](bool) { throw std::runtime_error("releaser threw"); });
      });
  server_->Start();
  const testing::Answer a =
      testing::Exchange(server_->port(), GetRequest("/r"));
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->body, "ok");
  const testing::Answer next =
      testing::Exchange(server_->port(), GetRequest("/ok"));
  ASSERT_TRUE(next.response.has_value()) << "the server stopped serving";
}

TEST_F(ThrowingResponseStepTest, LoggerThatThrowsClosesTheConnection) {
  server_->server().set_logger(
      [](const httplib::Request& req, const httplib::Response&) {
        if (req.path == "/p") throw std::runtime_error("step threw");
      });
  server_->server().Get("/p",
                        [](const httplib::Request&, httplib::Response& res) {
                          res.set_content("0123456789", "text/plain");
                        });
  server_->Start();
  // httplib logs after it has written the response (here the socket takes it
  // at once; a part left for a slow client would be dropped by the close).
  // The connection closes after it.
  const testing::Answer a =
      testing::Exchange(server_->port(), GetRequest("/p"));
  EXPECT_EQ(a.after, "");
  const auto records = log_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 500);
  const testing::Answer next =
      testing::Exchange(server_->port(), GetRequest("/ok"));
  ASSERT_TRUE(next.response.has_value()) << "the server stopped serving";
}

}  // namespace
}  // namespace ctx::http
