// SPDX-License-Identifier: Apache-2.0
// Generic services behind the interceptor, callback and async: gRPC types
// every generic call as a bidi stream (the interceptor's generic test relies on
// it, so a gRPC upgrade that changes it fails here), and each generic call's
// context holds a copy of the method name its client chose, never an entry of
// the process's table of registered names.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "call_info.h"
#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/server_interceptor.h"
#include "ctx/propagation.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

using ::grpc::experimental::ServerRpcInfo;

// Seen is what one call showed: to a recording interceptor (method, type),
// and to its handler (the context).
struct Seen {
  std::string method;
  std::optional<ServerRpcInfo::Type> type;
  Context context;
};

// Sightings collects what calls showed, for the test thread. Thread-safe.
class Sightings {
 public:
  void Type(const char* method, ServerRpcInfo::Type type) {
    std::lock_guard<std::mutex> lock(mu_);
    types_.emplace_back(method != nullptr ? method : "", type);
  }
  void Handler(const Context& c) {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.push_back(c);
    cv_.notify_all();
  }
  // First waits (at most kCap) for a handler's context; returns what the
  // first call showed.
  std::optional<Seen> First() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kCap, [&] { return !contexts_.empty(); }))
      return std::nullopt;
    Seen seen{.method = "", .type = std::nullopt, .context = contexts_[0]};
    if (!types_.empty()) {
      seen.method = types_[0].first;
      seen.type = types_[0].second;
    }
    return seen;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<std::string, ServerRpcInfo::Type>> types_;
  std::vector<Context> contexts_;
};

// TypeRecorder records each call's method and type as gRPC reports them to
// interceptors; it adds no interceptor to the call.
class TypeRecorder final
    : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit TypeRecorder(Sightings* out) : out_(out) {}
  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ServerRpcInfo* info) override {
    out_->Type(info->method(), info->type());
    return nullptr;
  }

 private:
  Sightings* const out_;
};

// Interceptors is the recorder, then the bridge's interceptor.
std::vector<
    std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>>
Interceptors(Sightings* out) {
  std::vector<
      std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>>
      creators;
  creators.push_back(std::make_unique<TypeRecorder>(out));
  creators.push_back(MakeServerInterceptorFactory(ServerOptions{}));
  return creators;
}

// EchoReactor records its call's context, reads one message, answers it with
// the same bytes and finishes.
class EchoReactor final : public ::grpc::ServerGenericBidiReactor {
 public:
  EchoReactor(::grpc::GenericCallbackServerContext* sc, Sightings* out) {
    out->Handler(CallContext(sc));
    StartRead(&message_);
  }
  void OnReadDone(bool ok) override {
    if (ok) {
      StartWriteAndFinish(&message_, ::grpc::WriteOptions(),
                          ::grpc::Status::OK);
    } else {
      Finish(::grpc::Status::OK);
    }
  }
  void OnDone() override { delete this; }

 private:
  ::grpc::ByteBuffer message_;
};

class EchoGenericService final : public ::grpc::CallbackGenericService {
 public:
  explicit EchoGenericService(Sightings* out) : out_(out) {}
  ::grpc::ServerGenericBidiReactor* CreateReactor(
      ::grpc::GenericCallbackServerContext* sc) override {
    return new EchoReactor(sc, out_);
  }

 private:
  Sightings* const out_;
};

// ExpectGenericCallSeen checks what a generic call to `method` with request
// id `id` showed: gRPC typed it as a bidi stream, and the handler's context
// holds the id and a CallInfo with its own copy of the method name.
void ExpectGenericCallSeen(const Seen& seen, const std::string& method,
                           const std::string& id) {
  EXPECT_EQ(seen.method, method);
  ASSERT_TRUE(seen.type.has_value());
  EXPECT_EQ(*seen.type, ServerRpcInfo::Type::BIDI_STREAMING)
      << "gRPC no longer types generic calls as bidi streams: the "
         "interceptor's IsGeneric test must change";
  const std::string* got_id = seen.context.Value(kRequestIdKey);
  ASSERT_NE(got_id, nullptr);
  EXPECT_EQ(*got_id, id);
  const CallInfo* info = seen.context.Value(kCallInfoKey);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->method(), method);
  // Had the bridge taken the name for a registered one, the table would
  // hold it already and return that same copy.
  const std::string* shared = internal::CallInfoMaker::SharedMethodName(method);
  ASSERT_NE(shared, nullptr);
  EXPECT_NE(info->method().data(), shared->data())
      << "a generic call's method name went into the registered-name table";
}

