// SPDX-License-Identifier: Apache-2.0
// Header values reach handlers as the client sent them, over real loopback
// sockets: httplib percent-decodes every header value it parses, so the head
// the server hands it escapes each '%' (http/src/forwarded_head.h), and the
// parser holds the escaped line to httplib's limit. The names httplib sets
// itself cannot be sent by a client.

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

class HeaderBytesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RunningServer>();
    // GET /header/NAME answers every value of the header NAME, one a line.
    server_->server().Get(R"(/header/([A-Za-z_-]+))",
                          [](const Context&, const httplib::Request& req,
                             httplib::Response& res) {
                            std::string values;
                            const std::string name = req.matches[1];
                            for (size_t i = 0;
                                 i < req.get_header_value_count(name); ++i)
                              values += req.get_header_value(name, i) + "\n";
                            res.set_content(values, "text/plain");
                          });
    server_->Start();
  }

  // Get sends GET `path` with the header lines `extra`; returns the response.
  testing::RawResponse Get(const std::string& path,
                           std::vector<std::string> extra) {
    extra.emplace_back("Connection: close");
    const testing::Answer a =
        testing::Exchange(server_->port(), GetRequest(path, extra));
    EXPECT_TRUE(a.response.has_value()) << "no response";
    return a.response.value_or(testing::RawResponse{});
  }

  std::unique_ptr<RunningServer> server_;
};

TEST_F(HeaderBytesTest, PercentEscapesInAValueReachTheHandlerUndecoded) {
  for (const std::string value :
       {"a%00b", "alice%2Crole%3Dadmin", "100%", "%u0041", "%%25"}) {
    const testing::RawResponse r =
        Get("/header/X-Value", {"X-Value: " + value});
    EXPECT_EQ(r.status, 200) << value;
    EXPECT_EQ(r.body, value + "\n") << "sent " << value;
  }
}

TEST_F(HeaderBytesTest, ClientCannotSetTheFieldsHttplibSets) {
  const testing::RawResponse r =
      Get("/header/REMOTE_ADDR",
          {"REMOTE_ADDR: 6.6.6.6", "remote_port: 1", "LOCAL_ADDR: 6.6.6.6"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "127.0.0.1\n") << "the peer's address, and it alone";
}

TEST_F(HeaderBytesTest, LineTooLongOnceEscapedGets431) {
  // 2,000 '%' are 6,000 bytes escaped: within httplib's 8,190; 3,000 are not.
  EXPECT_EQ(
      Get("/header/X-Value", {"X-Value: " + std::string(2000, '%')}).status,
      200);
  EXPECT_EQ(
      Get("/header/X-Value", {"X-Value: " + std::string(3000, '%')}).status,
      431);
}

TEST_F(HeaderBytesTest, ConnectionLinesTooLongOnceJoinedGet431) {
  // Each fits; httplib gets them as one line, which would not.
  const std::string half = "Connection: " + std::string(5000, 'x');
  EXPECT_EQ(Get("/header/X-Value", {half, half}).status, 431);
}

}  // namespace
}  // namespace ctx::http
