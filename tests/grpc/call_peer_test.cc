// SPDX-License-Identifier: Apache-2.0
// CallInfo::peer() on every server path: read from gRPC on first use, it
// answers the same after the call is gone for any context still held (also
// through a child only, and for streaming handlers), readers racing the end of
// the call all see the one peer, and a call whose context no one kept never has
// its peer read.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "call_info.h"
#include "call_state.h"
#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/callback_server.h"
#include "ctx/grpc/server_interceptor.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

// WaitForNoCallState waits (at most kCap) until no call's state is left;
// returns whether none is.
bool WaitForNoCallState() {
  const auto cap = std::chrono::steady_clock::now() + kCap;
  while (internal::CallState::Live() != 0) {
    if (std::chrono::steady_clock::now() > cap) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

bool IsLoopbackPeer(std::string_view peer) {
  return peer.rfind("ipv4:127.0.0.1:", 0) == 0;
}

class CallPeerTest : public ApiServerTest {
 protected:
  // ExpectClientPeerAfterTheServerIsGone shuts the server down, waits until
  // no call's state is left, and expects `server_ctx` (a handler's context,
  // whose peer was not read during its call) to name the client, as does a
  // copy of its CallInfo.
  void ExpectClientPeerAfterTheServerIsGone(const Context& server_ctx) {
    stub_.reset();
    server_.reset();
    ASSERT_TRUE(WaitForNoCallState()) << "call states outlive their server";
    const CallInfo* info = server_ctx.Value(kCallInfoKey);
    ASSERT_NE(info, nullptr);
    EXPECT_TRUE(IsLoopbackPeer(info->peer())) << info->peer();
    const CallInfo copy = *info;
    EXPECT_TRUE(IsLoopbackPeer(copy.peer())) << copy.peer();
  }
};

INSTANTIATE_TEST_SUITE_P(AllApis, CallPeerTest, ::testing::ValuesIn(kAllApis),
                         ApiName);

// The handler's context is kept (by the test's recorder) but its peer never
// read during the call: the end of the call reads it.
TEST_P(CallPeerTest, PeerFirstReadAfterTheServerIsGoneIsTheClient) {
  Start();
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_.get(), "echo", &response).ok());
  ExpectClientPeerAfterTheServerIsGone(env_.recorder.Get(0));
}

// The same for a streaming handler (server stream, three messages): its call
// ends through the stream's own hooks and reactors.
TEST_P(CallPeerTest, StreamPeerFirstReadAfterTheServerIsGoneIsTheClient) {
  Start();
  int n = 0;
  ASSERT_TRUE(ServerStreamOf(stub_.get(), 3, &n).ok());
  ASSERT_EQ(n, 3);
  ExpectClientPeerAfterTheServerIsGone(env_.recorder.Get(0));
}

// Two readers start on the context as soon as the handler records it and
// read until the call's state is gone: first reads race each other and the
// end of the call.
TEST_P(CallPeerTest, PeerReadsRaceTheEndOfTheCall) {
  Start();
  constexpr int kCalls = 20;
  constexpr int kReaders = 2;
  for (int i = 0; i < kCalls; ++i) {
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::atomic<int> reads{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, i] {
        if (!env_.recorder.WaitForCount(static_cast<std::size_t>(i) + 1))
          return;
        const Context c = env_.recorder.Get(static_cast<std::size_t>(i));
        const CallInfo* info = c.Value(kCallInfoKey);
        if (info == nullptr) {
          bad.fetch_add(1);
          return;
        }
        const std::string first(info->peer());
        do {
          const std::string_view peer = info->peer();
          if (!IsLoopbackPeer(peer) || peer != first) bad.fetch_add(1);
          reads.fetch_add(1);
          std::this_thread::yield();
        } while (!stop.load());
      });
    }
    ctxtest::EchoResponse response;
    const ::grpc::Status status = Echo(stub_.get(), "echo", &response);
    const bool gone = WaitForNoCallState();
    stop.store(true);
    for (std::thread& t : readers) t.join();
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(gone) << "call " << i << ": its state outlives it";
    ASSERT_EQ(bad.load(), 0)
        << "call " << i << ": a read saw no or another peer";
    ASSERT_GE(reads.load(), kReaders) << "call " << i;
  }
}

