// SPDX-License-Identifier: Apache-2.0
#include "ctx/log/prefix.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"

namespace {

using std::chrono::milliseconds;

const ctx::Key<std::string> kOtherIdKey{"other-request-id"};

TEST(Prefix, ShowsRequestIdAndWholeMillisecondsLeft) {
  const ctx::TimePoint now = ctx::Clock::now();
  auto [c, cancel] = ctx::WithDeadline(
      ctx::WithValue(ctx::Background(), ctx::kRequestIdKey, "abc-123"),
      now + milliseconds(250) + std::chrono::microseconds(900));
  EXPECT_EQ(ctx::log::Prefix(c, {}, now), "[req=abc-123 left=250ms]");
}

TEST(Prefix, MissingRequestIdShowsDash) {
  EXPECT_EQ(ctx::log::Prefix(ctx::Background()), "[req=- left=none]");
}

TEST(Prefix, NoDeadlineShowsNone) {
  auto [c, cancel] = ctx::WithCancel(
      ctx::WithValue(ctx::Background(), ctx::kRequestIdKey, "r1"));
  EXPECT_EQ(ctx::log::Prefix(c), "[req=r1 left=none]");
}

TEST(Prefix, NeverFiringDeadlineShowsInf) {
  auto [c, cancel] =
      ctx::WithDeadline(ctx::Background(), ctx::TimePoint::max());
  EXPECT_EQ(ctx::log::Prefix(c), "[req=- left=inf]");
}

TEST(Prefix, CanceledContextSaysCanceled) {
  auto [c, cancel] = ctx::WithCancel(ctx::Background());
  cancel();
  EXPECT_EQ(ctx::log::Prefix(c), "[req=- left=none done=canceled]");
}

TEST(Prefix, PassedDeadlineShowsNegativeLeftAndDeadlineExceeded) {
  const ctx::TimePoint deadline = ctx::Clock::now() - milliseconds(3);
  auto [c, cancel] = ctx::WithDeadline(ctx::Background(), deadline);
  EXPECT_EQ(ctx::log::Prefix(c, {}, deadline + milliseconds(3)),
            "[req=- left=-3ms done=deadline_exceeded]");
}

TEST(Prefix, InvalidRequestIdIsRenderedLogSafe) {
  ctx::Context c =
      ctx::WithValue(ctx::Background(), ctx::kRequestIdKey, "evil\r\nid");
  EXPECT_EQ(ctx::log::Prefix(c), "[req=evil\\x0D\\x0Aid left=none]");
}

TEST(Prefix, ReadsTheConfiguredKey) {
  ctx::Context c = ctx::WithValue(
      ctx::WithValue(ctx::Background(), ctx::kRequestIdKey, "bridge-id"),
      kOtherIdKey, "other-id");
  EXPECT_EQ(ctx::log::Prefix(c, {.request_id_key = &kOtherIdKey}),
            "[req=other-id left=none]");
  EXPECT_EQ(ctx::log::Prefix(c), "[req=bridge-id left=none]");
}

TEST(Prefix, ShowsTheTraceAndSpanIdsNextToTheRequestId) {
  const ctx::TraceContext trace = ctx::NewTrace();
  ctx::Context c =
      ctx::WithValue(ctx::Background(), ctx::kRequestIdKey, std::string("r1"));
  c = ctx::WithValue(c, ctx::kTraceContextKey, trace);
  EXPECT_EQ(ctx::log::Prefix(c), "[req=r1 trace=" + trace.trace_id.ToHex() +
                                     " span=" + trace.parent_id.ToHex() +
                                     " left=none]");
}

TEST(Prefix, ShowsTheSpanOfTheCallThatBroughtTheRequest) {
  // What the next hop's context holds: the trace an outgoing call sent.
  const ctx::TraceContext here = ctx::NewTrace();
  const ctx::TraceContext next = ctx::ChildForCall(here);
  ctx::Context c =
      ctx::WithValue(ctx::Background(), ctx::kTraceContextKey, next);
  const std::string got = ctx::log::Prefix(c);
  EXPECT_EQ(got, "[req=- trace=" + here.trace_id.ToHex() +
                     " span=" + next.parent_id.ToHex() + " left=none]")
      << "Prefix of the next hop's context: got " << got
      << ", want this hop's trace id with the call's new span id";
}

TEST(AppendPrefix, AppendsToWhatIsThere) {
  std::string line = "x ";
  ctx::log::AppendPrefix(line, ctx::Background());
  EXPECT_EQ(line, "x [req=- left=none]");
}

}  // namespace
