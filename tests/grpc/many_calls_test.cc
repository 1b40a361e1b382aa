// SPDX-License-Identifier: Apache-2.0
// Many calls in flight canceled at once: every context ends, and no call state
// outlives its call.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "call_registry.h"
#include "call_state.h"
#include "ctx/context.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

// Under ThreadSanitizer gRPC runs 5-20x slower and a thousand calls can take
// minutes just to start: the sanitizer build runs the same code on fewer calls
// (a tenth of the callback calls, a quarter of the others); the Release build
// runs the full counts.
#if defined(__SANITIZE_THREAD__)
constexpr int kCallbackDivisor = 10;
constexpr int kOtherDivisor = 4;
#else
constexpr int kCallbackDivisor = 1;
constexpr int kOtherDivisor = 1;
#endif

// Starts n "wait" calls under one client context, cancels it, and checks every
// server context ends.
void CancelManyAtOnce(Api api, int n) {
  {
    Env env;
    ApiServer server(api, &env);
    auto stub = server.NewStub();
    auto [client_ctx, cancel] = WithCancel(Background());
    std::vector<std::unique_ptr<PendingCall>> calls;
    calls.reserve(n);
    for (int i = 0; i < n; ++i)
      calls.push_back(StartEcho(stub.get(), client_ctx, "wait"));
    // No ASSERT before the cancel: every call must end before the test does.
    const bool all_started = env.recorder.WaitForCount(n);
    EXPECT_TRUE(all_started)
        << "handlers started: " << env.recorder.Count() << ", want " << n;
    cancel();
    const std::size_t started = env.recorder.Count();
    for (std::size_t i = 0; i < started; ++i) {
      const Context c = env.recorder.Get(i);
      ASSERT_TRUE(c.Done().WaitFor(kCap))
          << "after cancel: call " << i << " still live";
      EXPECT_EQ(c.Err(), Errc::kCanceled);
    }
    int cancelled = 0;
    for (auto& call : calls) {
      cancelled += call->Await().error_code() == ::grpc::StatusCode::CANCELLED;
    }
    EXPECT_EQ(cancelled, n);
  }
  // The server and every recorded handle are gone: nothing of the calls may
  // remain.
  EXPECT_EQ(internal::CallRegistry::Global().Size(), 0u)
      << "calls still registered";
  EXPECT_EQ(internal::CallState::Live(), 0)
      << "call states alive after their calls";
}

TEST(ManyCalls, ThousandCallbackCallsCanceledAtOnceAllEnd) {
  CancelManyAtOnce(Api::kCallback, 1000 / kCallbackDivisor);
}

TEST(ManyCalls, ThousandCallbackCallsWithoutInterceptorCanceledAtOnceAllEnd) {
  CancelManyAtOnce(Api::kCallbackNoInterceptor, 1000 / kCallbackDivisor);
}

TEST(ManyCalls, HundredAsyncCallsCanceledAtOnceAllEnd) {
  CancelManyAtOnce(Api::kAsync, 100 / kOtherDivisor);
}

// Sync calls each hold a server thread; 64 keep the watcher's sweep busy (~1 ms
// per sweep).
TEST(ManyCalls, SixtyFourSyncCallsCanceledAtOnceAllEnd) {
  CancelManyAtOnce(Api::kSync, 64 / kOtherDivisor);
}

// A storm: the watcher finds every call canceled in the same sweeps, and runs
// their close hooks and context callbacks itself.
TEST(ManyCalls, TwoHundredSyncCallsCanceledAtOnceAllEnd) {
  CancelManyAtOnce(Api::kSync, 200 / kOtherDivisor);
}

}  // namespace
}  // namespace ctx::grpc::testing