// KeepOrForget serves Echo with the callback API: it reads its call's context
// and keeps either nothing or only a child of it (WithoutCancel), never the
// context itself.
class KeepOrForget final : public ctxtest::TestService::CallbackService {
 public:
  explicit KeepOrForget(bool keep_child) : keep_child_(keep_child) {}
  ::grpc::ServerUnaryReactor* Echo(
      ::grpc::CallbackServerContext* sc,
      const ctxtest::EchoRequest* /*request*/,
      ctxtest::EchoResponse* /*response*/) override {
    const Context c = CallContext(sc);
    if (keep_child_) {
      std::lock_guard<std::mutex> lock(mu_);
      kept_.push_back(WithoutCancel(c));
    }
    ::grpc::ServerUnaryReactor* reactor = UnaryReactorFor(sc);
    reactor->Finish(c.Err() ? ::grpc::Status(::grpc::StatusCode::INTERNAL,
                                             "no call context")
                            : ::grpc::Status::OK);
    return reactor;
  }
  std::vector<Context> Kept() {
    std::lock_guard<std::mutex> lock(mu_);
    return kept_;
  }

 private:
  const bool keep_child_;
  std::mutex mu_;
  std::vector<Context> kept_;
};

// CallbackPathTest runs KeepOrForget on the callback API's two paths: the
// interceptor (false) and the context allocator (true).
class CallbackPathTest : public ::testing::TestWithParam<bool> {
 protected:
  // Start serves a KeepOrForget(keep_child) and connects stub_ to it.
  void Start(bool keep_child) {
    service_ = std::make_unique<KeepOrForget>(keep_child);
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    if (GetParam()) {
      builder.SetContextAllocator(MakeContextAllocator());
    } else {
      std::vector<std::unique_ptr<
          ::grpc::experimental::ServerInterceptorFactoryInterface>>
          creators;
      creators.push_back(MakeServerInterceptorFactory());
      builder.experimental().SetInterceptorCreators(std::move(creators));
    }
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = ctxtest::TestService::NewStub(
        ::grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                              ::grpc::InsecureChannelCredentials()));
  }
  void StopServer() {
    if (server_ == nullptr) return;
    ShutdownNow(server_.get());
    server_.reset();
  }
  void TearDown() override { StopServer(); }

  std::unique_ptr<KeepOrForget> service_;
  std::unique_ptr<::grpc::Server> server_;
  std::unique_ptr<ctxtest::TestService::Stub> stub_;
};

INSTANTIATE_TEST_SUITE_P(BothPaths, CallbackPathTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Allocator"
                                                         : "Interceptor");
                         });

TEST_P(CallbackPathTest, PeerOfACallNoOneKeptIsNeverRead) {
  ASSERT_NO_FATAL_FAILURE(Start(/*keep_child=*/false));
  ASSERT_TRUE(WaitForNoCallState()) << "an earlier test's calls still end";
  const std::uint64_t reads_before = internal::CallInfoMaker::PeerReads();
  for (int i = 0; i < 5; ++i) {
    ctxtest::EchoResponse response;
    ASSERT_TRUE(Echo(stub_.get(), "echo", &response).ok());
  }
  ASSERT_TRUE(WaitForNoCallState());
  EXPECT_EQ(internal::CallInfoMaker::PeerReads(), reads_before)
      << "peers were read for calls whose context no one kept";
}

TEST_P(CallbackPathTest, PeerKeptOnlyThroughAChildIsReadAtTheEnd) {
  ASSERT_NO_FATAL_FAILURE(Start(/*keep_child=*/true));
  ctxtest::EchoResponse response;
  ASSERT_TRUE(Echo(stub_.get(), "echo", &response).ok());
  StopServer();
  ASSERT_TRUE(WaitForNoCallState()) << "call states outlive their server";
  const std::vector<Context> kept = service_->Kept();
  ASSERT_EQ(kept.size(), 1u);
  const CallInfo* info = kept[0].Value(kCallInfoKey);
  ASSERT_NE(info, nullptr);
  EXPECT_TRUE(IsLoopbackPeer(info->peer())) << info->peer();
}

}  // namespace
}  // namespace ctx::grpc::testing
