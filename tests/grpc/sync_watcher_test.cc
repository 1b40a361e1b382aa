// SPDX-License-Identifier: Apache-2.0
// The sync watcher under cancel storms: many watched calls canceled at once,
// calls finishing while their cancel is being pushed, and servers (with their
// watchers) destroyed while their calls' cancels are being pushed.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "ctx/context.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

constexpr int kIterations = 5;
constexpr int kCallsPerServer = 2;

// Each iteration cancels a server's watched sync calls and destroys the server
// at once, so the calls' push callbacks (and the hooks they run) may still be
// running when the server goes away. Nothing may touch freed memory (ASan,
// TSan) and every handler's context must end.
TEST(SyncWatcher, ServerDestroyedWhileItsCancelsArePushedIsSafe) {
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    Env env;
    auto server = std::make_unique<ApiServer>(Api::kSync, &env);
    auto stub = server->NewStub();
    auto [client_ctx, cancel] = WithCancel(Background());
    std::vector<std::unique_ptr<PendingCall>> calls;
    for (int i = 0; i < kCallsPerServer; ++i)
      calls.push_back(StartEcho(stub.get(), client_ctx, "wait"));
    // No ASSERT before the server is gone: every call must end first.
    const bool started = env.recorder.WaitForCount(kCallsPerServer);
    EXPECT_TRUE(started) << "iteration " << iteration << ": handlers started "
                         << env.recorder.Count() << ", want "
                         << kCallsPerServer;
    cancel();
    server.reset();
    for (std::size_t i = 0; i < env.recorder.Count(); ++i) {
      EXPECT_TRUE(env.recorder.Get(i).Done().Ready())
          << "iteration " << iteration << ": after the server shut down, call "
          << i << " is still live";
    }
    for (auto& call : calls) (void)call->Await();
    if (::testing::Test::HasFailure()) return;
  }
}

constexpr int kStormIterations = 2;
constexpr int kStormCalls = 16;

// Storm is a sync server with kStormCalls "wait" calls in flight under one
// client context, whose handlers all have their contexts (unless `started` is
// false). Members are destroyed in reverse: the calls end before the server.
struct Storm {
  Storm()
      : server(std::make_unique<ApiServer>(Api::kSync, &env)),
        stub(server->NewStub()),
        client(WithCancel(Background())) {
    for (int i = 0; i < kStormCalls; ++i)
      waits.push_back(StartEcho(stub.get(), client.context, "wait"));
    started = env.recorder.WaitForCount(kStormCalls);
  }

  Env env;
  std::unique_ptr<ApiServer> server;
  std::unique_ptr<ctxtest::TestService::Stub> stub;
  ContextAndCancel client;
  std::vector<std::unique_ptr<PendingCall>> waits;
  bool started = false;
};

// One client cancel reaches every watched call, each through its own push.
TEST(SyncWatcher, StormOfCancelsEndsEveryHandlersContext) {
  for (int iteration = 0; iteration < kStormIterations; ++iteration) {
    Storm storm;
    storm.client.cancel();
    ASSERT_TRUE(storm.started)
        << "iteration " << iteration << ": handlers started "
        << storm.env.recorder.Count() << ", want " << kStormCalls;
    for (int i = 0; i < kStormCalls; ++i) {
      const Context c = storm.env.recorder.Get(i);
      ASSERT_TRUE(c.Done().WaitFor(kCap))
          << "iteration " << iteration << ": client canceled " << kStormCalls
          << " calls, call " << i << "'s context is still live";
      EXPECT_EQ(c.Err(), Errc::kCanceled)
          << "iteration " << iteration << ": call " << i << " ended with "
          << c.Err().message() << ", want context canceled";
    }
  }
}

// Calls that finish on their own while a storm is pushed (they unwatch at
// PRE_SEND_STATUS, racing the push callbacks) are never touched after they
// are gone (ASan, TSan), and the storm still reaches every waiting call.
TEST(SyncWatcher, CallsFinishingDuringAStormAreSafe) {
  for (int iteration = 0; iteration < kStormIterations; ++iteration) {
    Storm storm;
    // Echo calls under their own context: each handler enrolls with the
    // watcher and returns at once, while the storm is pushed.
    std::vector<std::unique_ptr<PendingCall>> echoes;
    for (int i = 0; i < kStormCalls; ++i)
      echoes.push_back(StartEcho(storm.stub.get(), Background(), "echo"));
    storm.client.cancel();
    for (int i = 0; i < kStormCalls; ++i)
      echoes.push_back(StartEcho(storm.stub.get(), Background(), "echo"));
    ASSERT_TRUE(storm.started)
        << "iteration " << iteration << ": handlers started "
        << storm.env.recorder.Count() << ", want at least " << kStormCalls;
    for (auto& call : storm.waits) {
      const ::grpc::Status s = call->Await();
      EXPECT_EQ(s.error_code(), ::grpc::StatusCode::CANCELLED)
          << "iteration " << iteration << ": canceled wait call got "
          << s.error_code() << " " << s.error_message() << ", want CANCELLED";
    }
    for (auto& call : echoes) {
      const ::grpc::Status s = call->Await();
      EXPECT_TRUE(s.ok()) << "iteration " << iteration
                          << ": echo during a storm got " << s.error_code()
                          << " " << s.error_message() << ", want OK";
    }
    if (::testing::Test::HasFailure()) return;
  }
}

// A server shut down while a storm of many calls is pushed: any of their push
// callbacks may be running, or all may be done.
TEST(SyncWatcher, ServerDestroyedDuringAStormIsSafe) {
  for (int iteration = 0; iteration < kStormIterations; ++iteration) {
    Storm storm;
    EXPECT_TRUE(storm.started)
        << "iteration " << iteration << ": handlers started "
        << storm.env.recorder.Count() << ", want " << kStormCalls;
    storm.client.cancel();
    storm.server.reset();
    for (std::size_t i = 0; i < storm.env.recorder.Count(); ++i) {
      EXPECT_TRUE(storm.env.recorder.Get(i).Done().Ready())
          << "iteration " << iteration << ": after the server shut down, call "
          << i << " is still live";
    }
    for (auto& call : storm.waits) (void)call->Await();
    if (::testing::Test::HasFailure()) return;
  }
}

// Calls that finish normally cancel their own push children: nothing of them
// ends a later call's context, and the server's calls keep succeeding.
TEST(SyncWatcher, FinishedCallsLeaveNothingBehind) {
  Env env;
  ApiServer server(Api::kSync, &env);
  auto stub = server.NewStub();
  for (int i = 0; i < kStormCalls; ++i) {
    const ::grpc::Status s =
        StartEcho(stub.get(), Background(), "echo")->Await();
    ASSERT_TRUE(s.ok()) << "echo " << i << " got " << s.error_code() << " "
                        << s.error_message() << ", want OK";
  }
  // A call that waits is still live after all those finished calls.
  auto [client_ctx, cancel] = WithCancel(Background());
  auto wait = StartEcho(stub.get(), client_ctx, "wait");
  ASSERT_TRUE(env.recorder.WaitForCount(kStormCalls + 1))
      << "handlers started " << env.recorder.Count() << ", want "
      << kStormCalls + 1;
  const Context c = env.recorder.Get(kStormCalls);
  EXPECT_FALSE(c.Done().Ready())
      << "a waiting call's context ended before its client canceled: "
      << c.Err().message();
  cancel();
  EXPECT_TRUE(c.Done().WaitFor(kCap))
      << "client canceled the waiting call, its context is still live";
  (void)wait->Await();
}

}  // namespace
}  // namespace ctx::grpc::testing
