// SPDX-License-Identifier: Apache-2.0
// tests/grpc/test_support.h: servers on 127.0.0.1 with ephemeral ports, test
// services for the three server APIs, and helpers to wait for events without
// sleeping.
//
// Every test service implements ctxtest.TestService with the same behaviour,
// chosen per request by `action`, a '/'-separated list whose first element
// applies to this hop:
//   "echo"     record the call's context and answer at once with what it
//              holds (request id, session, remaining budget)
//   "wait"     record the call's context, then finish when it is done, with
//              StatusFromContext
//   "forward"  record the context, call the downstream server with the rest
//              of the list through a BoundClientContext, and return its
//              answer (sync service only)
// Streaming methods record the context and stream until it is done (or `count`
// messages were sent).

#ifndef CTX_TESTS_GRPC_TEST_SUPPORT_H_
#define CTX_TESTS_GRPC_TEST_SUPPORT_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "ctx/grpc/callback_server.h"
#include "ctx/grpc/client_context.h"
#include "ctx/grpc/server_interceptor.h"
#include "ctx_test.grpc.pb.h"

namespace ctx::grpc::testing {

// kCap bounds every wait for an event in these tests; reaching it fails the
// test instead of hanging.
inline constexpr std::chrono::seconds kCap{30};

// Recorder keeps the contexts handlers saw, so that the test thread can wait
// for them. Thread-safe.
class Recorder {
 public:
  void Record(const Context& c);
  // WaitForCount waits (at most kCap) until n contexts were recorded; returns
  // whether they were.
  [[nodiscard]] bool WaitForCount(std::size_t n);
  [[nodiscard]] Context Get(std::size_t i);
  [[nodiscard]] std::size_t Count();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Context> contexts_;
};

// Executor runs posted functions on one thread of its own, in order.
// Callback-API handlers use it to Finish when a context ends, since AfterFunc
// callbacks run on the canceling thread (possibly inside a gRPC hook). The
// destructor runs what is queued, then joins.
class Executor {
 public:
  Executor();
  ~Executor();
  void Post(std::function<void()> f);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// CancelReachesHandler waits for the first handler context `recorder` gets,
// calls `cancel`, and checks that the context then ends with kCanceled.
::testing::AssertionResult CancelReachesHandler(Recorder& recorder,
                                                const CancelFunc& cancel);

// Env is what the test services share: where to record, where to forward, and
// the executor.
struct Env {
  Recorder recorder;
  Executor executor;
  // downstream: the stub "forward" calls (null: forwarding fails with
  // FAILED_PRECONDITION).
  ctxtest::TestService::Stub* downstream = nullptr;
};

// Fill writes what context c holds into a response (request id, session,
// remaining budget).
void Fill(const Context& c, ctxtest::EchoResponse* response);
// FillDeadlineVsGrpc sets response->deadline_vs_grpc_us (see ctx_test.proto)
// when both c and gRPC's call have a deadline.
void FillDeadlineVsGrpc(const Context& c, const ::grpc::ServerContextBase& sc,
                        ctxtest::EchoResponse* response);
// AnswerEcho is the "echo" action of every service: records c in env's
// recorder, then fills the response with Fill and FillDeadlineVsGrpc.
void AnswerEcho(Env& env, const Context& c, const ::grpc::ServerContextBase& sc,
                ctxtest::EchoResponse* response);

// SyncService implements the actions with the sync API.
class SyncService final : public ctxtest::TestService::Service {
 public:
  explicit SyncService(Env* env) : env_(env) {}
  ::grpc::Status Echo(::grpc::ServerContext* sc,
                      const ctxtest::EchoRequest* request,
                      ctxtest::EchoResponse* response) override;
  ::grpc::Status ServerStream(
      ::grpc::ServerContext* sc, const ctxtest::EchoRequest* request,
      ::grpc::ServerWriter<ctxtest::EchoResponse>* writer) override;
  ::grpc::Status ClientStream(
      ::grpc::ServerContext* sc,
      ::grpc::ServerReader<ctxtest::EchoRequest>* reader,
      ctxtest::EchoResponse* response) override;
  ::grpc::Status Bidi(
      ::grpc::ServerContext* sc,
      ::grpc::ServerReaderWriter<ctxtest::EchoResponse, ctxtest::EchoRequest>*
          stream) override;

