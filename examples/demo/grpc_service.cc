// SPDX-License-Identifier: Apache-2.0
#include "grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bind_check.h"
#include "ctx/context.h"
#include "ctx/grpc/server_interceptor.h"
#include "health.grpc.pb.h"
#include "shutdown.h"

namespace demo {

int ServeGrpcUntilSignal(const std::string& name, grpc::Service* service,
                         const HostPort& listen) {
  // Canceling `root` cancels every call in flight: in-flight work stops at
  // once instead of holding the shutdown up.
  auto [root, cancel_all] = ctx::WithCancel(ctx::Background());
  ctx::grpc::ServerOptions options;
  options.root = root;
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(ctx::grpc::MakeServerInterceptorFactory(options));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen.ToString(), grpc::InsecureServerCredentials(),
                           &port);
  // gRPC sets SO_REUSEPORT by default, so a second copy of a service would
  // share the port of the first in silence: refuse a busy port instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(service);
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    spdlog::error("{} cannot listen on {}: {}", name, listen.ToString(),
                  BindError(listen));
    return 1;
  }
  spdlog::info("{} listening on {}:{}", name, listen.host, port);

  const char* signal = WaitForShutdownSignal();
  spdlog::info("{} stopping ({})", name, signal);
  server->GetHealthCheckService()->Shutdown();  // NOT_SERVING from now on
  cancel_all();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  spdlog::info("{} stopped", name);
  return 0;
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN_CODE";
  }
}

std::string CheckHealth(grpc::Channel& channel,
                        std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext call;
  call.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckResponse reply;
  const grpc::Status status =
      stub->Check(&call, grpc::health::v1::HealthCheckRequest(), &reply);
  if (!status.ok()) return CodeName(status.error_code());
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      reply.status());
}

int GrpcHealthcheck(const HostPort& address) {
  auto channel = grpc::CreateChannel(address.Dialable().ToString(),
                                     grpc::InsecureChannelCredentials());
  const std::string health = CheckHealth(*channel, std::chrono::seconds(2));
  std::printf("%s: %s\n", address.Dialable().ToString().c_str(),
              health.c_str());
  return health == "SERVING" ? 0 : 1;
}

}  // namespace demo
