// SPDX-License-Identifier: Apache-2.0
// CallState::End's rule for ends in a deadline's last moments (within
// DeadlineSlack of it): they are left to the deadline's timer, whatever their
// cause, so that a call whose client, or whose callee, gave up at a deadline
// reports kDeadlineExceeded rather than kCanceled; an end further from the
// deadline ends the context at once. The same rule holds for an end that came
// before the context was built (BuildCall).
//
// Each CallState here is made directly, its deadline minutes away and its
// slack larger than that or smaller: no timer fires during a test, and
// nothing depends on timing.

#include "call_state.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>

#include "call_builder.h"
#include "ctx/context.h"
#include "ctx/errors.h"
#include "ctx/grpc/server_interceptor.h"

namespace ctx::grpc::internal {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;

// Call is a call whose deadline is 10 minutes away, with `slack`.
struct Call {
  explicit Call(Clock::duration slack)
      : deadline(Clock::now() + minutes(10)),
        made(WithDeadline(Background(), deadline)),
        state(made.context,
              ContextPeer::MakeCancelCause(ContextPeer::NodeOf(made.context)),
              deadline, slack, /*server_context=*/nullptr,
              /*callback_api=*/true, /*watcher=*/nullptr) {}

  TimePoint deadline;
  ContextAndCancel made;
  CallState state;
};

// Ends are the bridge's three causes of an end.
std::array<const Error*, 3> Ends() {
  return {&ClientCanceledCause(), &CallFinishedCause(), &ServerCanceledCause()};
}

TEST(CallState, EndWithinTheSlackOfTheDeadlineIsLeftToTheTimer) {
  for (const Error* cause : Ends()) {
    Call call(hours(1));
    call.state.End(*cause);
    EXPECT_FALSE(call.state.context().Done().Ready()) << *cause;
  }
}

TEST(CallState, EndBeforeTheSlackEndsAtOnceWithItsCause) {
  for (const Error* cause : Ends()) {
    Call call(minutes(1));
    call.state.End(*cause);
    ASSERT_TRUE(call.state.context().Done().Ready()) << *cause;
    EXPECT_EQ(call.state.context().Err(), Errc::kCanceled);
    EXPECT_EQ(Cause(call.state.context()), *cause);
  }
}

// Built builds a call with a 10-minute budget (slack 50 ms) whose early end
// came `before` its deadline.
BuiltCall Built(::grpc::ServerContext* sc, Clock::duration before) {
  ServerOptions options;
  options.default_timeout = minutes(10);
  options.max_timeout.reset();
  const TimePoint arrived = Clock::now();
  const EarlyEnd early{&ClientCanceledCause(), arrived + minutes(10) - before};
  const Metadata none;
  return BuildCall(NormalizeOptions(options), sc, none, nullptr,
                   /*generic=*/false, /*echo=*/false, arrived, arrived, &early);
}

TEST(BuildCall, EarlyEndWithinTheSlackOfTheDeadlineIsLeftToTheTimer) {
  ::grpc::ServerContext sc;
  BuiltCall built = Built(&sc, milliseconds(10));
  EXPECT_FALSE(built.context.Done().Ready());
  built.end_call(CallFinishedCause());  // release the timer
}

TEST(BuildCall, EarlyEndBeforeTheSlackIsBornDoneWithItsCause) {
  ::grpc::ServerContext sc;
  BuiltCall built = Built(&sc, minutes(1));
  ASSERT_TRUE(built.context.Done().Ready());
  EXPECT_EQ(Cause(built.context), ClientCanceledCause());
}

TEST(BuildCall, BudgetBeyondTheClockStaysADeadline) {
  // TimePoint::max() would read as no deadline: an outgoing call bound to
  // the context would carry none.
  ::grpc::ServerContext sc;
  ServerOptions options;
  options.default_timeout = Clock::duration::max();
  options.max_timeout.reset();
  const TimePoint now = Clock::now();
  const Metadata none;
  BuiltCall built = BuildCall(NormalizeOptions(options), &sc, none, nullptr,
                              /*generic=*/false, /*echo=*/false, now, now);
  ASSERT_TRUE(built.deadline.has_value());
  EXPECT_LT(*built.deadline, TimePoint::max());
  EXPECT_EQ(built.context.Deadline(), built.deadline)
      << "the context's deadline and the call's record differ";
  built.end_call(CallFinishedCause());  // release the timer
}

}  // namespace
}  // namespace ctx::grpc::internal
