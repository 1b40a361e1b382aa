// SPDX-License-Identifier: Apache-2.0
// A callback handler that first asks for its context after the client has
// gone: the context reports what ended the call when it ended, on both
// callback paths.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/callback_server.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

using std::chrono::milliseconds;

// ParkingService's Echo asks for nothing: it parks the call (its
// ServerContext and reactor) for the test to finish.
class ParkingService final : public ctxtest::TestService::CallbackService {
 public:
  ::grpc::ServerUnaryReactor* Echo(::grpc::CallbackServerContext* sc,
                                   const ctxtest::EchoRequest*,
                                   ctxtest::EchoResponse*) override {
    ::grpc::ServerUnaryReactor* reactor = UnaryReactorFor(sc);
    std::lock_guard<std::mutex> lock(mu_);
    sc_ = sc;
    reactor_ = reactor;
    cv_.notify_all();
    return reactor;
  }

  // WaitParked waits (at most kCap) for a call to be parked.
  bool WaitParked() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kCap, [&] { return sc_ != nullptr; });
  }
  ::grpc::CallbackServerContext* sc() {
    std::lock_guard<std::mutex> lock(mu_);
    return sc_;
  }
  void Finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (reactor_ != nullptr) reactor_->Finish(::grpc::Status::OK);
    reactor_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  ::grpc::CallbackServerContext* sc_ = nullptr;
  ::grpc::ServerUnaryReactor* reactor_ = nullptr;
};

// The client's side of one call: its status once done.
struct ClientCall {
  ::grpc::ClientContext context;
  ctxtest::EchoRequest request;
  ctxtest::EchoResponse response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  ::grpc::Status status;

  bool WaitDone() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kCap, [&] { return done; });
  }
};

// LateContextTest makes one call to a ParkingService on the callback path
// chosen by the test's parameter: its client cancels it, and the test then
// asks for the server context once the call's deadline and the largest
// DeadlineSlack have passed.
class LateContextTest : public ::testing::TestWithParam<bool> {
 protected:
  // ContextAskedLate runs the call on a server that caps every call at
  // `budget` (ServerOptions::max_timeout, counted from the call's arrival),
  // cancels it from the client once the handler has it (at once, or
  // `cancel_before` ahead of the latest the server's deadline can be), and
  // returns the server's context, first asked for late; the client's status
  // goes to *client_status. The client's own deadline is a minute away, so
  // that only the test's cancel ends the call: gRPC may send a grpc-timeout
  // larger than what the client has left (by tens of milliseconds under
  // TSan), so a client deadline would land at an unknown point of the
  // server's budget.
  Context ContextAskedLate(const ServerOptions& options, milliseconds budget,
                           std::optional<milliseconds> cancel_before,
                           ::grpc::StatusCode* client_status) {
    ServerOptions capped = options;
    capped.max_timeout = budget;
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    if (GetParam()) {
      std::vector<std::unique_ptr<
          ::grpc::experimental::ServerInterceptorFactoryInterface>>
          creators;
      creators.push_back(MakeServerInterceptorFactory(capped));
      builder.experimental().SetInterceptorCreators(std::move(creators));
    } else {
      builder.SetContextAllocator(MakeContextAllocator(capped));
    }
    server_ = builder.BuildAndStart();
    if (server_ == nullptr) {
      ADD_FAILURE() << "server did not start";
      return Background();
    }
    TestServer handle{nullptr, port};
    std::unique_ptr<ctxtest::TestService::Stub> stub = handle.NewStub();

    ClientCall call;
    call.context.set_deadline(std::chrono::system_clock::now() + budget +
                              std::chrono::minutes(1));
    ClientCall* c = &call;
    stub->async()->Echo(&c->context, &c->request, &c->response,
                        [c](::grpc::Status s) {
                          std::lock_guard<std::mutex> lock(c->mu);
                          c->status = std::move(s);
                          c->done = true;
                          c->cv.notify_all();
                        });
    if (!service_.WaitParked()) {
      ADD_FAILURE() << "handler never ran";
      return Background();
    }
    // The call arrived before its handler parked it: the server's deadline
    // is at most parked + budget.
    const TimePoint parked = Clock::now();
    if (cancel_before) {
      std::this_thread::sleep_until(parked + budget - *cancel_before);
    }
    c->context.TryCancel();
    if (!c->WaitDone()) {
      ADD_FAILURE() << "the ended call never completed";
      return Background();
    }
    *client_status = c->status.error_code();

    // Wait out the server's deadline plus more than the largest DeadlineSlack,
    // then ask.
    std::this_thread::sleep_until(parked + budget + milliseconds(100));
    return CallContext(service_.sc());
  }

