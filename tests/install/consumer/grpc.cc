// SPDX-License-Identifier: Apache-2.0
// Uses the installed ctx::grpc (and gRPC through it); exits 0 when they behave.
#include <grpcpp/support/status.h>

#include <cstdio>

#include "ctx/context.h"
#include "ctx/grpc/client_context.h"
#include "ctx/grpc/status.h"

int main() {
  auto [c, cancel] = ctx::WithCancel(ctx::Background());
  cancel();
  grpc::Status status = ctx::grpc::StatusFromContext(c);
  if (status.error_code() != grpc::StatusCode::CANCELLED) {
    std::fprintf(stderr, "StatusFromContext(canceled): got code %d, want %d\n",
                 static_cast<int>(status.error_code()),
                 static_cast<int>(grpc::StatusCode::CANCELLED));
    return 1;
  }
  ctx::grpc::BoundClientContext client(c);
  std::printf("ctx::grpc: %s; client context bound to %s\n",
              status.error_message().c_str(),
              client.context().ToString().c_str());
  return 0;
}
