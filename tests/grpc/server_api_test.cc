// SPDX-License-Identifier: Apache-2.0
// The call context under each server API (sync, callback, async): what it
// carries, and every way it ends: client cancel, deadline, call end, server
// shutdown, root cancel.

#include <grpc/support/time.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "call_registry.h"
#include "call_state.h"
#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/callback_server.h"
#include "ctx/grpc/server_interceptor.h"
#include "ctx/propagation.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ServerApiTest : public ApiServerTest {
 protected:
  void TearDown() override {
    stub_.reset();
    server_.reset();
    EXPECT_EQ(internal::CallRegistry::Global().Size(), 0u)
        << "after the server is gone: calls still registered";
  }
};

INSTANTIATE_TEST_SUITE_P(AllApis, ServerApiTest, ::testing::ValuesIn(kAllApis),
                         ApiName);

TEST_P(ServerApiTest, GeneratesRequestIdWhenMissingAndEchoesIt) {
  Start();
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(Echo(stub_.get(), "echo", &response, nullptr, &md).ok());
  EXPECT_TRUE(IsValidRequestId(response.request_id())) << response.request_id();
  EXPECT_EQ(response.request_id().size(), 32u);
  ASSERT_EQ(md.count("x-request-id"), 1u);
  EXPECT_EQ(md.find("x-request-id")->second, response.request_id())
      << "echoed id differs from the handler's";
}

// EchoWithId calls "echo" with `id` as the client's x-request-id and returns
// whether it succeeded, filling `response` and `md` (the initial metadata).
bool EchoWithId(ctxtest::TestService::Stub* stub, const std::string& id,
                ctxtest::EchoResponse* response,
                std::multimap<std::string, std::string>* md) {
  return Echo(
             stub, "echo", response,
             [&id](::grpc::ClientContext* c) {
               c->AddMetadata("x-request-id", id);
             },
             md)
      .ok();
}

TEST_P(ServerApiTest, KeepsValidRequestIdWithoutEchoingIt) {
  Start();
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(EchoWithId(stub_.get(), "req-42.a_b:c", &response, &md));
  EXPECT_EQ(response.request_id(), "req-42.a_b:c");
  EXPECT_EQ(md.count("x-request-id"), 0u)
      << "a client's own valid id was echoed";
}

TEST_P(ServerApiTest, EchoesReplacedRequestId) {
  Start();
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(EchoWithId(stub_.get(), "bad id", &response, &md));
  EXPECT_NE(response.request_id(), "bad id");
  ASSERT_EQ(md.count("x-request-id"), 1u) << "replaced id not echoed";
  EXPECT_EQ(md.find("x-request-id")->second, response.request_id());
}

TEST_P(ServerApiTest, AlwaysEchoEchoesClientRequestId) {
  ServerOptions options;
  options.always_echo_request_id = true;
  Start(options);
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(EchoWithId(stub_.get(), "req-42.a_b:c", &response, &md));
  ASSERT_EQ(md.count("x-request-id"), 1u) << "always_echo_request_id";
  EXPECT_EQ(md.find("x-request-id")->second, "req-42.a_b:c");
}