 private:
  Env* const env_;
};

// CallbackService implements the actions with the callback API. Its unary
// handler runs through ServeUnary and its stream reactors forward OnCancel to
// NotifyCallCanceled, so it serves both callback paths.
class CallbackService final : public ctxtest::TestService::CallbackService {
 public:
  explicit CallbackService(Env* env) : env_(env) {}
  ::grpc::ServerUnaryReactor* Echo(::grpc::CallbackServerContext* sc,
                                   const ctxtest::EchoRequest* request,
                                   ctxtest::EchoResponse* response) override;
  ::grpc::ServerWriteReactor<ctxtest::EchoResponse>* ServerStream(
      ::grpc::CallbackServerContext* sc,
      const ctxtest::EchoRequest* request) override;
  ::grpc::ServerBidiReactor<ctxtest::EchoRequest, ctxtest::EchoResponse>* Bidi(
      ::grpc::CallbackServerContext* sc) override;

 private:
  Env* const env_;
};

// TestServer is a started server on 127.0.0.1:<ephemeral port>.
struct TestServer {
  std::unique_ptr<::grpc::Server> server;
  int port = 0;

  [[nodiscard]] std::unique_ptr<ctxtest::TestService::Stub> NewStub() const;
};

// StartServer builds and starts a server for `service` with the bridge's
// interceptor (unless `with_interceptor` is false). `cq`, if given, receives a
// completion queue for async services.
TestServer StartServer(
    ::grpc::Service* service, const ServerOptions& options,
    bool with_interceptor = true,
    std::unique_ptr<::grpc::ServerCompletionQueue>* cq = nullptr);

// AsyncServer serves Echo ("echo" and "wait"), ServerStream and Bidi with the
// async API on a completion-queue thread of its own, one operation in flight
// per call. It never calls AsyncNotifyWhenDone: the bridge must not rely on it
// (nor poll such calls). ServerStream paces its writes 1 ms apart, as the sync
// service does: writing back to back keeps the queue thread busy, and that
// thread is the one that runs the bridge's hooks (a cancel then took ~0.4 s to
// reach the context).
//
// Streams follow the rules in the file comment, except how a broken stream
// ends: when a write fails (ServerStream) or a read does (Bidi: the client
// canceled, or half-closed), the handler finishes only once its context is
// done. A cancel the bridge fails to deliver therefore leaves the context live
// (until the test's cap), instead of being hidden by the end of the call.
class AsyncServer {
 public:
  AsyncServer(Env* env, const ServerOptions& options);
  ~AsyncServer();  // shuts the server down, drains the queue, joins
  [[nodiscard]] std::unique_ptr<ctxtest::TestService::Stub> NewStub() const {
    return server_.NewStub();
  }
  ::grpc::Server* server() { return server_.server.get(); }
  [[nodiscard]] int port() const { return server_.port; }

  // WaitForDestroyedCalls waits (at most kCap) until the server has destroyed
  // the ServerContext of n calls that reached a handler (which destroys their
  // interceptors); returns whether it did.
  [[nodiscard]] bool WaitForDestroyedCalls(std::size_t n);

 private:
  struct Call;
  enum class Method { kEcho, kServerStream, kBidi };
  void RequestOne(Method method);
  void Loop();
  void Handle(Call* call, bool ok);
  void Start(Call* call);
  void NextWrite(Call* call);
  void FinishWhenDone(Call* call);
  void Finish(Call* call, const ::grpc::Status& status);
  void Destroy(Call* call);

  Env* const env_;
  ctxtest::TestService::AsyncService service_;
  std::unique_ptr<::grpc::ServerCompletionQueue> cq_;
  TestServer server_;
  // ops_mu_: held by Handle while it starts operations on cq_, and by the
  // destructor around shutting cq_ down, so that no operation starts on a
  // shut-down queue (gRPC aborts the process). Before mu_ when both are held;
  // never taken by AfterFunc callbacks.
  std::mutex ops_mu_;
  std::mutex mu_;
  std::condition_variable destroyed_cv_;
  bool shutting_down_ = false;  // under mu_: no new operations once set
  std::set<Call*> live_;        // under mu_
  std::size_t destroyed_ = 0;   // under mu_: calls destroyed after Start
  std::thread thread_;
};

// ShutdownNow shuts a server down with an already-passed deadline (in-flight
// calls are canceled).
void ShutdownNow(::grpc::Server* server);

// Api names a server API; ApiServer serves TestService with it.
// kCallbackNoInterceptor is the callback API on the interceptor-free path
// (MakeContextAllocator, ctx/grpc/callback_server.h).
enum class Api { kSync, kCallback, kAsync, kCallbackNoInterceptor };
std::string ApiName(const ::testing::TestParamInfo<Api>& info);
// kAllApis: every Api, for INSTANTIATE_TEST_SUITE_P(..., ValuesIn(kAllApis),
// ApiName).
inline constexpr std::array<Api, 4> kAllApis = {
    Api::kSync, Api::kCallback, Api::kAsync, Api::kCallbackNoInterceptor};

class ApiServer {
 public:
  ApiServer(Api api, Env* env, const ServerOptions& options = {});
  ~ApiServer();  // shuts down at once (in-flight calls are canceled)
  [[nodiscard]] std::unique_ptr<ctxtest::TestService::Stub> NewStub() const;
  ::grpc::Server* server();
  [[nodiscard]] int port() const;

