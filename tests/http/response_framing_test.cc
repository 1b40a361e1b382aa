// SPDX-License-Identifier: Apache-2.0
// Every response a client reads on a kept-alive connection ends where its
// framing says (http/src/response_framing.h), over real loopback sockets:
// content providers' responses carry their bytes (one of unknown length
// closes the connection), a handler that throws after setting a body gets a
// 500 that states its length, a 204 or 304 carries no body, a range a
// provider cannot serve gets a 416 without one, and a provider that never
// writes does not hold a shutdown. Each test sends two requests at once and
// reads both responses from the one connection.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::GetRequest;
using testing::RawResponse;
using testing::RunningServer;

const std::string kDigits = "0123456789";

// ChunkedDigits is a chunked content provider that writes kDigits once.
bool ChunkedDigits(size_t, httplib::DataSink& sink) {
  sink.write(kDigits.data(), kDigits.size());
  sink.done();
  return true;
}

class ResponseFramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RunningServer>();
    httplib::Server& s = server_->server();
    s.Get("/provider", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(
          kDigits.size(), "text/plain",
          [](size_t offset, size_t length, httplib::DataSink& sink) {
            // A provider written the usual way: it trusts httplib's offsets.
            if (offset + length > kDigits.size()) {
              ADD_FAILURE() << "asked for " << length << " bytes at " << offset;
              return false;
            }
            sink.write(kDigits.data() + offset, length);
            return true;
          });
    });
    s.Get("/overrun", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(
          kDigits.size(), "text/plain",
          [](size_t, size_t, httplib::DataSink& sink) {
            // Ignores what it is asked for, and writes past its length what
            // would read as a response of its own.
            const std::string more =
                kDigits + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged";
            sink.write(more.data(), more.size());
            return true;
          });
    });
    s.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", ChunkedDigits);
    });
    s.Get("/throw", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1000, 'b'), "text/plain");
      throw std::runtime_error("after the body");
    });
    s.Get("/claims-chunked",
          [](const httplib::Request&, httplib::Response& res) {
            res.set_header("Transfer-Encoding", "chunked");
            res.set_content("3\r\nabc\r\n0\r\n\r\n", "text/plain");
          });
    s.Get("/claims-length",
          [](const httplib::Request&, httplib::Response& res) {
            res.set_header("Content-Length", "999");
            res.set_content_provider(
                kDigits.size(), "text/plain",
                [](size_t offset, size_t length, httplib::DataSink& sink) {
                  sink.write(kDigits.data() + offset, length);
                  return true;
                });
          });
    s.Get("/claims-gzip-te",
          [](const httplib::Request&, httplib::Response& res) {
            res.set_header("Transfer-Encoding", "gzip");
            res.set_chunked_content_provider("text/plain", ChunkedDigits);
          });
    s.Get("/interim", [](const httplib::Request&, httplib::Response& res) {
      res.status = 101;
    });
    s.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
    s.Get("/unframed", [](const httplib::Request&, httplib::Response& res) {
      // Neither a length nor chunked.
      res.set_content_provider("text/plain",
                               [](size_t, httplib::DataSink& sink) {
                                 sink.write("abc", 3);
                                 sink.done();
                                 return true;
                               });
    });
    for (const int status : {204, 304}) {
      s.Get("/status/" + std::to_string(status),
            [status](const httplib::Request&, httplib::Response& res) {
              res.set_content("a body such a status cannot have", "text/plain");
              res.status = status;
            });
    }
    server_->Start();
  }

  // Both sends `first` and then GET /ok on one connection at once, and reads
  // both responses; the second must be /ok's.
  RawResponse Both(const std::string& first) {
    const auto r =
        testing::ExchangeMany(server_->port(), first + GetRequest("/ok"), 2);
    EXPECT_EQ(r.size(), 2u) << "a response is missing";
    if (r.size() == 2) {
      EXPECT_EQ(r[1].status, 200) << "the second response was misread";
      EXPECT_EQ(r[1].body, "ok") << "the second response was misread";
    }
    return r.empty() ? RawResponse{} : r[0];
  }

  std::unique_ptr<RunningServer> server_;
};

