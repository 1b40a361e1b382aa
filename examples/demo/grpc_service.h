// SPDX-License-Identifier: Apache-2.0
// examples/demo/grpc_service.h: what orders and inventory share as gRPC
// servers: the ctx interceptor, listening, shutdown and the health probe.

#ifndef CTX_EXAMPLES_DEMO_GRPC_SERVICE_H_
#define CTX_EXAMPLES_DEMO_GRPC_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>

#include "settings.h"

namespace demo {

// ServeGrpcUntilSignal serves `service` on `listen` with the ctx server
// interceptor installed (every call gets a context: see
// ctx/grpc/server_interceptor.h) and the standard health service
// (grpc.health.v1: SERVING until shutdown starts), logs "<name> listening on
// <host>:<port>" (the real port when `listen` asks for port 0), and waits for
// SIGINT or SIGTERM. It then cancels every call in flight, shuts the server
// down and returns the exit status for main: 0, or 1 when it could not listen.
// Call BlockShutdownSignals() before it.
int ServeGrpcUntilSignal(const std::string& name, grpc::Service* service,
                         const HostPort& listen);

// CodeName returns the name of a gRPC status code ("DEADLINE_EXCEEDED").
[[nodiscard]] const char* CodeName(grpc::StatusCode code);

// CheckHealth asks the server at `address` for its overall health with the
// standard protocol (grpc.health.v1.Health/Check), waiting at most
// `timeout`. It returns the status name ("SERVING", "NOT_SERVING", ...), or
// the gRPC code of a failed call ("UNAVAILABLE", "DEADLINE_EXCEEDED", ...).
// Safe from any thread.
[[nodiscard]] std::string CheckHealth(grpc::Channel& channel,
                                      std::chrono::milliseconds timeout);

// GrpcHealthcheck returns 0 when CheckHealth of `address` (two seconds) says
// SERVING, else prints what it said and returns 1 (for --healthcheck).
int GrpcHealthcheck(const HostPort& address);

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_GRPC_SERVICE_H_