 private:
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<CallbackService> callback_;
  TestServer server_;
  std::unique_ptr<AsyncServer> async_;
};

// ApiServerTest is a test against an ApiServer of its parameter's API.
class ApiServerTest : public ::testing::TestWithParam<Api> {
 protected:
  // Start serves TestService with options and connects stub_ to it.
  void Start(const ServerOptions& options = {}) {
    server_ = std::make_unique<ApiServer>(GetParam(), &env_, options);
    stub_ = server_->NewStub();
  }

  // Env first: the server's shutdown still uses its executor.
  Env env_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<ctxtest::TestService::Stub> stub_;
};

// PendingCall is a unary Echo in flight from the test, bound to a client-side
// context. Its destructor cancels the call if it is still running and waits
// for it to complete, so a test that fails early leaves nothing in flight.
// (It uses a mutex and condition variable rather than std::promise: under
// TSan, promise::set_value's call_once was seen to hang.)
class PendingCall {
 public:
  PendingCall() = default;
  ~PendingCall();
  PendingCall(const PendingCall&) = delete;
  PendingCall& operator=(const PendingCall&) = delete;

  // Await waits (at most kCap) for the status; a call still running then gives
  // ABORTED "test cap".
  ::grpc::Status Await();
  // Complete records the final status (gRPC's callback thread).
  void Complete(::grpc::Status s);

  ctxtest::EchoRequest request;
  ctxtest::EchoResponse response;
  std::unique_ptr<BoundClientContext> client;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<::grpc::Status> status_;  // under mu_
};

// StartEcho starts stub->Echo(action) with a BoundClientContext for c (client
// options as given), after `prepare` (if any) has adjusted the
// grpc::ClientContext.
std::unique_ptr<PendingCall> StartEcho(
    ctxtest::TestService::Stub* stub, const Context& c,
    const std::string& action, const ClientOptions& options = {},
    const std::function<void(::grpc::ClientContext*)>& prepare = nullptr);

// ServerStreamOf makes a blocking ServerStream call for `count` messages
// (capped at kCap) and reads until the stream ends; returns its status and sets
// *received to the messages read.
::grpc::Status ServerStreamOf(ctxtest::TestService::Stub* stub, int count,
                              int* received);

// Echo makes a blocking Echo call with a plain grpc::ClientContext prepared by
// `prepare`.
::grpc::Status Echo(
    ctxtest::TestService::Stub* stub, const std::string& action,
    ctxtest::EchoResponse* response,
    const std::function<void(::grpc::ClientContext*)>& prepare = nullptr,
    std::multimap<std::string, std::string>* initial_metadata = nullptr);

// GenericCall is one unary call to `method` (any name: registered or not)
// through a generic stub, with request id `id` and a kCap deadline, started
// at construction and completed on gRPC's callback thread. Its destructor
// cancels it if it still runs and waits for it.
class GenericCall {
 public:
  GenericCall(int port, const std::string& method, const std::string& id);
  ~GenericCall();
  GenericCall(const GenericCall&) = delete;
  GenericCall& operator=(const GenericCall&) = delete;
  // Await waits for the call's status (the call's deadline bounds it).
  ::grpc::Status Await();

 private:
  std::shared_ptr<::grpc::Channel> channel_;
  ::grpc::GenericStub stub_;
  ::grpc::ClientContext client_;
  ::grpc::ByteBuffer request_;
  ::grpc::ByteBuffer response_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<::grpc::Status> status_;
};

}  // namespace ctx::grpc::testing

#endif  // CTX_TESTS_GRPC_TEST_SUPPORT_H_
