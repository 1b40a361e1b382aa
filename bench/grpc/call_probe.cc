// SPDX-License-Identifier: Apache-2.0
// bench/grpc/call_probe.cc: N sequential unary calls against one in-process
// callback server, for instruction and allocation profilers (callgrind,
// heaptrack), where a load run's wall-clock noise hides sub-microsecond costs.
//
//   ctx_grpc_call_probe VARIANT N [id]
//
// VARIANT is the server: bare (no bridge), noop (an interceptor that only
// proceeds), bridge (the bridge's interceptor) or free (the interceptor-free
// path: MakeContextAllocator and UnaryReactorFor). The bridged handlers read
// their context (CallContext, Err, request id), as real handlers do. With
// `id`, the client sends a valid x-request-id on every call. Each call has a
// 30 s deadline. The per-call cost of a variant is the difference of two runs
// (N = 3000 and N = 1000, divided by 2000), which cancels start-up and
// shutdown; the bridge's own cost is that of `bridge` minus that of `noop`.
// Exits 1 if a call fails.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/callback_server.h"
#include "ctx/grpc/server_interceptor.h"
#include "ctx_test.grpc.pb.h"

namespace {

class EchoService final : public ctxtest::TestService::CallbackService {
 public:
  explicit EchoService(bool bridged) : bridged_(bridged) {}

  ::grpc::ServerUnaryReactor* Echo(::grpc::CallbackServerContext* sc,
                                   const ctxtest::EchoRequest* request,
                                   ctxtest::EchoResponse* response) override {
    response->set_message(request->message());
    if (!bridged_) {
      ::grpc::ServerUnaryReactor* reactor = sc->DefaultReactor();
      reactor->Finish(::grpc::Status::OK);
      return reactor;
    }
    const ctx::Context c = ctx::grpc::CallContext(sc);
    const std::string* id = c.Value(ctx::kRequestIdKey);
    // Read, not copied: the handler adds no allocation of its own.
    if (c.Err() || id == nullptr) response->set_message("no context");
    ::grpc::ServerUnaryReactor* reactor = ctx::grpc::UnaryReactorFor(sc);
    reactor->Finish(::grpc::Status::OK);
    return reactor;
  }

 private:
  const bool bridged_;
};

class NoopInterceptor final : public ::grpc::experimental::Interceptor {
 public:
  void Intercept(::grpc::experimental::InterceptorBatchMethods* m) override {
    m->Proceed();
  }
};

class NoopFactory final
    : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ::grpc::experimental::ServerRpcInfo*) override {
    return new NoopInterceptor;
  }
};

int Usage() {
  std::fprintf(stderr,
               "usage: ctx_grpc_call_probe bare|noop|bridge|free N [id]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) return Usage();
  const std::string variant = argv[1];
  if (variant != "bare" && variant != "noop" && variant != "bridge" &&
      variant != "free")
    return Usage();
  char* end = nullptr;
  const long n = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || n < 0 || n > 100'000'000) return Usage();
  const bool send_id = argc == 4 && std::string(argv[3]) == "id";
  if (argc == 4 && !send_id) return Usage();

  EchoService service(variant == "bridge" || variant == "free");
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  if (variant == "free")
    builder.SetContextAllocator(ctx::grpc::MakeContextAllocator({}));
  std::vector<
      std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>>
      factories;
  if (variant == "bridge")
    factories.push_back(ctx::grpc::MakeServerInterceptorFactory({}));
  if (variant == "noop") factories.push_back(std::make_unique<NoopFactory>());
  if (!factories.empty())
    builder.experimental().SetInterceptorCreators(std::move(factories));
  std::unique_ptr<::grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "ctx_grpc_call_probe: the server did not start\n");
    return 1;
  }
  std::unique_ptr<ctxtest::TestService::Stub> stub =
      ctxtest::TestService::NewStub(
          ::grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                ::grpc::InsecureChannelCredentials()));
  for (long i = 0; i < n; ++i) {
    ::grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
    if (send_id) cc.AddMetadata("x-request-id", std::string(32, 'a'));
    ctxtest::EchoRequest request;
    request.set_message("hello");
    ctxtest::EchoResponse response;
    const ::grpc::Status s = stub->Echo(&cc, request, &response);
    if (!s.ok()) {
      std::fprintf(stderr, "ctx_grpc_call_probe: call %ld failed: %s\n", i,
                   s.error_message().c_str());
      return 1;
    }
  }
  server->Shutdown();
  return 0;
}
