// SPDX-License-Identifier: Apache-2.0
// examples/demo/inventory.cc: the last hop of the demo. A gRPC service whose
// Reserve does `work_ms` of simulated work, and stops as soon as the call's
// context ends: a deadline that passes, a caller that cancels, a client that
// went away three hops up.
//
//   inventory [--listen=127.0.0.1:50052]        ($INVENTORY_LISTEN)

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <string>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/status.h"
#include "ctx/log/log.h"
#include "demo.grpc.pb.h"
#include "end_watch.h"
#include "grpc_service.h"
#include "hop.h"
#include "service_log.h"
#include "settings.h"
#include "shutdown.h"
#include "validate.h"

namespace {

using std::chrono::milliseconds;

class InventoryService final : public ctxdemo::Inventory::Service {
 public:
  grpc::Status Reserve(grpc::ServerContext* server_context,
                       const ctxdemo::ReserveRequest* request,
                       ctxdemo::ReserveReply* reply) override {
    const ctx::Context c = ctx::grpc::CallContext(server_context);
    if (!demo::IsValidWarehouse(request->warehouse()) ||
        !demo::IsValidItem(request->item()) || request->quantity() < 1 ||
        request->work_ms() < 0 || request->work_ms() > demo::kMaxWorkMs) {
      ctx::log::Warn(c, "inventory: rejected an invalid reservation");
      return {grpc::StatusCode::INVALID_ARGUMENT, "invalid reservation"};
    }
    const std::string hop = "inventory/" + request->warehouse();
    *reply->mutable_hop() = demo::MakeHop(c, hop);
    ctx::log::Info(c, "{}: reserve {} x {}, work {}ms", hop,
                   request->quantity(), request->item(), request->work_ms());

    // The simulated work waits on the context, as any blocking call that takes
    // one does: it ends early when the context ends, whatever the reason.
    const demo::EndWatch watch(c, hop);
    const ctx::TimePoint start = ctx::Clock::now();
    if (c.Done().WaitFor(milliseconds(request->work_ms()))) {
      ctx::log::Warn(c, "{}: stopped work after {}ms of {}ms", hop,
                     demo::MillisecondsSince(start), request->work_ms());
      return ctx::grpc::StatusFromContext(c);
    }
    reply->set_reservation_id(request->warehouse() + "-" +
                              std::to_string(++reservations_));
    ctx::log::Info(c, "{}: reserved {} after {}ms", hop,
                   reply->reservation_id(), demo::MillisecondsSince(start));
    return grpc::Status::OK;
  }

 private:
  std::atomic<long long> reservations_{0};
};

}  // namespace

int main(int argc, char** argv) {
  demo::BlockShutdownSignals();
  demo::SetUpLogging("inventory");
  demo::CommandLine cli("inventory: the last hop of the ctx demo (gRPC)",
                        "demo_inventory", {"127.0.0.1", 50052},
                        "INVENTORY_LISTEN");
  cli.ParseOrExit(argc, argv);
  if (cli.health_check) return demo::GrpcHealthcheck(cli.listen);

  InventoryService service;
  return demo::ServeGrpcUntilSignal("inventory", &service, cli.listen);
}
