// SPDX-License-Identifier: Apache-2.0
// Range requests over real loopback sockets (http/src/response_range.h): one
// range of bytes is served as asked, clamped to the body, and one past its end
// gets a 416 naming the size; several, in one Range line or in many, any other
// Range value, a Range on another method or for another status than 200, and
// one whose If-Range does not match are ignored (RFC 9110 14.2) and the body is
// served whole, since httplib would repeat the body once per range.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::GetRequest;
using testing::RunningServer;

// kBody is what GET /digits answers.
const std::string kBody = "0123456789";

class RangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RunningServer>();
    server_->server().Get("/digits", [](const Context&, const httplib::Request&,
                                        httplib::Response& res) {
      res.set_content(kBody, "text/plain");
    });
    server_->server().Get("/explicit200",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.status = 200;
                            res.set_content(kBody, "text/plain");
                          });
    server_->server().Get("/missing",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.status = 404;
                            res.set_content(kBody, "text/plain");
                          });
    server_->server().Get("/slow", [](const Context& c, const httplib::Request&,
                                      httplib::Response&) {
      c.Done().Wait();  // the bridge answers 504
    });
    server_->server().Post("/digits",
                           [](const httplib::Request&, httplib::Response& res) {
                             res.set_content(kBody, "text/plain");
                           });
    server_->server().Get("/empty",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.set_content("", "text/plain");
                          });
    server_->server().Get(
        "/validated", [](const httplib::Request&, httplib::Response& res) {
          res.set_header("ETag", "\"v1\"");
          res.set_header("Last-Modified", "Sun, 06 Dec 2026 10:00:00 GMT");
          res.set_content(kBody, "text/plain");
        });
    server_->server().Get("/weak",
                          [](const httplib::Request&, httplib::Response& res) {
                            res.set_header("ETag", "W/\"v1\"");
                            res.set_content(kBody, "text/plain");
                          });
    server_->Start();
  }

  // Get sends GET `path` (/digits) with the header lines `extra` and returns
  // the response.
  testing::RawResponse Get(std::vector<std::string> extra,
                           const std::string& path = "/digits") {
    extra.emplace_back("Connection: close");
    return Send(GetRequest(path, extra));
  }

  // Send sends `request` and returns the response.
  testing::RawResponse Send(const std::string& request) {
    const testing::Answer a = testing::Exchange(server_->port(), request);
    EXPECT_TRUE(a.response.has_value()) << "no response";
    return a.response.value_or(testing::RawResponse{});
  }

  // ExpectWhole checks that `extra` gets the whole body, once.
  void ExpectWhole(const std::vector<std::string>& extra) {
    const testing::RawResponse r = Get(extra);
    EXPECT_EQ(r.status, 200) << "want the whole body";
    EXPECT_EQ(r.header("content-range"), "");
    EXPECT_EQ(r.body, kBody);
  }

  // ExpectPart checks that GET `path` (kBody) with "Range: bytes=2-4" gets
  // those three bytes as a 206 that names them.
  void ExpectPart(const std::string& path) {
    const testing::RawResponse r = Get({"Range: bytes=2-4"}, path);
    EXPECT_EQ(r.status, 206) << "Range: bytes=2-4";
    EXPECT_EQ(r.header("content-range"), "bytes 2-4/10");
    EXPECT_EQ(r.body, "234");
  }

  std::unique_ptr<RunningServer> server_;
};

TEST_F(RangeTest, SingleRangeIsServed) { ExpectPart("/digits"); }

TEST_F(RangeTest, MultipleRangesAreServedWhole) {
  ExpectWhole({"Range: bytes=0-,0-,0-"});
}

TEST_F(RangeTest, RepeatedRangeLinesAreServedWhole) {
  ExpectWhole({"Range: bytes=0-", "Range: bytes=0-"});
}

TEST_F(RangeTest, PercentEncodedCommasAreServedWhole) {
  // httplib would decode %2C into a comma and serve one part per range.
  ExpectWhole({"Range: bytes=0-%2C0-%2C0-"});
}

TEST_F(RangeTest, AnythingButOneRangeOfBytesIsServedWhole) {
  for (const char* range :
       {"bytes=abc", "bytes=-", "Bytes=1-2", "lines=1-2", "bytes=1-2-3",
        "bytes=5-2", "bytes=1234567890123456789-"}) {
    SCOPED_TRACE(range);
    ExpectWhole({std::string("Range: ") + range});
  }
}

TEST_F(RangeTest, SuffixAndOpenRangesAreServed) {
  EXPECT_EQ(Get({"Range: bytes=-3"}).body, "789");
  EXPECT_EQ(Get({"Range: bytes=7-"}).body, "789");
}

TEST_F(RangeTest, RangePastTheEndIsClampedToTheBody) {
  const testing::RawResponse r = Get({"Range: bytes=5-30"});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.header("content-range"), "bytes 5-9/10");
  EXPECT_EQ(r.body, "56789");
}

