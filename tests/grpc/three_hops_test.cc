// SPDX-License-Identifier: Apache-2.0
// Three services in one process, A -> B -> C (A and B sync and forwarding
// through BoundClientContext, C callback): the request id, cancellation, the
// deadline, the trace context and pass-through metadata travel the whole
// chain.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

// ThreeHopsBase runs client -> A (sync) -> B (sync) -> C (callback, on the path
// CApi names).
class ThreeHopsBase : public ::testing::Test {
 protected:
  void SetUp() override {
    const ServerOptions options = HopOptions();
    c_ = std::make_unique<ApiServer>(CApi(), &env_c_, options);
    stub_c_ = c_->NewStub();
    env_b_.downstream = stub_c_.get();
    b_ = std::make_unique<ApiServer>(Api::kSync, &env_b_, options);
    stub_b_ = b_->NewStub();
    env_a_.downstream = stub_b_.get();
    a_ = std::make_unique<ApiServer>(Api::kSync, &env_a_, options);
    stub_a_ = a_->NewStub();
  }
  // HopOptions is what every hop's server is built with.
  virtual ServerOptions HopOptions() const { return {}; }
  // CApi is the callback path C serves with.
  virtual Api CApi() const { return Api::kCallback; }
  void TearDown() override {
    stub_a_.reset();
    a_.reset();
    stub_b_.reset();
    b_.reset();
    stub_c_.reset();
    c_.reset();
  }

  // Waits until each hop's handler has recorded its context.
  void WaitForAllHops() {
    ASSERT_TRUE(env_a_.recorder.WaitForCount(1)) << "A never ran";
    ASSERT_TRUE(env_b_.recorder.WaitForCount(1)) << "B never ran";
    ASSERT_TRUE(env_c_.recorder.WaitForCount(1)) << "C never ran";
  }

  Env env_a_, env_b_, env_c_;
  std::unique_ptr<ApiServer> a_, b_, c_;
  std::unique_ptr<ctxtest::TestService::Stub> stub_a_, stub_b_, stub_c_;
};

// ThreeHopsTest runs every test with C on both callback paths.
class ThreeHopsTest : public ThreeHopsBase,
                      public ::testing::WithParamInterface<Api> {
 protected:
  Api CApi() const override { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(CallbackPaths, ThreeHopsTest,
                         ::testing::Values(Api::kCallback,
                                           Api::kCallbackNoInterceptor),
                         ApiName);

TEST_P(ThreeHopsTest, ClientRequestIdReachesC) {
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(Echo(
                  stub_a_.get(), "forward/forward/echo", &response,
                  [](::grpc::ClientContext* c) {
                    c->AddMetadata("x-request-id", "trace-123");
                  },
                  &md)
                  .ok());
  EXPECT_EQ(response.request_id(), "trace-123") << "C saw another id";
  EXPECT_EQ(*env_b_.recorder.Get(0).Value(kRequestIdKey), "trace-123");
  EXPECT_EQ(md.count("x-request-id"), 0u) << "A echoed the client's own id";
}

TEST_P(ThreeHopsTest, GeneratedRequestIdReachesCAndIsEchoedByA) {
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(
      Echo(stub_a_.get(), "forward/forward/echo", &response, nullptr, &md)
          .ok());
  const std::string a_id = *env_a_.recorder.Get(0).Value(kRequestIdKey);
  EXPECT_TRUE(IsValidRequestId(a_id));
  EXPECT_EQ(*env_b_.recorder.Get(0).Value(kRequestIdKey), a_id);
  EXPECT_EQ(response.request_id(), a_id) << "C saw another id";
  ASSERT_EQ(md.count("x-request-id"), 1u);
  EXPECT_EQ(md.find("x-request-id")->second, a_id) << "A echoed another id";
}

TEST_P(ThreeHopsTest, SessionIdReachesC) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_a_.get(), "forward/forward/echo", &response,
                   [](::grpc::ClientContext* c) {
                     c->AddMetadata("x-session-id", "s-9");
                   })
                  .ok());
  EXPECT_EQ(response.session_id(), "s-9");
}