  void TearDown() override {
    service_.Finish();
    if (server_ != nullptr) {
      ShutdownNow(server_.get());
      server_->Wait();
    }
  }

 private:
  ParkingService service_;
  std::unique_ptr<::grpc::Server> server_;
};

INSTANTIATE_TEST_SUITE_P(CallbackPaths, LateContextTest,
                         ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Interceptor")
                                             : std::string("NoInterceptor");
                         });

// kEarlyCancelBudget is the budget of the calls a client cancels at once. The
// server judges the cancel when gRPC hands it over, not when it was sent, so
// the budget must outlast any delay that hand-over meets: with TSan and the
// CPUs oversubscribed, a 500 ms budget was seen to run out first (1 run in
// 10 with three busy loops on two CPUs).
constexpr milliseconds kEarlyCancelBudget(2000);

// A client cancel long before the deadline is a cancel, even when the handler
// first asks for its context after that deadline has passed.
TEST_P(LateContextTest, EarlyClientCancelIsReportedAfterTheDeadlinePassed) {
  ::grpc::StatusCode client = ::grpc::StatusCode::OK;
  const Context server_ctx =
      ContextAskedLate({}, kEarlyCancelBudget, std::nullopt, &client);
  EXPECT_EQ(client, ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(server_ctx.Err(), Errc::kCanceled)
      << "first asked after the deadline, for a call the client canceled "
         "long before it: "
      << Cause(server_ctx);
  EXPECT_EQ(Cause(server_ctx).message(),
            "ctx::grpc: call canceled by the client, a disconnect or gRPC");
}

// min_timeout judges the budget the call arrived with, not what is left when
// the handler first asks: a call canceled early stays a cancel.
TEST_P(LateContextTest, MinTimeoutJudgesTheBudgetAtArrival) {
  ServerOptions options;
  options.min_timeout = milliseconds(100);
  ::grpc::StatusCode client = ::grpc::StatusCode::OK;
  const Context server_ctx =
      ContextAskedLate(options, kEarlyCancelBudget, std::nullopt, &client);
  EXPECT_EQ(client, ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(server_ctx.Err(), Errc::kCanceled)
      << "a 2 s budget is above a 100 ms minimum: " << Cause(server_ctx);
}

// A cancel that comes within the slack of the budget at arrival (2 ms + 2 % of
// 2 s = 42 ms) before the deadline counts as the deadline's, as it would have
// had the context been built on arrival. One sent at most 25 ms before the
// server's deadline is within that slack (a later arrival only shortens the
// gap), but not within the slack of the 25 ms then left (2.5 ms) unless the
// handler parked or the cancel travelled for 22 ms.
TEST_P(LateContextTest, CancelJustBeforeTheDeadlineIsTheDeadline) {
  ::grpc::StatusCode client = ::grpc::StatusCode::OK;
  const Context server_ctx =
      ContextAskedLate({}, milliseconds(2000), milliseconds(25), &client);
  EXPECT_EQ(client, ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(server_ctx.Err(), Errc::kDeadlineExceeded)
      << "server context: " << Cause(server_ctx);
}

}  // namespace
}  // namespace ctx::grpc::testing