TEST_F(RangeTest, UnsatisfiableRangeGets416NamingTheSize) {
  for (const char* range : {"bytes=100-", "bytes=10-", "bytes=-0"}) {
    SCOPED_TRACE(range);
    const testing::RawResponse r = Get({std::string("Range: ") + range});
    EXPECT_EQ(r.status, 416);
    EXPECT_EQ(r.header("content-range"), "bytes */10");
    EXPECT_EQ(r.body, "");
  }
  const testing::RawResponse empty = Get({"Range: bytes=0-"}, "/empty");
  EXPECT_EQ(empty.status, 416);
  EXPECT_EQ(empty.header("content-range"), "bytes */0");
}

TEST_F(RangeTest, HandlersExplicit200IsRanged) { ExpectPart("/explicit200"); }

TEST_F(RangeTest, ResponseOtherThan200IsServedWhole) {
  const testing::RawResponse missing = Get({"Range: bytes=2-4"}, "/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("content-range"), "");
  EXPECT_EQ(missing.body, kBody);
  const testing::RawResponse timed_out =
      Get({"Range: bytes=2-4", "X-Request-Timeout: 1"}, "/slow");
  EXPECT_EQ(timed_out.status, 504);
  EXPECT_EQ(timed_out.body, "deadline exceeded\n");
}

TEST_F(RangeTest, MethodOtherThanGetIsServedWhole) {
  const testing::RawResponse r = Send(
      "POST /digits HTTP/1.1\r\nHost: t\r\nRange: bytes=2-4\r\n"
      "Content-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kBody);
}

TEST_F(RangeTest, IfRangeMatchingTheValidatorIsRanged) {
  for (const char* if_range : {"\"v1\"", "Sun, 06 Dec 2026 10:00:00 GMT"}) {
    SCOPED_TRACE(if_range);
    const testing::RawResponse r =
        Get({"Range: bytes=2-4", std::string("If-Range: ") + if_range},
            "/validated");
    EXPECT_EQ(r.status, 206);
    EXPECT_EQ(r.body, "234");
  }
}

TEST_F(RangeTest, IfRangeNotMatchingIsServedWhole) {
  for (const char* if_range :
       {"\"v0\"", "W/\"v1\"", "Sat, 05 Dec 2026 10:00:00 GMT"}) {
    SCOPED_TRACE(if_range);
    const testing::RawResponse r =
        Get({"Range: bytes=2-4", std::string("If-Range: ") + if_range},
            "/validated");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, kBody);
  }
  const testing::RawResponse weak =
      Get({"Range: bytes=2-4", "If-Range: W/\"v1\""}, "/weak");
  EXPECT_EQ(weak.status, 200) << "a weak ETag matched";
}

TEST_F(RangeTest, RangeOfACompressedResponseCountsItsBytes) {
  const testing::RawResponse whole =
      Get({"Accept-Encoding: gzip"}, "/explicit200");
  ASSERT_EQ(whole.header("content-encoding"), "gzip");
  const testing::RawResponse r =
      Get({"Accept-Encoding: gzip", "Range: bytes=0-1"}, "/explicit200");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.header("content-encoding"), "gzip");
  EXPECT_EQ(r.header("content-range"),
            "bytes 0-1/" + std::to_string(whole.body.size()));
  EXPECT_EQ(r.body, whole.body.substr(0, 2));
  const testing::RawResponse past =
      Get({"Accept-Encoding: gzip", "Range: bytes=100000-"}, "/explicit200");
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.header("content-encoding"), "") << "of an empty body";
}

// StaticFileRangeTest serves kBody as /static/f.txt from a mount point
// (httplib's static files, which answer any Range with a 206 of their own).
class StaticFileRangeTest : public RangeTest {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ctx-range-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    std::ofstream(dir_ / "f.txt") << kBody;
    server_ = std::make_unique<RunningServer>();
    ASSERT_TRUE(server_->server().set_mount_point("/static", dir_.string()));
    server_->Start();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
};

TEST_F(StaticFileRangeTest, RangeOfAStaticFileIsServed) {
  ExpectPart("/static/f.txt");
}

TEST_F(StaticFileRangeTest, StaticFileServedWholeSays200) {
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"Range: bytes=2-4", "If-Range: \"nope\""},
        std::vector<std::string>{"Range: bytes=0-,0-"}}) {
    const testing::RawResponse r = Get(extra, "/static/f.txt");
    EXPECT_EQ(r.status, 200) << extra[0];
    EXPECT_EQ(r.header("content-range"), "") << extra[0];
    EXPECT_EQ(r.body, kBody) << extra[0];
  }
  const testing::RawResponse past = Get({"Range: bytes=50-"}, "/static/f.txt");
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.header("content-range"), "bytes */10");
}

}  // namespace
}  // namespace ctx::http
