// SPDX-License-Identifier: Apache-2.0
// Range requests over real loopback sockets: one range of bytes is served as
// asked; several, in one Range line or in many, and any other Range value, are
// ignored (RFC 9110 14.2) and the body is served whole, since httplib would
// repeat the body once per range.

#include <gtest/gtest.h>

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
    server_->Start();
  }

  // Get sends GET /digits with the header lines `extra` and returns the
  // response.
  testing::RawResponse Get(std::vector<std::string> extra) {
    extra.emplace_back("Connection: close");
    const testing::Answer a =
        testing::Exchange(server_->port(), GetRequest("/digits", extra));
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

  std::unique_ptr<RunningServer> server_;
};

TEST_F(RangeTest, SingleRangeIsServed) {
  const testing::RawResponse r = Get({"Range: bytes=2-4"});
  EXPECT_EQ(r.status, 206) << "Range: bytes=2-4";
  EXPECT_EQ(r.header("content-range"), "bytes 2-4/10");
  EXPECT_EQ(r.body, "234");
}

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

}  // namespace
}  // namespace ctx::http
