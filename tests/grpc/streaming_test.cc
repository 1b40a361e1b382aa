// Streaming calls canceled mid-stream: the handler's context ends, for the sync
// and callback APIs.

#include <gtest/gtest.h>

#include <memory>

#include "ctx/context.h"
#include "ctx/grpc/client_context.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

class StreamingTest : public ::testing::TestWithParam<Api> {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ApiServer>(GetParam(), &env_);
    stub_ = server_->NewStub();
  }
  void TearDown() override {
    stub_.reset();
    server_.reset();
  }

  Env env_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<ctxtest::TestService::Stub> stub_;
};

INSTANTIATE_TEST_SUITE_P(SyncAndCallback, StreamingTest,
                         ::testing::Values(Api::kSync, Api::kCallback),
                         ApiName);

TEST_P(StreamingTest, ServerStreamCanceledMidStreamEndsHandlerContext) {
  auto [c, cancel] = WithCancel(Background());
  BoundClientContext call(c);
  ctxtest::EchoRequest request;  // count 0: stream until canceled
  auto reader = stub_->ServerStream(call.get(), request);
  ctxtest::EchoResponse r;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Read(&r)) << "message " << i;
  ASSERT_TRUE(CancelReachesHandler(env_.recorder, cancel));
  while (reader->Read(&r)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_P(StreamingTest, BidiCanceledMidStreamEndsHandlerContext) {
  auto [c, cancel] = WithCancel(Background());
  BoundClientContext call(c);
  auto stream = stub_->Bidi(call.get());
  for (int i = 0; i < 2; ++i) {
    ctxtest::EchoRequest request;
    request.set_message("m" + std::to_string(i));
    ASSERT_TRUE(stream->Write(request));
    ctxtest::EchoResponse r;
    ASSERT_TRUE(stream->Read(&r));
    EXPECT_EQ(r.message(), request.message());
  }
  ASSERT_TRUE(CancelReachesHandler(env_.recorder, cancel));
  EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_P(StreamingTest, FinishedStreamEndsHandlerContext) {
  ::grpc::ClientContext call;
  ctxtest::EchoRequest request;
  request.set_count(3);
  auto reader = stub_->ServerStream(&call, request);
  ctxtest::EchoResponse r;
  int n = 0;
  while (reader->Read(&r)) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(reader->Finish().ok());
  const Context server_ctx = env_.recorder.Get(0);
  ASSERT_TRUE(server_ctx.Done().WaitFor(kCap))
      << "stream finished: context still live";
  EXPECT_EQ(server_ctx.Err(), Errc::kCanceled);
}

TEST(SyncStreaming, ClientStreamCanceledMidStreamEndsHandlerContext) {
  Env env;
  ApiServer server(Api::kSync, &env);
  auto stub = server.NewStub();
  auto [c, cancel] = WithCancel(Background());
  BoundClientContext call(c);
  ctxtest::EchoResponse response;
  auto writer = stub->ClientStream(call.get(), &response);
  ctxtest::EchoRequest request;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->Write(request));
  ASSERT_TRUE(CancelReachesHandler(env.recorder, cancel));
  EXPECT_EQ(writer->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace ctx::grpc::testing