TEST_P(ServerApiTest, CarriesClientDeadline) {
  Start();
  ctxtest::EchoResponse response;
  // On gRPC's monotonic clock, as BoundClientContext sends it: a
  // system_clock deadline would add a crossing between clocks in gRPC's
  // client, which a preempted thread can shift by the preemption.
  ASSERT_TRUE(
      Echo(stub_.get(), "echo", &response, [](::grpc::ClientContext* c) {
        c->set_deadline(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                     gpr_time_from_seconds(10, GPR_TIMESPAN)));
      }).ok());
  // The bridge's part: the handler's context has gRPC's deadline for the
  // call, exactly (one crossing between two readings of the same clock).
  ASSERT_TRUE(response.has_deadline_vs_grpc_us());
  EXPECT_LE(std::abs(response.deadline_vs_grpc_us()), 1'000);
  // gRPC's part, loosely: it sends the time left rounded up (at most +1 %, see
  // ../shared/design/grpc-notes.md) as of its client's clock reading, and the
  // server adds it to its own reading, so a delayed client or server (a loaded
  // machine, a sanitizer) lengthens the server's deadline by the delay.
  EXPECT_LE(response.deadline_ms(), 11'000);
  EXPECT_GE(response.deadline_ms(), 5'000);
}

TEST_P(ServerApiTest, ClientCancelCancelsContext) {
  Start();
  auto [client_ctx, cancel] = WithCancel(Background());
  std::unique_ptr<PendingCall> call =
      StartEcho(stub_.get(), client_ctx, "wait");
  ASSERT_TRUE(CancelReachesHandler(env_.recorder, cancel));
  EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_P(ServerApiTest, ServerDeadlineEndsContextWithDeadlineExceeded) {
  ServerOptions options;
  options.max_timeout =
      milliseconds(100);  // earlier than anything the client knows of
  Start(options);
  std::unique_ptr<PendingCall> call =
      StartEcho(stub_.get(), Background(), "wait");
  ASSERT_TRUE(env_.recorder.WaitForCount(1)) << "handler never ran";
  const Context server_ctx = env_.recorder.Get(0);
  ASSERT_TRUE(server_ctx.Done().WaitFor(kCap))
      << "deadline passed: server context still live";
  EXPECT_EQ(server_ctx.Err(), Errc::kDeadlineExceeded) << Cause(server_ctx);
  EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
}

// A client's expired deadline reaches the server as a cancel, slightly before
// the server's own copy of the deadline (which is later by the latency): the
// context ends either way, normally reported as kDeadlineExceeded
// (CallState::DeadlineSlack), as kCanceled when the cancel arrives unusually
// early.
TEST_P(ServerApiTest, ClientDeadlineExpiryEndsContext) {
  Start();
  // A first call connects the channel, so the budget below is not spent on
  // the handshake (a call that expires before the server takes it never
  // reaches a handler).
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_.get(), "echo", &response).ok());
  auto [client_ctx, cancel] = WithTimeout(Background(), milliseconds(500));
  std::unique_ptr<PendingCall> call =
      StartEcho(stub_.get(), client_ctx, "wait");
  ASSERT_TRUE(env_.recorder.WaitForCount(2)) << "handler never ran";
  const Context server_ctx = env_.recorder.Get(1);
  ASSERT_TRUE(server_ctx.Done().WaitFor(kCap))
      << "deadline passed: server context still live";
  EXPECT_TRUE(server_ctx.Err() == Errc::kDeadlineExceeded ||
              server_ctx.Err() == Errc::kCanceled)
      << server_ctx.Err();
  EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_P(ServerApiTest, ContextEndsWhenCallFinishes) {
  Start();
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_.get(), "echo", &response).ok());
  ASSERT_EQ(env_.recorder.Count(), 1u);
  const Context server_ctx = env_.recorder.Get(0);
  ASSERT_TRUE(server_ctx.Done().WaitFor(kCap))
      << "call finished: its context is still live";
  EXPECT_EQ(server_ctx.Err(), Errc::kCanceled);
  EXPECT_EQ(Cause(server_ctx).message(), "ctx::grpc: call finished");
}

TEST_P(ServerApiTest, ContextCarriesMethodPeerAndRequestIdSource) {
  Start();
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_.get(), "echo", &response).ok());
  const Context server_ctx = env_.recorder.Get(0);
  const CallInfo* info = server_ctx.Value(kCallInfoKey);
  ASSERT_NE(info, nullptr);
  // Without an interceptor gRPC does not name the method (callback_server.h).
  EXPECT_EQ(info->method(), GetParam() == Api::kCallbackNoInterceptor
                                ? ""
                                : "/ctxtest.TestService/Echo");
  EXPECT_EQ(info->peer().rfind("ipv4:127.0.0.1:", 0), 0u) << info->peer();
  EXPECT_EQ(info->request_id_source(), IdSource::kGenerated);
}

