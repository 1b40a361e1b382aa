// SPDX-License-Identifier: Apache-2.0
// examples/demo/orders.cc: the middle hop of the demo. A gRPC service whose
// PlaceOrder reserves the item in two warehouses at once: a fan-out of two
// Inventory calls under one context. The first reservation to fail cancels the
// other (as Go's errgroup.WithContext does), and when the caller gives up,
// both calls are canceled through that same context.
//
//   orders [--listen=127.0.0.1:50051]            ($ORDERS_LISTEN)
//          [--inventory=127.0.0.1:50052]         ($INVENTORY_ADDR)

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include "ctx/context.h"
#include "ctx/errors.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/client_context.h"
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

// Reservation is one branch of the fan-out: its warehouse and its outcome.
struct Reservation {
  std::string warehouse;
  grpc::Status status;
  ctxdemo::ReserveReply reply;
};

class OrdersService final : public ctxdemo::Orders::Service {
 public:
  explicit OrdersService(const std::shared_ptr<grpc::Channel>& inventory)
      : inventory_(ctxdemo::Inventory::NewStub(inventory)) {}

  grpc::Status PlaceOrder(grpc::ServerContext* server_context,
                          const ctxdemo::PlaceOrderRequest* request,
                          ctxdemo::PlaceOrderReply* reply) override {
    const ctx::Context c = ctx::grpc::CallContext(server_context);
    if (!demo::IsValidItem(request->item()) || request->quantity() < 1 ||
        request->work_ms() < 0 || request->work_ms() > demo::kMaxWorkMs) {
      ctx::log::Warn(c, "orders: rejected an invalid order");
      return {grpc::StatusCode::INVALID_ARGUMENT, "invalid order"};
    }
    *reply->add_hops() = demo::MakeHop(c, "orders");
    ctx::log::Info(c, "orders: place {} x {}: reserving in east and west",
                   request->quantity(), request->item());
    const demo::EndWatch watch(c, "orders");

    // The fan-out: both calls run at once under `group`, a child of the
    // call's context. Whatever ends the call's context ends both calls; a
    // failed reservation ends the other one through cancel_group.
    auto [group, cancel_group] = ctx::WithCancelCause(c);
    std::array<Reservation, 2> branches;
    branches[0].warehouse = "east";
    branches[1].warehouse = "west";
    std::atomic<int> first_failure{-1};
    auto run_branch = [&](int i) {
      Reserve(group, *request, branches[i]);
      int none = -1;
      if (!branches[i].status.ok() &&
          first_failure.compare_exchange_strong(none, i)) {
        cancel_group(
            ctx::Error(std::errc::operation_canceled,
                       "reservation in " + branches[i].warehouse + " failed"));
      }
    };
    {
      std::jthread east(run_branch, 0);
      run_branch(1);
    }  // joins east
    // Both calls are over: release the group (a no-op when it already ended).
    cancel_group();

    if (c.Err()) {  // our caller gave up: the branches failed because of it
      ctx::log::Warn(c, "orders: abandoned: {}", ctx::Cause(c).message());
      return ctx::grpc::StatusFromContext(c);
    }
    if (first_failure >= 0) {
      const Reservation& failed = branches[first_failure];
      ctx::log::Warn(c, "orders: failed: reservation in {}: {}",
                     failed.warehouse, failed.status.error_message());
      return failed.status;
    }
    for (const Reservation& r : branches) *reply->add_hops() = r.reply.hop();
    reply->set_order_id("order-" + std::to_string(++orders_));
    ctx::log::Info(c, "orders: placed {} (reservations {}, {})",
                   reply->order_id(), branches[0].reply.reservation_id(),
                   branches[1].reply.reservation_id());
    return grpc::Status::OK;
  }

 private:
  // Reserve makes one Inventory call under `c`: its deadline, request id and
  // cancellation travel with the call (ctx/grpc/client_context.h).
  void Reserve(const ctx::Context& c, const ctxdemo::PlaceOrderRequest& order,
               Reservation& out) {
    ctxdemo::ReserveRequest request;
    request.set_item(order.item());
    request.set_quantity(order.quantity());
    request.set_warehouse(out.warehouse);
    request.set_work_ms(order.work_ms());
    ctx::grpc::BoundClientContext call(c);
    out.status = inventory_->Reserve(call.get(), request, &out.reply);
    if (!out.status.ok()) {
      ctx::log::Info(c, "orders: reserve {} ended: {} ({})", out.warehouse,
                     demo::CodeName(out.status.error_code()),
                     out.status.error_message());
    }
  }

  std::unique_ptr<ctxdemo::Inventory::Stub> inventory_;
  std::atomic<long long> orders_{0};
};

}  // namespace

int main(int argc, char** argv) {
  demo::BlockShutdownSignals();
  demo::SetUpLogging("orders");
  demo::CommandLine cli("orders: the middle hop of the ctx demo (gRPC)",
                        "demo_orders", {"127.0.0.1", 50051}, "ORDERS_LISTEN");
  demo::HostPort inventory{"127.0.0.1", 50052};
  demo::AddHostPort(cli.app, "--inventory", "INVENTORY_ADDR", inventory,
                    "address of the inventory service");
  cli.ParseOrExit(argc, argv);
  if (cli.health_check) return demo::GrpcHealthcheck(cli.listen);

  OrdersService service(grpc::CreateChannel(
      inventory.ToString(), grpc::InsecureChannelCredentials()));
  return demo::ServeGrpcUntilSignal("orders", &service, cli.listen);
}
