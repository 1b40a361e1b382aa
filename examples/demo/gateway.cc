// SPDX-License-Identifier: Apache-2.0
// examples/demo/gateway.cc: the edge of the demo. An HTTP service (the ctx
// HTTP bridge) whose GET /order places an order through the orders service over
// gRPC. The request's context comes from the bridge: its deadline from
// X-Request-Timeout (capped, with a default), its request id from X-Request-Id
// (generated when missing, replaced when invalid), and it is canceled when the
// client hangs up. All three travel to orders with the call.
//
//   gateway [--listen=127.0.0.1:8080]            ($GATEWAY_LISTEN)
//           [--orders=127.0.0.1:50051]           ($ORDERS_ADDR)
//           [--default-timeout-ms=5000]          ($GATEWAY_DEFAULT_TIMEOUT_MS)
//           [--max-timeout-ms=30000]             ($GATEWAY_MAX_TIMEOUT_MS)
//
// Both budgets are 1 ms to 24 h; a value outside is refused at startup.
//
//   GET /order?item=book&qty=1&work_ms=50   200 with the order and every hop's
//                                           request id and remaining budget
//   GET /healthz                            200 when orders' gRPC health check
//                                           says SERVING, else 503 (with it)

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "bind_check.h"
#include "ctx/context.h"
#include "ctx/grpc/client_context.h"
#include "ctx/http/server.h"
#include "ctx/log/log.h"
#include "ctx/propagation.h"
#include "demo.grpc.pb.h"
#include "end_watch.h"
#include "grpc_service.h"
#include "hop.h"
#include "order_json.h"
#include "service_log.h"
#include "settings.h"
#include "shutdown.h"
#include "validate.h"

namespace {

// IntParam returns the query parameter `name` as an integer in [min, max],
// `fallback` when it is absent, or nullopt when it is present but invalid.
std::optional<long long> IntParam(const httplib::Request& req, const char* name,
                                  long long fallback, long long min,
                                  long long max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  long long out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < min ||
      out > max) {
    return std::nullopt;
  }
  return out;
}

// HttpStatusFor maps a failure reported by orders (while our own context is
// still live) to the status the gateway answers.
int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;  // the budget ran out downstream first (deadline margins)
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:  // a service downstream is stopping
      return 503;
    default:
      return 502;
  }
}

// LogIncomingId says when the bridge did not use the caller's X-Request-Id,
// showing the rejected value only through ctx::LogSafe.
void LogIncomingId(const ctx::Context& c, const httplib::Request& req) {
  if (!req.has_header("X-Request-Id")) {
    ctx::log::Info(c, "gateway: no X-Request-Id: generated one");
    return;
  }
  // Read from the header map, not through get_header_value, which returns a
  // C string and so would cut the value at an embedded NUL.
  const std::string& sent = req.headers.find("X-Request-Id")->second;
  const std::string* used = c.Value(ctx::kRequestIdKey);
  if (used == nullptr || *used != sent) {
    // The whole value up to the longest valid id, escaped; a longer one is
    // cut with its length said.
    ctx::log::Warn(c, "gateway: invalid X-Request-Id replaced: \"{}\"",
                   ctx::LogSafe(sent, ctx::kMaxIdLength));
  }
}

// PlaceOrder serves GET /order (see the file comment).
void PlaceOrder(ctxdemo::Orders::Stub& orders, const ctx::Context& c,
                const httplib::Request& req, httplib::Response& res) {
  const ctxdemo::Hop hop = demo::MakeHop(c, "gateway");
  LogIncomingId(c, req);
  const std::string item =
      req.has_param("item") ? req.get_param_value("item") : "book";
  const std::optional<long long> qty = IntParam(req, "qty", 1, 1, 1000);
  const std::optional<long long> work_ms =
      IntParam(req, "work_ms", 50, 0, demo::kMaxWorkMs);
  if (!demo::IsValidItem(item) || !qty || !work_ms) {
    ctx::log::Warn(c, "gateway: 400: bad query parameters");
    res.status = 400;
    res.set_content(demo::ErrorJson(hop.request_id(), "bad query parameters"),
                    "application/json");
    return;
  }
  ctx::log::Info(c, "gateway: GET /order item={} qty={} work_ms={}", item, *qty,
                 *work_ms);
  const demo::EndWatch watch(c, "gateway");

  ctxdemo::PlaceOrderRequest request;
  request.set_item(item);
  request.set_quantity(static_cast<int>(*qty));
  request.set_work_ms(*work_ms);
  ctxdemo::PlaceOrderReply reply;
  grpc::Status status;
  {
    // The call runs under a child of c: when c ends, its own callbacks (the
    // EndWatch line) run before the cancel reaches the child and travels on.
    auto [call_context, release] = ctx::WithCancel(c);
    ctx::grpc::BoundClientContext call(call_context);  // deadline, id, cancel
    status = orders.PlaceOrder(call.get(), request, &reply);
  }  // `call` goes first, then the child context and `release` (unused: a
     // child whose handles are all gone unregisters itself)

  if (c.Err()) {  // the bridge answers for us: 504, 499 (logged) or 503
    ctx::log::Warn(c, "gateway: gave up: {}", ctx::Cause(c).message());
    return;
  }
  if (!status.ok()) {
    res.status = HttpStatusFor(status.error_code());
    ctx::log::Warn(c, "gateway: {}: orders failed: {} ({})", res.status,
                   demo::CodeName(status.error_code()), status.error_message());
    res.set_content(
        demo::ErrorJson(hop.request_id(), demo::CodeName(status.error_code())),
        "application/json");
    return;
  }
  res.set_content(demo::OrderJson(hop, reply), "application/json");
  ctx::log::Info(c, "gateway: 200: {}", reply.order_id());
}