// gRPC answers a method no service registered itself (its own generic
// service, on the callback paths); the bridge must leave gRPC's own context
// for that call alone.
TEST_P(ServerApiTest, UnknownMethodIsUnimplemented) {
  Start();
  for (int i = 0; i < 3; ++i) {
    GenericCall call(server_->port(), "/ctxtest.TestService/NoSuchMethod",
                     "unknown-method-" + std::to_string(i));
    const ::grpc::Status status = call.Await();
    EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNIMPLEMENTED)
        << status.error_message();
  }
  ctxtest::EchoResponse response;
  EXPECT_TRUE(Echo(stub_.get(), "echo", &response).ok())
      << "the server no longer serves after unknown methods";
}

TEST_P(ServerApiTest, ShutdownCancelsCallsInFlight) {
  Start();
  constexpr int kCalls = 4;
  std::vector<std::unique_ptr<PendingCall>> calls;
  for (int i = 0; i < kCalls; ++i)
    calls.push_back(StartEcho(stub_.get(), Background(), "wait"));
  ASSERT_TRUE(env_.recorder.WaitForCount(kCalls)) << "handlers never ran";
  ShutdownNow(server_->server());
  for (int i = 0; i < kCalls; ++i) {
    const Context c = env_.recorder.Get(i);
    ASSERT_TRUE(c.Done().WaitFor(kCap))
        << "after shutdown: call " << i << " still live";
    EXPECT_EQ(c.Err(), Errc::kCanceled);
  }
  for (auto& call : calls) EXPECT_FALSE(call->Await().ok());
}

TEST_P(ServerApiTest, RootCancelCancelsCallsInFlight) {
  auto [root, cancel_root] = WithCancelCause(Background());
  ServerOptions options;
  options.root = root;
  Start(options);
  constexpr int kCalls = 3;
  std::vector<std::unique_ptr<PendingCall>> calls;
  for (int i = 0; i < kCalls; ++i)
    calls.push_back(StartEcho(stub_.get(), Background(), "wait"));
  ASSERT_TRUE(env_.recorder.WaitForCount(kCalls)) << "handlers never ran";
  cancel_root(Error(Errc::kCanceled, "draining"));
  for (int i = 0; i < kCalls; ++i) {
    const Context c = env_.recorder.Get(i);
    ASSERT_TRUE(c.Done().WaitFor(kCap))
        << "root canceled: call " << i << " still live";
    EXPECT_EQ(Cause(c).message(), "draining");
  }
  for (auto& call : calls)
    EXPECT_EQ(call->Await().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST(CallContext, WithoutInterceptorIsBornCanceled) {
  Env env;
  SyncService service(&env);
  TestServer server = StartServer(&service, {}, /*with_interceptor=*/false);
  auto stub = server.NewStub();
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub.get(), "echo", &response).ok());
  const Context c = env.recorder.Get(0);
  EXPECT_EQ(c.Err(), Errc::kCanceled);
  EXPECT_NE(Cause(c).message().find("no call context"), std::string::npos)
      << Cause(c);
  ShutdownNow(server.server.get());
}

TEST(CallContext, NullServerContextIsBornCanceled) {
  EXPECT_EQ(CallContext(nullptr).Err(), Errc::kCanceled);
}

// EchoOnce serves one "echo" call prepared by `prepare` on a sync server with
// `options`, and returns the handler's answer (and the echoed metadata in md).
ctxtest::EchoResponse EchoOnce(
    const ServerOptions& options,
    const std::function<void(::grpc::ClientContext*)>& prepare,
    std::multimap<std::string, std::string>* md = nullptr) {
  Env env;
  ApiServer server(Api::kSync, &env, options);
  ctxtest::EchoResponse response;
  const ::grpc::Status s =
      Echo(server.NewStub().get(), "echo", &response, prepare, md);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return response;
}

void DeadlineIn(::grpc::ClientContext* c, std::chrono::seconds d) {
  c->set_deadline(std::chrono::system_clock::now() + d);
}
void NoDeadline(::grpc::ClientContext* c) {
  c->set_deadline(std::chrono::system_clock::time_point::max());
}

