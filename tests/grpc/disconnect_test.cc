// SPDX-License-Identifier: Apache-2.0
// A client whose connection vanishes (reset, no gRPC cancel on the wire): the
// handler's context ends, under every server API and both callback paths.

#include <gtest/gtest.h>

#include <memory>

#include "ctx/context.h"
#include "tcp_cutter.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

class DisconnectTest : public ::testing::TestWithParam<Api> {};

INSTANTIATE_TEST_SUITE_P(AllApis, DisconnectTest, ::testing::ValuesIn(kAllApis),
                         ApiName);

TEST_P(DisconnectTest, VanishedClientEndsTheHandlersContext) {
  Env env;  // first: the server's shutdown still uses its executor
  ApiServer server(GetParam(), &env);
  TcpCutter cutter(server.port());
  TestServer through_cutter{nullptr, cutter.port()};
  std::unique_ptr<ctxtest::TestService::Stub> stub = through_cutter.NewStub();
  std::unique_ptr<PendingCall> call =
      StartEcho(stub.get(), Background(), "wait");
  ASSERT_TRUE(env.recorder.WaitForCount(1)) << "handler never ran";
  const Context server_ctx = env.recorder.Get(0);
  ASSERT_FALSE(server_ctx.Done().Ready()) << "ended before the disconnect";

  cutter.Cut();
  ASSERT_TRUE(server_ctx.Done().WaitFor(kCap))
      << "client connection reset: handler's context still live";
  EXPECT_EQ(server_ctx.Err(), Errc::kCanceled) << Cause(server_ctx);
  EXPECT_EQ(Cause(server_ctx).message(),
            "ctx::grpc: call canceled by the client, a disconnect or gRPC");
  EXPECT_FALSE(call->Await().ok()) << "the client's call survived the reset";
}

}  // namespace
}  // namespace ctx::grpc::testing