TEST_P(ThreeHopsTest, ClientCancelAtAReachesC) {
  auto [client_ctx, cancel] = WithCancel(Background());
  std::unique_ptr<PendingCall> call =
      StartEcho(stub_a_.get(), client_ctx, "forward/forward/wait");
  WaitForAllHops();
  cancel();
  for (Env* env : {&env_c_, &env_b_, &env_a_}) {
    const Context hop = env->recorder.Get(0);
    ASSERT_TRUE(hop.Done().WaitFor(kCap))
        << "client canceled at A: a hop is still live";
    EXPECT_EQ(hop.Err(), Errc::kCanceled);
  }
  EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_P(ThreeHopsTest, DeadlineAtAEndsCFirstWithDeadlineExceeded) {
  auto [client_ctx, cancel] =
      WithTimeout(Background(), std::chrono::seconds(1));
  std::unique_ptr<PendingCall> call =
      StartEcho(stub_a_.get(), client_ctx, "forward/forward/wait");
  WaitForAllHops();
  const Context a = env_a_.recorder.Get(0);
  const Context b = env_b_.recorder.Get(0);
  const Context c = env_c_.recorder.Get(0);
  ASSERT_TRUE(a.Deadline() && b.Deadline() && c.Deadline());
  ASSERT_TRUE(c.Done().WaitFor(kCap)) << "A's deadline passed: C is still live";
  ASSERT_TRUE(b.Done().WaitFor(kCap)) << "A's deadline passed: B is still live";
  ASSERT_TRUE(a.Done().WaitFor(kCap)) << "A's deadline passed: A is still live";
  // Each hop sends what is left minus its margin and 3.1 % more (for a timeout
  // gRPC may resend), aimed below what gRPC sends unchanged
  // (deadline_hop_test pins it per hop); the callee's copy starts when the call
  // arrives, later by the hop's latency, and later still when gRPC computed the
  // timeout it sent from a stale clock reading (under TSan and load, A's
  // deadline was seen 235 ms past the client's with the call at A within
  // 66 ms). While every hop, the client's included, delivers a deadline
  // earlier than its caller's, C ends first, by its own deadline. C's
  // DEADLINE_EXCEEDED then reaches B, whose handler returns it: B's call
  // finishes tens of milliseconds before B's own deadline, or, within B's
  // DeadlineSlack of it, B's deadline ends it; and so for A.
  const TimePoint client_deadline = *client_ctx.Deadline();
  if (*a.Deadline() < client_deadline && *b.Deadline() < *a.Deadline() &&
      *c.Deadline() < *b.Deadline()) {
    EXPECT_EQ(c.Err(), Errc::kDeadlineExceeded)
        << "A's deadline passed: hop C ended with \"" << Cause(c)
        << "\", want its own deadline";
    const struct {
      const char* name;
      const Context* hop;
    } hops[] = {{"B", &b}, {"A", &a}};
    for (const auto& h : hops) {
      EXPECT_TRUE(h.hop->Err() == Errc::kDeadlineExceeded ||
                  Cause(*h.hop).message() == "ctx::grpc: call finished")
          << "A's deadline passed: hop " << h.name << " ended with \""
          << Cause(*h.hop)
          << "\", want its own deadline or its call finished after C's";
    }
  } else {
    // A hop delivered a deadline later than its caller's: the caller's gRPC
    // deadline may reach that hop as a plain cancel before its own deadline
    // (indistinguishable from a client's cancel), and the hops below it see
    // their calls canceled.
    EXPECT_TRUE(c.Err() == Errc::kDeadlineExceeded ||
                c.Err() == Errc::kCanceled)
        << c.Err();
  }
  EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
}

// HopTraces returns the trace context each hop's handler saw, A first.
std::vector<TraceContext> HopTraces(std::initializer_list<Env*> envs) {
  std::vector<TraceContext> traces;
  for (Env* env : envs) {
    const TraceContext* tc = env->recorder.Get(0).Value(kTraceContextKey);
    EXPECT_NE(tc, nullptr) << "a hop has no trace context";
    traces.push_back(tc ? *tc : TraceContext{});
  }
  return traces;
}

TEST_P(ThreeHopsTest, ClientTraceKeepsItsIdWithANewSpanPerHop) {
  constexpr char kTraceparent[] =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_a_.get(), "forward/forward/echo", &response,
                   [&](::grpc::ClientContext* c) {
                     c->AddMetadata("traceparent", kTraceparent);
                     c->AddMetadata("tracestate", "congo=t61rcWkgMzE");
                     c->AddMetadata("baggage", "userId=alice");
                   })
                  .ok());
  const std::vector<TraceContext> t = HopTraces({&env_a_, &env_b_, &env_c_});
  for (const TraceContext& hop : t) {
    EXPECT_EQ(hop.trace_id.ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(hop.sampled());
    EXPECT_EQ(hop.tracestate, "congo=t61rcWkgMzE");
    EXPECT_EQ(hop.baggage, "userId=alice");
  }
  EXPECT_EQ(t[0].parent_id.ToHex(), "00f067aa0ba902b7") << "A's parent";
  EXPECT_NE(t[1].parent_id, t[0].parent_id) << "B got A's caller's span";
  EXPECT_NE(t[2].parent_id, t[1].parent_id) << "C got B's caller's span";
  EXPECT_NE(t[2].parent_id, t[0].parent_id);
}