// Healthz serves GET /healthz: the gateway is healthy when orders answers
// its health check SERVING within 500 ms. 200 or 503, with both statuses:
//   {"gateway": "SERVING", "orders": "SERVING"}
void Healthz(grpc::Channel& orders, httplib::Response& res) {
  const std::string downstream =
      demo::CheckHealth(orders, std::chrono::milliseconds(500));
  const bool healthy = downstream == "SERVING";
  res.status = healthy ? 200 : 503;
  res.set_content(
      "{\"gateway\": \"SERVING\", \"orders\": \"" + downstream + "\"}\n",
      "application/json");
}

// HttpHealthcheck asks a running gateway for /healthz (for --healthcheck).
int HttpHealthcheck(const demo::HostPort& listen) {
  const demo::HostPort target = listen.Dialable();
  httplib::Client client(target.host, target.port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(2));
  const httplib::Result r = client.Get("/healthz");
  return r && r->status == 200 ? 0 : 1;
}

// kMaxBudgetMs bounds --default-timeout-ms and --max-timeout-ms: a day is far
// beyond any request the demo serves, and far from where a deadline computed
// from it (now + budget, in nanoseconds) could overflow.
constexpr int64_t kMaxBudgetMs = 24 * 60 * 60 * 1000;

// AddBudget declares a budget option in milliseconds, 1 to kMaxBudgetMs;
// `out` holds the default and receives the value.
void AddBudget(CLI::App& app, const std::string& flag, const std::string& env,
               int64_t& out, const std::string& help) {
  app.add_option(flag, out, help)
      ->envname(env)
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, kMaxBudgetMs));
}

}  // namespace

int main(int argc, char** argv) {
  demo::BlockShutdownSignals();
  demo::SetUpLogging("gateway");
  demo::CommandLine cli("gateway: the HTTP edge of the ctx demo",
                        "demo_gateway", {"127.0.0.1", 8080}, "GATEWAY_LISTEN");
  demo::HostPort orders_address{"127.0.0.1", 50051};
  demo::AddHostPort(cli.app, "--orders", "ORDERS_ADDR", orders_address,
                    "address of the orders service");
  int64_t default_timeout_ms = 5000;
  AddBudget(cli.app, "--default-timeout-ms", "GATEWAY_DEFAULT_TIMEOUT_MS",
            default_timeout_ms,
            "budget of requests that send no X-Request-Timeout");
  int64_t max_timeout_ms = 30000;
  AddBudget(cli.app, "--max-timeout-ms", "GATEWAY_MAX_TIMEOUT_MS",
            max_timeout_ms, "cap on every request's budget");
  cli.ParseOrExit(argc, argv);
  const demo::HostPort& listen = cli.listen;
  if (cli.health_check) return HttpHealthcheck(listen);

  const std::shared_ptr<grpc::Channel> orders_channel = grpc::CreateChannel(
      orders_address.ToString(), grpc::InsecureChannelCredentials());
  std::unique_ptr<ctxdemo::Orders::Stub> orders =
      ctxdemo::Orders::NewStub(orders_channel);

  ctx::http::ServerOptions options;
  options.headers.default_timeout =
      std::chrono::milliseconds(default_timeout_ms);
  options.headers.max_timeout = std::chrono::milliseconds(max_timeout_ms);
  ctx::http::Server server(options);
  // httplib's default listening socket has SO_REUSEPORT, so a second copy of
  // the gateway would share the port of the first in silence: SO_REUSEADDR
  // only (a restart may still bind while old connections linger).
  server.set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.Get("/order",
             [&](const ctx::Context& c, const httplib::Request& req,
                 httplib::Response& res) { PlaceOrder(*orders, c, req, res); });
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    Healthz(*orders_channel, res);
  });

  const int port =
      listen.port == 0
          ? server.bind_to_any_port(listen.host)
          : (server.bind_to_port(listen.host, listen.port) ? listen.port : -1);
  if (port <= 0) {
    spdlog::error("gateway cannot listen on {}: {}", listen.ToString(),
                  demo::BindError(listen));
    return 1;
  }
  spdlog::info("gateway listening on {}:{}", listen.host, port);
  std::thread serving([&] { server.listen_after_bind(); });

  const char* signal = demo::WaitForShutdownSignal();
  spdlog::info("gateway stopping ({})", signal);
  // Requests in flight get up to 5 s to finish; the rest are canceled (503).
  server.Shutdown(std::chrono::seconds(5));
  serving.join();
  spdlog::info("gateway stopped");
  return 0;
}
