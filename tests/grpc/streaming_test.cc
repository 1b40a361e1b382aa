// SPDX-License-Identifier: Apache-2.0
// Streaming calls canceled mid-stream: the handler's context ends, for the
// sync, callback and async APIs; for the async API, also that the cancel is
// the bridge's doing and that nothing of the call outlives it.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "call_registry.h"
#include "call_state.h"
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

INSTANTIATE_TEST_SUITE_P(AllApis, StreamingTest, ::testing::ValuesIn(kAllApis),
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
  int n = 0;
  EXPECT_TRUE(ServerStreamOf(stub_.get(), 3, &n).ok());
  EXPECT_EQ(n, 3);
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

// The async test server finishes a broken stream only once the stream's context
// is done (see AsyncServer), so in these tests nothing but the bridge's
// POST_RECV_CLOSE hook can end the context while the call is open: a cancel
// that is not delivered leaves it live until kCap, and a context ended by the
// call's end instead would carry the "call finished" cause.

// ExpectNoCallState checks that the bridge holds no call: none registered, no
// CallState alive.
void ExpectNoCallState(const char* when) {
  EXPECT_EQ(internal::CallRegistry::Global().Size(), 0u)
      << when << ": calls still registered";
  EXPECT_EQ(internal::CallState::Live(), 0)
      << when << ": call states alive, want none";
}

// EndsAsClientCancel checks that the handler's context `c` ends, canceled by
// the client.
::testing::AssertionResult EndsAsClientCancel(const Context& c) {
  if (!c.Done().WaitFor(kCap)) {
    return ::testing::AssertionFailure()
           << "client canceled mid-stream: the handler's context is still live";
  }
  if (c.Err() != Errc::kCanceled) {
    return ::testing::AssertionFailure()
           << "handler context ended with " << c.Err().message()
           << ", want context canceled";
  }
  if (Cause(c) != internal::ClientCanceledCause()) {
    return ::testing::AssertionFailure()
           << "handler context's cause: " << Cause(c) << ", want "
           << internal::ClientCanceledCause();
  }
  return ::testing::AssertionSuccess();
}

// StartServerStream starts a ServerStream (count 0: until canceled) and reads
// three messages from it.
std::unique_ptr<::grpc::ClientReader<ctxtest::EchoResponse>> StartServerStream(
    ctxtest::TestService::Stub* stub, ::grpc::ClientContext* call) {
  ctxtest::EchoRequest request;
  auto reader = stub->ServerStream(call, request);
  ctxtest::EchoResponse r;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(reader->Read(&r)) << "message " << i;
  return reader;
}

// StartBidi starts a Bidi stream and has two messages echoed; the server is
// then waiting for the next one.
std::unique_ptr<
    ::grpc::ClientReaderWriter<ctxtest::EchoRequest, ctxtest::EchoResponse>>
StartBidi(ctxtest::TestService::Stub* stub, ::grpc::ClientContext* call) {
  auto stream = stub->Bidi(call);
  for (int i = 0; i < 2; ++i) {
    ctxtest::EchoRequest request;
    request.set_message("m" + std::to_string(i));
    EXPECT_TRUE(stream->Write(request)) << "message " << i;
    ctxtest::EchoResponse r;
    EXPECT_TRUE(stream->Read(&r)) << "message " << i;
    EXPECT_EQ(r.message(), request.message());
  }
  return stream;
}

// AsyncStreamingTest: an async server and one client call bound to a context
// the test cancels.
class AsyncStreamingTest : public ::testing::Test {
 protected:
  // HandlerContext waits for the handler and returns its context, live.
  Context HandlerContext() {
    EXPECT_TRUE(env_.recorder.WaitForCount(1)) << "the handler never ran";
    const Context c = env_.recorder.Get(0);
    EXPECT_FALSE(c.Done().Ready()) << "context done before the cancel";
    return c;
  }
  // ExpectReleased checks, once the server has destroyed the canceled call,
  // that nothing of it is left and its context ended.
  void ExpectReleased() {
    // The server still runs: only the destroyed call's state may be gone.
    ASSERT_TRUE(server_.WaitForDestroyedCalls(1))
        << "the server never destroyed the canceled call";
    ExpectNoCallState("after the canceled call was destroyed");
    EXPECT_TRUE(env_.recorder.Get(0).Done().Ready())
        << "released call: the handler's context is still live";
  }

  Env env_;
  AsyncServer server_{&env_, {}};
  std::unique_ptr<ctxtest::TestService::Stub> stub_ = server_.NewStub();
  ContextAndCancel client_ = WithCancel(Background());
  BoundClientContext call_{client_.context};
};

TEST_F(AsyncStreamingTest,
       ServerStreamCanceledMidStreamEndsContextAsClientCancel) {
  auto reader = StartServerStream(stub_.get(), call_.get());
  const Context server_ctx = HandlerContext();
  client_.cancel();
  EXPECT_TRUE(EndsAsClientCancel(server_ctx));
  ctxtest::EchoResponse r;
  while (reader->Read(&r)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_F(AsyncStreamingTest, BidiCanceledMidStreamEndsContextAsClientCancel) {
  auto stream = StartBidi(stub_.get(), call_.get());
  const Context server_ctx = HandlerContext();
  client_.cancel();
  EXPECT_TRUE(EndsAsClientCancel(server_ctx));
  EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
}

TEST_F(AsyncStreamingTest, CanceledServerStreamReleasesItsCallState) {
  auto reader = StartServerStream(stub_.get(), call_.get());
  HandlerContext();
  EXPECT_EQ(internal::CallState::Live(), 1) << "mid-stream: call states";
  client_.cancel();
  ctxtest::EchoResponse r;
  while (reader->Read(&r)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
  ExpectReleased();
}

TEST_F(AsyncStreamingTest, CanceledBidiReleasesItsCallState) {
  auto stream = StartBidi(stub_.get(), call_.get());
  HandlerContext();
  EXPECT_EQ(internal::CallState::Live(), 1) << "mid-stream: call states";
  client_.cancel();
  EXPECT_EQ(stream->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
  ExpectReleased();
}

}  // namespace
}  // namespace ctx::grpc::testing
