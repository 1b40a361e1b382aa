// SPDX-License-Identifier: Apache-2.0
// Slow clients cannot starve handlers: a connection takes a worker only once
// its request is complete.

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::Connect;
using testing::Counter;
using testing::GetRequest;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;

// kSlowClients is many times the worker count (8).
constexpr int kSlowClients = 256;
constexpr int kRounds = 5;

TEST(SlowClients, DrippingConnectionsDoNotStarveAFullRequest) {
  RunningServer server;
  Counter calls;
  server.server().Get("/x", [&](const Context&, const httplib::Request&,
                                httplib::Response& res) {
    calls.Add();
    res.set_content("x", "text/plain");
  });
  server.Start();
  std::vector<int> slow;
  for (int i = 0; i < kSlowClients; ++i) slow.push_back(Connect(server.port()));
  const std::string request = GetRequest("/x");
  for (int round = 0; round < kRounds; ++round) {
    for (const int fd : slow) SendAll(fd, request.substr(round, 1));
  }
  const int fd = Connect(server.port());
  SendAll(fd, request);
  std::string buffer;
  auto r = ReadResponse(fd, buffer);
  ASSERT_TRUE(r.has_value()) << "the full request got no answer while "
                             << kSlowClients << " clients dripped bytes";
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(calls.value(), 1) << "an incomplete request reached a handler";
  ::close(fd);
  for (const int s : slow) ::close(s);
}

}  // namespace
}  // namespace ctx::http
