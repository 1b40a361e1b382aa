// SPDX-License-Identifier: Apache-2.0
// The sync watcher's lifetime: servers (and their watchers) destroyed while the
// watcher still sweeps their calls.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "ctx/context.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

constexpr int kIterations = 5;
constexpr int kCallsPerServer = 2;

// Each iteration cancels a server's watched sync calls and destroys the server
// at once, so the watcher is still polling (or running the calls' hooks) when
// the server goes away: a call's last reference can then be released inside
// the poll, which destroys the watcher on its own thread. Nothing may touch
// freed memory (ASan, TSan) and every handler's context must end.
TEST(SyncWatcher, ServerDestroyedWhileItsCallsAreSweptIsSafe) {
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

}  // namespace
}  // namespace ctx::grpc::testing