TEST(ServerOptions, CapShortensClientDeadline) {
  ServerOptions options;
  options.max_timeout = seconds(2);
  const ctxtest::EchoResponse r =
      EchoOnce(options, [](auto* c) { DeadlineIn(c, seconds(60)); });
  EXPECT_LE(r.deadline_ms(), 2'000);
  EXPECT_GT(r.deadline_ms(), 0);
}

TEST(ServerOptions, DefaultTimeoutAppliesWhenClientSendsNone) {
  ServerOptions options;
  options.max_timeout.reset();
  options.default_timeout = seconds(3);
  const ctxtest::EchoResponse r = EchoOnce(options, NoDeadline);
  EXPECT_LE(r.deadline_ms(), 3'000);
  EXPECT_GT(r.deadline_ms(), 0);
}

TEST(ServerOptions, NoDeadlineWithoutClientDeadlineOrPolicy) {
  ServerOptions options;
  options.max_timeout.reset();
  EXPECT_EQ(EchoOnce(options, NoDeadline).deadline_ms(), -1);
}

TEST(ServerOptions, EchoCanBeTurnedOff) {
  ServerOptions options;
  options.echo_request_id = false;
  std::multimap<std::string, std::string> md;
  const ctxtest::EchoResponse r = EchoOnce(options, nullptr, &md);
  EXPECT_EQ(md.count("x-request-id"), 0u);
  EXPECT_TRUE(IsValidRequestId(r.request_id()));
}

TEST(ServerOptions, CustomKeysAreLowercased) {
  ServerOptions options;
  options.request_id_key = "X-Trace-Id";
  options.session_key = "X-Tenant";
  options.always_echo_request_id = true;  // the echo shows the key used
  std::multimap<std::string, std::string> md;
  const ctxtest::EchoResponse r = EchoOnce(
      options,
      [](::grpc::ClientContext* c) {
        c->AddMetadata("x-trace-id", "t-1");
        c->AddMetadata("x-tenant", "acme");
      },
      &md);
  EXPECT_EQ(r.request_id(), "t-1");
  EXPECT_EQ(r.session_id(), "acme");
  EXPECT_EQ(md.count("x-trace-id"), 1u);
}

// A key gRPC would refuse to send aborts the process at the first echo (gRPC
// asserts), and one that frames the message would be dropped or misread:
// refused when the server is set up, on both paths.
TEST(ServerOptions, KeyThatCannotCarryAnIdIsRefusedAtSetup) {
  const std::string too_long(65, 'x');
  for (const char* key :
       {"", "x request id", "x-request-id:", ":path", "x-request-id-bin",
        "grpc-request-id", "x-\xc3\xa9", too_long.c_str(), "te", "Connection",
        "transfer-encoding", "keep-alive", "upgrade", "host", "content-type",
        "content-length"}) {
    ServerOptions request_id;
    request_id.request_id_key = key;
    EXPECT_THROW((void)MakeServerInterceptorFactory(request_id),
                 std::invalid_argument)
        << "request_id_key \"" << key << "\"";
    EXPECT_THROW((void)MakeContextAllocator(request_id), std::invalid_argument)
        << "request_id_key \"" << key << "\"";
    ServerOptions session;
    session.session_key = key;
    EXPECT_THROW((void)MakeServerInterceptorFactory(session),
                 std::invalid_argument)
        << "session_key \"" << key << "\"";
  }
  ServerOptions fine;
  fine.request_id_key = "X-Trace_Id.v2";
  EXPECT_NO_THROW((void)MakeServerInterceptorFactory(fine));
}

TEST(ServerOptions, SessionIdIsCarried) {
  const ctxtest::EchoResponse r = EchoOnce({}, [](::grpc::ClientContext* c) {
    c->AddMetadata("x-session-id", "sess-7");
  });
  EXPECT_EQ(r.session_id(), "sess-7");
}

}  // namespace
}  // namespace ctx::grpc::testing