TEST(GenericService, CallbackGenericCallGetsItsOwnMethodName) {
  Sightings sightings;
  EchoGenericService service(&sightings);
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterCallbackGenericService(&service);
  builder.experimental().SetInterceptorCreators(Interceptors(&sightings));
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  const std::string method = "/any.Thing/CallbackChosenByTheClient";
  GenericCall call(port, method, "generic-callback-1");
  EXPECT_TRUE(call.Await().ok());
  const std::optional<Seen> seen = sightings.First();
  ASSERT_TRUE(seen.has_value()) << "the handler never ran";
  ExpectGenericCallSeen(*seen, method, "generic-callback-1");
  EXPECT_TRUE(seen->context.Done().WaitFor(kCap))
      << "the call is over, its context is not done";
  ShutdownNow(server.get());
}

// AsyncGenericServer is a started server with the recorder and the bridge's
// interceptor for an async generic service; its destructor shuts the server
// down and drains the queue.
struct AsyncGenericServer {
  explicit AsyncGenericServer(Sightings* out) {
    ::grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterAsyncGenericService(&service);
    builder.experimental().SetInterceptorCreators(Interceptors(out));
    cq = builder.AddCompletionQueue();
    server = builder.BuildAndStart();
  }
  ~AsyncGenericServer() {
    if (server != nullptr) ShutdownNow(server.get());
    cq->Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) {
    }
  }
  // Step waits (at most kCap) for the event tagged `step`; returns whether it
  // came, and succeeded.
  bool Step(std::intptr_t step) {
    void* tag = nullptr;
    bool ok = false;
    return cq->AsyncNext(&tag, &ok, std::chrono::system_clock::now() + kCap) ==
               ::grpc::CompletionQueue::GOT_EVENT &&
           tag == Tag(step) && ok;
  }
  static void* Tag(std::intptr_t step) { return reinterpret_cast<void*>(step); }

  ::grpc::AsyncGenericService service;
  int port = 0;
  std::unique_ptr<::grpc::ServerCompletionQueue> cq;
  std::unique_ptr<::grpc::Server> server;
};

TEST(GenericService, AsyncGenericCallGetsItsOwnMethodName) {
  Sightings sightings;
  // The call's objects outlive the server's shutdown (declared first).
  ::grpc::GenericServerContext sc;
  ::grpc::GenericServerAsyncReaderWriter stream(&sc);
  ::grpc::ByteBuffer message;
  AsyncGenericServer server(&sightings);
  ASSERT_NE(server.server, nullptr);

  const std::string method = "/any.Thing/AsyncChosenByTheClient";
  GenericCall call(server.port, method, "generic-async-1");
  // One call, served step by step on this thread: matched, read, answered.
  server.service.RequestCall(&sc, &stream, server.cq.get(), server.cq.get(),
                             AsyncGenericServer::Tag(1));
  ASSERT_TRUE(server.Step(1)) << "no generic call arrived";
  sightings.Handler(CallContext(&sc));
  stream.Read(&message, AsyncGenericServer::Tag(2));
  ASSERT_TRUE(server.Step(2)) << "the generic call's message never came";
  stream.WriteAndFinish(message, ::grpc::WriteOptions(), ::grpc::Status::OK,
                        AsyncGenericServer::Tag(3));
  ASSERT_TRUE(server.Step(3)) << "the answer was not sent";
  EXPECT_TRUE(call.Await().ok());

  const std::optional<Seen> seen = sightings.First();
  ASSERT_TRUE(seen.has_value());
  ExpectGenericCallSeen(*seen, method, "generic-async-1");
  EXPECT_TRUE(seen->context.Done().WaitFor(kCap))
      << "the call is over, its context is not done";
}

}  // namespace
}  // namespace ctx::grpc::testing
