// SPDX-License-Identifier: Apache-2.0
// Many concurrent requests: exactly the ones whose clients leave are
// canceled; the others complete.

#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::CloseWithReset;
using testing::Connect;
using testing::Counter;
using testing::Event;
using testing::GetRequest;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;
using testing::WaitUntilDoneOr;

constexpr int kClients = 200;

TEST(ManyClients, ExactlyTheDisconnectedHalfIsCanceled) {
  RunningServer server(ServerOptions{}, /*threads=*/kClients + 8);
  Counter started, ended;
  Event release;
  std::mutex mu;
  std::set<int> canceled, completed;
  server.server().Get(R"(/slow/(\d+))",
                      [&](const Context& c, const httplib::Request& req,
                          httplib::Response& res) {
                        const int index = std::stoi(req.matches[1]);
                        started.Add();
                        WaitUntilDoneOr(c, release);
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          (c.Err() ? canceled : completed).insert(index);
                        }
                        ended.Add();
                        res.set_content("done", "text/plain");
                      });
  server.Start();

  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    fds.push_back(Connect(server.port()));
    SendAll(fds.back(), GetRequest("/slow/" + std::to_string(i)));
  }
  ASSERT_EQ(started.WaitAtLeast(kClients), kClients)
      << "not every request reached its handler";

  // Odd clients leave (half close, half reset); even ones stay.
  std::set<int> left;
  for (int i = 1; i < kClients; i += 2) {
    if (i % 4 == 1) {
      ::close(fds[i]);
    } else {
      CloseWithReset(fds[i]);
    }
    fds[i] = -1;
    left.insert(i);
  }
  ASSERT_EQ(ended.WaitAtLeast(kClients / 2), kClients / 2)
      << "not every disconnected client's handler ended";
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(canceled, left) << "canceled set differs from the clients that "
                                 "left";
    EXPECT_TRUE(completed.empty())
        << completed.size() << " handler(s) ended before release";
  }

  release.Fire();
  for (int i = 0; i < kClients; i += 2) {
    std::string buffer;
    auto r = ReadResponse(fds[i], buffer);
    ASSERT_TRUE(r.has_value()) << "client " << i << " got no response";
    EXPECT_EQ(r->status, 200) << "client " << i;
    ::close(fds[i]);
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(completed.size(), static_cast<size_t>(kClients / 2));
  EXPECT_EQ(canceled.size(), static_cast<size_t>(kClients / 2));
}

}  // namespace
}  // namespace ctx::http