TEST_P(ThreeHopsTest, TraceStartedAtAReachesC) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_a_.get(), "forward/forward/echo", &response).ok());
  const std::vector<TraceContext> t = HopTraces({&env_a_, &env_b_, &env_c_});
  EXPECT_TRUE(t[0].trace_id.IsValid());
  EXPECT_EQ(t[1].trace_id, t[0].trace_id) << "B is in another trace";
  EXPECT_EQ(t[2].trace_id, t[0].trace_id) << "C is in another trace";
  EXPECT_NE(t[2].parent_id, t[1].parent_id);
}

TEST_P(ThreeHopsTest, InvalidTraceparentRestartsAtAWithoutItsState) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_a_.get(), "forward/forward/echo", &response,
                   [&](::grpc::ClientContext* c) {
                     c->AddMetadata(
                         "traceparent",
                         "00-00000000000000000000000000000000-00f067aa0ba902b7-"
                         "01");
                     c->AddMetadata("tracestate", "congo=t61rcWkgMzE");
                   })
                  .ok());
  const std::vector<TraceContext> t = HopTraces({&env_a_, &env_b_, &env_c_});
  EXPECT_TRUE(t[0].trace_id.IsValid());
  EXPECT_EQ(t[2].trace_id, t[0].trace_id);
  EXPECT_EQ(t[2].tracestate, "") << "a restarted trace keeps no tracestate";
}

// PassThroughHopsTest configures the same pass-through names on every hop.
class PassThroughHopsTest : public ThreeHopsBase {
 protected:
  ServerOptions HopOptions() const override {
    ServerOptions options;
    options.pass_through = MakePassThroughNames({"x-b3-traceid", "b3"});
    return options;
  }
  // PassedAtC returns the pass-through headers C's context held.
  PassThroughHeaders PassedAtC() {
    const PassThroughHeaders* h = env_c_.recorder.Get(0).Value(kPassThroughKey);
    return h ? *h : PassThroughHeaders{};
  }
};

TEST_F(PassThroughHopsTest, ConfiguredHeaderReachesCUnchanged) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_a_.get(), "forward/forward/echo", &response,
                   [](::grpc::ClientContext* c) {
                     c->AddMetadata("x-b3-traceid", "80f198ee56343ba8");
                     c->AddMetadata("x-other", "not-configured");
                   })
                  .ok());
  const PassThroughHeaders at_c = PassedAtC();
  ASSERT_EQ(at_c.size(), 1u) << "C's pass-through headers";
  EXPECT_EQ(at_c[0].name, "x-b3-traceid");
  EXPECT_EQ(at_c[0].value, "80f198ee56343ba8");
}

TEST_F(PassThroughHopsTest, RepeatedHeaderIsDropped) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_a_.get(), "forward/forward/echo", &response,
                   [](::grpc::ClientContext* c) {
                     c->AddMetadata("b3", "a");
                     c->AddMetadata("b3", "b");
                   })
                  .ok());
  EXPECT_TRUE(PassedAtC().empty()) << "an ambiguous value was passed on";
}

}  // namespace
}  // namespace ctx::grpc::testing