TEST_F(ResponseFramingTest, ContentProviderResponseCarriesItsBytes) {
  const RawResponse r = Both(GetRequest("/provider"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kDigits);
}

TEST_F(ResponseFramingTest, ChunkedProviderResponseCarriesItsBytes) {
  const RawResponse r = Both(GetRequest("/chunked"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kDigits);
}

// Framing headers a handler set give way to the response's own: a client
// and a proxy must not read two different ends of it.
TEST_F(ResponseFramingTest, HandlersTransferEncodingGivesWayToTheBodysLength) {
  const RawResponse r = Both(GetRequest("/claims-chunked"));
  EXPECT_EQ(r.header("transfer-encoding"), "");
  EXPECT_EQ(r.header("content-length"), "13");
  EXPECT_EQ(r.body, "3\r\nabc\r\n0\r\n\r\n");
}

TEST_F(ResponseFramingTest, HandlersContentLengthGivesWayToTheProviders) {
  const auto r = testing::ExchangeMany(
      server_->port(), GetRequest("/claims-length") + GetRequest("/ok"), 2);
  ASSERT_EQ(r.size(), 2u) << "a response is missing";
  EXPECT_EQ(r[0].headers.count("content-length"), 1u) << "two lengths";
  EXPECT_EQ(r[0].header("content-length"), "10");
  EXPECT_EQ(r[0].body, kDigits);
  EXPECT_EQ(r[1].body, "ok");
}

TEST_F(ResponseFramingTest, HandlersTransferEncodingGivesWayToTheChunks) {
  const RawResponse r = Both(GetRequest("/claims-gzip-te"));
  EXPECT_EQ(r.headers.count("transfer-encoding"), 1u) << "two codings";
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, kDigits);
}

// A 1xx is no final response: the connection closes after it, so no later
// response is read as the final one.
TEST_F(ResponseFramingTest, HandlersInterimStatusClosesTheConnection) {
  const auto r = testing::ExchangeMany(
      server_->port(), GetRequest("/interim") + GetRequest("/ok"), 2);
  // The 1xx is read as interim and skipped: then comes the close.
  EXPECT_TRUE(r.empty()) << "a final response followed the 1xx: "
                         << (r.empty() ? "" : r.front().body);
}

TEST_F(ResponseFramingTest, HandlerThatThrowsAfterABodyGetsAFramed500) {
  const RawResponse r = Both(GetRequest("/throw"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
}

TEST_F(ResponseFramingTest, RangeAProviderCanServeIsServed) {
  for (const auto& [range, part, content_range] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"bytes=2-4", "234", "bytes 2-4/10"},
           {"bytes=7-", "789", "bytes 7-9/10"},
           {"bytes=-3", "789", "bytes 7-9/10"},
           {"bytes=5-30", "56789", "bytes 5-9/10"},
           {"bytes=0-10", kDigits, "bytes 0-9/10"}}) {
    const RawResponse r = Both(GetRequest("/provider", {"Range: " + range}));
    EXPECT_EQ(r.status, 206) << range;
    EXPECT_EQ(r.header("content-range"), content_range) << range;
    EXPECT_EQ(r.body, part) << range;
  }
}

TEST_F(ResponseFramingTest, RangeAProviderCannotServeGets416) {
  for (const char* range : {"bytes=100-", "bytes=10-", "bytes=-0"}) {
    const RawResponse r =
        Both(GetRequest("/provider", {std::string("Range: ") + range}));
    EXPECT_EQ(r.status, 416) << range;
    EXPECT_EQ(r.header("content-range"), "bytes */10") << range;
    EXPECT_EQ(r.body, "") << range;
  }
}

TEST_F(ResponseFramingTest, ProviderWritingPastItsLengthIsCutAndClosed) {
  for (const auto& [range, body] :
       std::vector<std::pair<std::string, std::string>>{{"", kDigits},
                                                        {"bytes=2-4", "012"}}) {
    std::vector<std::string> extra;
    if (!range.empty()) extra.push_back("Range: " + range);
    const testing::Answer a = testing::Exchange(
        server_->port(), GetRequest("/overrun", extra) + GetRequest("/ok"));
    ASSERT_TRUE(a.response.has_value()) << range;
    EXPECT_EQ(a.response->body, body) << range;
    EXPECT_EQ(a.after, "") << range << ": bytes past the stated length";
  }
}

TEST_F(ResponseFramingTest, BodyOfA204Or304IsNotSent) {
  for (const char* path : {"/status/204", "/status/304"}) {
    const RawResponse r = Both(GetRequest(path));
    EXPECT_EQ(r.header("content-length"), "") << path;
  }
}

TEST_F(ResponseFramingTest, ProviderOfUnknownLengthClosesTheConnection) {
  const testing::Answer a =
      testing::Exchange(server_->port(), GetRequest("/unframed"));
  ASSERT_TRUE(a.response.has_value());
  EXPECT_EQ(a.response->status, 200);
  EXPECT_EQ(a.response->header("connection"), "close");
  EXPECT_EQ(a.response->body + a.after, "abc")
      << "want the bytes, then the close";
}

// An HTTP/1.0 client cannot read chunked framing: a chunked provider's bytes
// go to it as they are, ended by the close, even when it asked to keep the
// connection.
TEST_F(ResponseFramingTest, ChunkedProviderAnswersHttp10UnchunkedAndCloses) {
  // httplib would gzip the chunks: not the bytes sent unchunked.
  const testing::Answer a =
      testing::Exchange(server_->port(),
                        "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n"
                        "Accept-Encoding: gzip\r\n\r\n");
  ASSERT_TRUE(a.response.has_value()) << "not a response: " << a.after;
  EXPECT_EQ(a.response->status, 200);
  EXPECT_EQ(a.response->header("transfer-encoding"), "");
  EXPECT_EQ(a.response->header("content-encoding"), "");
  EXPECT_EQ(a.response->header("connection"), "close");
  EXPECT_EQ(a.response->body + a.after, kDigits)
      << "want the bytes, then the close";
}

// A content provider that returns without writing is called again only after
// a pause, and the response ends (the connection closes) once
// response_timeout has passed since its first call.
TEST(ResponseFramingPacing, ProviderThatWritesNothingIsPacedAndTimedOut) {
  ServerOptions options;
  options.limits.response_timeout = std::chrono::milliseconds(300);
  RunningServer server(std::move(options));
  std::atomic<int> calls{0};
  const auto idle = [&calls](size_t, size_t, httplib::DataSink&) {
    calls.fetch_add(1, std::memory_order_relaxed);
    return true;  // nothing written: waits for data that never comes
  };
  server.server().Get(
      "/sized", [&idle](const httplib::Request&, httplib::Response& res) {
        res.set_content_provider(kDigits.size(), "text/plain", idle);
      });
  server.server().Get(
      "/chunked", [&idle](const httplib::Request&, httplib::Response& res) {
        res.set_chunked_content_provider(
            "text/plain", [&idle](size_t offset, httplib::DataSink& sink) {
              return idle(offset, 0, sink);
            });
      });
  server.Start();
  for (const char* path : {"/sized", "/chunked"}) {
    calls = 0;
    const int fd = testing::Connect(server.port());
    testing::SendAll(fd, GetRequest(path));
    int error = -1;
    const std::string got = testing::ReadToEof(fd, &error);
    ::close(fd);
    EXPECT_EQ(error, 0) << path << ": the connection did not close";
    EXPECT_NE(got.find("200"), std::string::npos) << path << ": " << got;
    // About 25 calls in 300 ms (pauses of 1, 2, 4, 8, then 16 ms); a busy
    // loop makes millions.
    EXPECT_LT(calls.load(), 1000) << path;
  }
}

// A content provider that never writes ends with the shutdown's drain, so
// Shutdown returns within grace + drain_timeout.
TEST(ResponseFramingShutdown, ProviderThatNeverWritesDoesNotHoldShutdown) {
  ServerOptions options;
  options.limits.drain_timeout = std::chrono::milliseconds(200);
  auto server = std::make_unique<RunningServer>(std::move(options));
  testing::Counter started;
  server->server().Get(
      "/idle", [&started](const httplib::Request&, httplib::Response& res) {
        started.Add();
        res.set_chunked_content_provider(
            "text/plain", [](size_t, httplib::DataSink&) {
              std::this_thread::sleep_for(std::chrono::milliseconds(5));
              return true;  // waits for an event that never comes
            });
      });
  server->Start();
  const int fd = testing::Connect(server->port());
  testing::SendAll(fd, GetRequest("/idle"));
  ASSERT_EQ(started.WaitAtLeast(1), 1);
  std::future<void> shutdown = std::async(std::launch::async, [&] {
    server->server().Shutdown(std::chrono::milliseconds(100));
  });
  EXPECT_EQ(shutdown.wait_for(testing::kCap), std::future_status::ready)
      << "Shutdown(100 ms) with drain_timeout 200 ms did not return";
  ::close(fd);
}

}  // namespace
}  // namespace ctx::http
