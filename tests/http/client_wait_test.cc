// SPDX-License-Identifier: Apache-2.0
// ctx::http::Client and time: a call waiting for another honours its own
// context, the budget sent never exceeds what the caller has left, and the
// socket timeouts follow the context's deadline.

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "ctx/clock.h"
#include "ctx/http/client.h"
#include "ctx/http/server.h"
#include "ctx/propagation.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using testing::Counter;
using testing::Event;
using testing::kCap;
using testing::RunningServer;

class ClientWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Blocks until the test releases it: only the client can end it early.
    server_.server().Get(
        "/block", [this](const httplib::Request&, httplib::Response& res) {
          blocked_.Add();
          (void)release_.WaitFor();  // bounded by kCap
          res.set_content("late", "text/plain");
        });
    // Records X-Request-Timeout and the caller's remaining time on arrival.
    server_.server().Get(
        "/budget", [this](const httplib::Request& req, httplib::Response& res) {
          std::lock_guard<std::mutex> lock(mu_);
          budget_ = req.get_header_value("X-Request-Timeout");
          if (std::optional<Clock::duration> left = Remaining(caller_)) {
            caller_left_ = *left;
          }
          res.set_content("ok", "text/plain");
        });
    // Answers after `delay_` (a real delay: the rule under test is about
    // time).
    server_.server().Get(
        "/slow", [this](const httplib::Request&, httplib::Response& res) {
          (void)release_.WaitFor(delay_);
          res.set_content("slow", "text/plain");
        });
    server_.Start();
  }
  void TearDown() override { release_.Fire(); }

  Counter blocked_;
  Event release_;
  milliseconds delay_{0};
  std::mutex mu_;
  Context caller_;
  std::string budget_;
  Clock::duration caller_left_{};
  // Last, so it stops (and its handlers end) before the members they use go.
  RunningServer server_;
};

// StartBlockingCall starts a call to /block on `client` and waits until the
// server holds it.
std::future<Result> StartBlockingCall(Client& client, Counter& blocked) {
  const int before = blocked.value();
  auto call = std::async(std::launch::async, [&client] {
    return client.Get(Background(), "/block");
  });
  EXPECT_GT(blocked.WaitAtLeast(before + 1), before)
      << "the first call never reached the server";
  return call;
}

TEST_F(ClientWaitTest, CallWaitingForAnotherEndsAtItsDeadline) {
  Client client("127.0.0.1", server_.port());
  std::future<Result> first = StartBlockingCall(client, blocked_);
  auto [c, cancel] = WithTimeout(Background(), milliseconds(300));
  Result second = client.Get(c, "/block");
  EXPECT_TRUE(second.deadline_exceeded())
      << "second call: got " << second.error().ToString()
      << ", want deadline exceeded";
  EXPECT_EQ(first.wait_for(milliseconds(0)), std::future_status::timeout)
      << "the second call returned only after the first one ended";
  release_.Fire();
  ASSERT_EQ(first.wait_for(kCap), std::future_status::ready);
  Result r = first.get();
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(blocked_.value(), 1) << "the second call reached the server";
}

TEST_F(ClientWaitTest, CanceledCallDoesNotWaitForAnother) {
  Client client("127.0.0.1", server_.port());
  std::future<Result> first = StartBlockingCall(client, blocked_);
  auto [c, cancel] = WithCancel(Background());
  cancel();
  Result second = client.Get(c, "/block");
  EXPECT_TRUE(second.canceled()) << second.error().ToString();
  EXPECT_EQ(first.wait_for(milliseconds(0)), std::future_status::timeout)
      << "the canceled call returned only after the first one ended";
  release_.Fire();
  EXPECT_TRUE(first.get().ok());
}

TEST_F(ClientWaitTest, CancelEndsCallWaitingForAnother) {
  Client client("127.0.0.1", server_.port());
  std::future<Result> first = StartBlockingCall(client, blocked_);
  auto [c, cancel] = WithCancel(Background());
  auto second = std::async(
      std::launch::async, [&client, c = c] { return client.Get(c, "/block"); });
  cancel();
  ASSERT_EQ(second.wait_for(kCap), std::future_status::ready)
      << "the waiting call did not end after cancel";
  EXPECT_TRUE(second.get().canceled());
  EXPECT_EQ(first.wait_for(milliseconds(0)), std::future_status::timeout);
  release_.Fire();
  EXPECT_TRUE(first.get().ok());
}

TEST_F(ClientWaitTest, WaitingCallsRunOnceTheGateFrees) {
  Client client("127.0.0.1", server_.port());
  std::future<Result> first = StartBlockingCall(client, blocked_);
  std::vector<std::future<Result>> waiting;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(std::async(std::launch::async, [&client] {
      return client.Get(Background(), "/budget");
    }));
  }
  release_.Fire();
  EXPECT_TRUE(first.get().ok());
  for (auto& w : waiting) {
    ASSERT_EQ(w.wait_for(kCap), std::future_status::ready);
    Result r = w.get();
    EXPECT_TRUE(r.ok()) << r.error().ToString();
  }
}

