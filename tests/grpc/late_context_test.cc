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
#include <string>
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

class LateContextTest : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(CallbackPaths, LateContextTest,
                         ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Interceptor")
                                             : std::string("NoInterceptor");
                         });

// A client cancel long before the deadline is a cancel, even when the handler
// first asks for its context after that deadline has passed.
TEST_P(LateContextTest, EarlyClientCancelIsReportedAfterTheDeadlinePassed) {
  const bool with_interceptor = GetParam();
  ParkingService service;
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  if (with_interceptor) {
    std::vector<std::unique_ptr<
        ::grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(MakeServerInterceptorFactory({}));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  } else {
    builder.SetContextAllocator(MakeContextAllocator({}));
  }
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  TestServer handle{nullptr, port};
  std::unique_ptr<ctxtest::TestService::Stub> stub = handle.NewStub();

  constexpr milliseconds kBudget{500};
  auto call = std::make_unique<ClientCall>();
  call->context.set_deadline(std::chrono::system_clock::now() + kBudget);
  // The server's deadline is no later than the client's, as of now.
  auto [past_deadline, release] = WithTimeout(Background(), kBudget);
  ClientCall* c = call.get();
  stub->async()->Echo(&c->context, &c->request, &c->response,
                      [c](::grpc::Status s) {
                        std::lock_guard<std::mutex> lock(c->mu);
                        c->status = std::move(s);
                        c->done = true;
                        c->cv.notify_all();
                      });
  ASSERT_TRUE(service.WaitParked()) << "handler never ran";
  c->context.TryCancel();
  ASSERT_TRUE(c->WaitDone()) << "the canceled call never completed";
  EXPECT_EQ(c->status.error_code(), ::grpc::StatusCode::CANCELLED);

  // Wait out the deadline (plus the largest DeadlineSlack's worth), then ask.
  ASSERT_TRUE(past_deadline.Done().WaitFor(kCap));
  auto [later, release_later] = WithTimeout(Background(), milliseconds(100));
  (void)later.Done().WaitFor(kCap);
  const Context server_ctx = CallContext(service.sc());
  EXPECT_EQ(server_ctx.Err(), Errc::kCanceled)
      << "first asked after the deadline, for a call the client canceled "
         "long before it: "
      << Cause(server_ctx);
  EXPECT_EQ(Cause(server_ctx).message(),
            "ctx::grpc: call canceled by the client, a disconnect or gRPC");
  service.Finish();
  stub.reset();
  ShutdownNow(server.get());
  server->Wait();
}

}  // namespace
}  // namespace ctx::grpc::testing
