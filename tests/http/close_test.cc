// SPDX-License-Identifier: Apache-2.0
// How the server ends a connection after its last response: never with a RST
// that could destroy the response.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::Connect;
using testing::GetRequest;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;

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

}  // namespace
}  // namespace ctx::http