TEST_F(ClientWaitTest, ManyCallersSomeCanceledAllEnd) {
  Client client("127.0.0.1", server_.port());
  client.httplib_client().set_keep_alive(true);
  constexpr int kThreads = 4;
  constexpr int kCalls = 25;
  std::vector<std::future<int>> callers;
  for (int t = 0; t < kThreads; ++t) {
    callers.push_back(std::async(std::launch::async, [&client, t] {
      int ok = 0;
      for (int i = 0; i < kCalls; ++i) {
        auto [c, cancel] = WithCancel(Background());
        if ((i + t) % 3 == 0) cancel();
        Result r = client.Get(c, "/budget");
        if (r.ok()) {
          ++ok;
        } else if (!r.canceled()) {
          ADD_FAILURE() << "call failed: " << r.error().ToString();
        }
      }
      return ok;
    }));
  }
  for (auto& f : callers) {
    ASSERT_EQ(f.wait_for(kCap), std::future_status::ready);
    EXPECT_GT(f.get(), 0);
  }
}

TEST_F(ClientWaitTest, SentBudgetIsBelowCallerRemainingTime) {
  Client client("127.0.0.1", server_.port());
  // The default margin (1 ms + 0.5 %) of 600 s is 3 s: the time from sending
  // to the handler's arrival stays below it even on a stalled machine.
  auto [c, cancel] = WithTimeout(Background(), std::chrono::seconds(600));
  {
    std::lock_guard<std::mutex> lock(mu_);
    caller_ = c;
  }
  ASSERT_TRUE(client.Get(c, "/budget").ok());
  std::lock_guard<std::mutex> lock(mu_);
  auto sent = ParseRequestTimeout(budget_);
  ASSERT_TRUE(sent.ok()) << "X-Request-Timeout: " << budget_;
  EXPECT_LT(*sent.value, caller_left_)
      << "budget sent " << budget_ << " ms vs the caller's "
      << std::chrono::duration_cast<milliseconds>(caller_left_).count()
      << " ms left when it arrived";
  EXPECT_LE(*sent.value, milliseconds(600'000 - 3'000));
}

TEST_F(ClientWaitTest, SentBudgetIsRoundedDown) {
  ClientOptions options;
  options.deadline_margin = Clock::duration::zero();
  options.deadline_margin_ratio = 0;
  Client client("127.0.0.1", server_.port(), options);
  // A long budget with a fraction of a millisecond: the call has time to
  // spare however slow the machine, and what is left when it is sent is
  // below 59,999.8 ms, which whole milliseconds can only round down to.
  auto [c, cancel] =
      WithTimeout(Background(), std::chrono::microseconds(59'999'800));
  ASSERT_TRUE(client.Get(c, "/budget").ok());
  std::lock_guard<std::mutex> lock(mu_);
  auto sent = ParseRequestTimeout(budget_);
  ASSERT_TRUE(sent.ok()) << "X-Request-Timeout: " << budget_;
  EXPECT_LT(*sent.value, milliseconds(60'000))
      << "with less than 59,999.8 ms left, sent " << budget_;
}

TEST_F(ClientWaitTest, BudgetBelowMarginFailsWithoutSending) {
  ClientOptions options;
  options.deadline_margin = std::chrono::seconds(30);
  Client client("127.0.0.1", server_.port(), options);
  auto [c, cancel] = WithTimeout(Background(), std::chrono::seconds(10));
  Result r = client.Get(c, "/block");
  EXPECT_TRUE(r.deadline_exceeded()) << r.error().ToString();
  EXPECT_FALSE(c.Err()) << "failed at once, long before the deadline";
  EXPECT_EQ(blocked_.value(), 0) << "the request reached the server";
}

TEST_F(ClientWaitTest, CallerTimeoutHeaderIsReplaced) {
  Client client("127.0.0.1", server_.port());
  ASSERT_TRUE(
      client.Get(Background(), "/budget", {{"X-Request-Timeout", "99999"}})
          .ok());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(budget_, "") << "a call without deadline sent a budget";
}

TEST_F(ClientWaitTest, DeadlineLongerThanSocketTimeoutIsHonoured) {
  // The read timeout (100 ms) is shorter than the answer takes (300 ms); the
  // context allows 30 s, so the call waits for the answer.
  delay_ = milliseconds(300);
  Client client("127.0.0.1", server_.port());
  client.httplib_client().set_read_timeout(milliseconds(100));
  auto [c, cancel] = WithTimeout(Background(), kCap);
  Result r = client.Get(c, "/slow");
  ASSERT_TRUE(r.ok()) << "a 300 ms answer within a 30 s budget: "
                      << r.error().ToString();
  EXPECT_EQ(r->body, "slow");
}

TEST_F(ClientWaitTest, SocketTimeoutAppliesWithoutDeadline) {
  Client client("127.0.0.1", server_.port());
  client.httplib_client().set_read_timeout(milliseconds(100));
  Result r = client.Get(Background(), "/block");
  EXPECT_TRUE(r.transport_failed()) << r.error().ToString();
  EXPECT_EQ(r.error().code(), TransportError(httplib::Error::Read));
}

TEST_F(ClientWaitTest, AbortedCallLeavesNoConnectionForTheNext) {
  Client client("127.0.0.1", server_.port());
  client.httplib_client().set_keep_alive(true);
  auto [c, cancel] = WithTimeout(Background(), milliseconds(100));
  EXPECT_TRUE(client.Get(c, "/block").deadline_exceeded());
  release_.Fire();  // the server's late answer must not reach the next call
  Result r = client.Get(Background(), "/budget");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "ok");
}

}  // namespace
}  // namespace ctx::http
