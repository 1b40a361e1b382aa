// SPDX-License-Identifier: Apache-2.0
// End-to-end: the three demo services (examples/demo/) as separate processes
// on ephemeral loopback ports, driven through the four scenarios of issue 7
// (the same ones scripts/demo shows). Outcomes are read from the gateway's
// responses and from the services' logs, where every line written for a
// request starts with "[req=<id> left=<ms>ms ...]".
//
// Time: each wait has a generous cap (seconds) and no test asserts a tighter
// timing; simulated work is 30 s wherever a test proves that it stopped early.

#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "demo.pb.h"
#include "service_process.h"

namespace {

using std::chrono::seconds;

constexpr auto kCap = std::chrono::milliseconds(10'000);

// Tag returns "[req=<id> ", what every log line of request `id` contains.
std::string Tag(const std::string& id) { return "[req=" + id + " "; }

class DemoTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Each service starts on a free port, told where its callee listens.
    inventory_port_ = Start(inventory_, "inventory", CTX_DEMO_INVENTORY, "");
    ASSERT_GT(inventory_port_, 0) << "inventory did not start";
    orders_port_ =
        Start(orders_, "orders", CTX_DEMO_ORDERS,
              "--inventory=127.0.0.1:" + std::to_string(inventory_port_));
    ASSERT_GT(orders_port_, 0) << "orders did not start";
    gateway_port_ = Start(gateway_, "gateway", CTX_DEMO_GATEWAY,
                          "--orders=127.0.0.1:" + std::to_string(orders_port_));
    ASSERT_GT(gateway_port_, 0) << "gateway did not start";
  }

  // Start runs one service on 127.0.0.1:0 (with `callee`, when not empty)
  // into `slot`, and returns its port, or -1.
  static int Start(std::unique_ptr<e2e::ServiceProcess>& slot,
                   const std::string& name, const std::string& path,
                   const std::string& callee) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0"};
    if (!callee.empty()) args.push_back(callee);
    slot = std::make_unique<e2e::ServiceProcess>(name, path, args,
                                                 CTX_E2E_LOG_DIR);
    return slot->WaitForPort();
  }

  static void TearDownTestSuite() {
    // Reverse order, so that no service sees its callee vanish first.
    gateway_.reset();
    orders_.reset();
    inventory_.reset();
  }

  void SetUp() override {
    ASSERT_GT(gateway_port_, 0)
        << "the services did not start; logs in " << CTX_E2E_LOG_DIR;
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "service logs: " << CTX_E2E_LOG_DIR << "\n";
    }
  }

  // Get sends GET `path` to the gateway with `headers`.
  static httplib::Result Get(const std::string& path,
                             const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", gateway_port_);
    client.set_read_timeout(seconds(20));
    return client.Get(path.c_str(), headers);
  }

  // InAllLogs reports whether each of the three services wrote a line
  // containing every one of `parts`.
  static bool InAllLogs(std::initializer_list<std::string_view> parts) {
    return gateway_->WaitForLine(parts, kCap) &&
           orders_->WaitForLine(parts, kCap) &&
           inventory_->WaitForLine(parts, kCap);
  }

  static inline std::unique_ptr<e2e::ServiceProcess> inventory_;
  static inline std::unique_ptr<e2e::ServiceProcess> orders_;
  static inline std::unique_ptr<e2e::ServiceProcess> gateway_;
  static inline int inventory_port_ = -1;
  static inline int orders_port_ = -1;
  static inline int gateway_port_ = -1;
};

// StartAlone runs `path` with `args` as a service of its own (logs under
// `name`), outside the suite's three.
std::unique_ptr<e2e::ServiceProcess> StartAlone(
    const std::string& name, const std::string& path,
    const std::vector<std::string>& args) {
  return std::make_unique<e2e::ServiceProcess>(name, path, args,
                                               CTX_E2E_LOG_DIR);
}

// A budget near INT64_MAX milliseconds overflows a deadline computed from it
// (UBSan aborted, a release build answered every request 504): the gateway
// refuses it, from the flag or from the environment's spelling of it.
TEST(DemoFlags, BudgetFlagsBeyondADayAreRefusedAtStartup) {
  for (const char* flag :
       {"--max-timeout-ms=9223372036854775807",
        "--default-timeout-ms=9223372036854775807", "--max-timeout-ms=86400001",
        "--default-timeout-ms=0"}) {
    auto gateway = StartAlone("gateway-bad-flag", CTX_DEMO_GATEWAY,
                              {"--listen=127.0.0.1:0", flag});
    const std::optional<int> code = gateway->WaitForExit(kCap);
    ASSERT_TRUE(code) << "started the gateway with " << flag
                      << ": still running, want exit 2";
    EXPECT_EQ(*code, 2) << "exit status with " << flag;
    EXPECT_TRUE(gateway->WaitForLine({"not in range 1 to 86400000"}, kCap))
        << "with " << flag << ", want the error to name the range";
  }
}

// The largest budgets the flags accept leave every request its own budget.
TEST_F(DemoTest, LargestAllowedBudgetFlagsStillAnswer200) {
  auto gateway = StartAlone(
      "gateway-day-budget", CTX_DEMO_GATEWAY,
      {"--listen=127.0.0.1:0",
       "--orders=127.0.0.1:" + std::to_string(orders_port_),
       "--default-timeout-ms=86400000", "--max-timeout-ms=86400000"});
  const int port = gateway->WaitForPort();
  ASSERT_GT(port, 0) << "the gateway with day-long budgets did not start";
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(seconds(20));
  httplib::Result r = client.Get("/order?work_ms=0");
  ASSERT_TRUE(r) << "GET /order: " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
}

// Scenario 1.
TEST_F(DemoTest, NormalRequestAnswers200WithOneRequestIdAtEveryHop) {
  const std::string id = "e2e-normal-1";
  httplib::Result r =
      Get("/order?item=book&qty=2&work_ms=20",
          {{"X-Request-Id", id}, {"X-Request-Timeout", "5000"}});
  ASSERT_TRUE(r) << "GET /order: " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-Request-Id"), id);
  // The body is ctxdemo.OrderAnswer in protobuf's JSON mapping.
  ctxdemo::OrderAnswer answer;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(r->body, &answer).ok())
      << "the body is not an OrderAnswer: " << r->body;
  EXPECT_EQ(answer.request_id(), id);
  std::vector<std::string> services;
  for (const ctxdemo::Hop& hop : answer.hops()) {
    services.push_back(hop.service());
    EXPECT_EQ(hop.request_id(), id) << hop.service() << " in " << r->body;
    EXPECT_GT(hop.left_ms(), 0) << hop.service() << " in " << r->body;
  }
  EXPECT_EQ(services,
            (std::vector<std::string>{"gateway", "orders", "inventory/east",
                                      "inventory/west"}))
      << r->body;
  EXPECT_EQ(r->body.find("\"left_ms\": \""), std::string::npos)
      << "left_ms is a JSON string, want a number: " << r->body;
  EXPECT_TRUE(gateway_->WaitForLine({Tag(id), "gateway: 200"}, kCap));
  EXPECT_TRUE(orders_->WaitForLine({Tag(id), "orders: placed"}, kCap));
  EXPECT_TRUE(
      inventory_->WaitForLine({Tag(id), "inventory/east: reserved"}, kCap));
  EXPECT_TRUE(
      inventory_->WaitForLine({Tag(id), "inventory/west: reserved"}, kCap));
}

TEST_F(DemoTest, EveryHopLogsARemainingBudgetBelowTheEdgeBudget) {
  const std::string id = "e2e-budget-1";
  httplib::Result r = Get("/order?work_ms=0", {{"X-Request-Id", id},
                                               {"X-Request-Timeout", "5000"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (e2e::ServiceProcess* s :
       {gateway_.get(), orders_.get(), inventory_.get()}) {
    std::optional<std::string> line = s->WaitForLine({Tag(id), " left="}, kCap);
    ASSERT_TRUE(line) << s->name() << " logged nothing for " << id;
    const size_t at = line->find(" left=") + 6;
    const long left = std::stol(line->substr(at));
    EXPECT_GT(left, 0) << s->name() << ": " << *line;
    EXPECT_LE(left, 5000) << s->name() << ": " << *line;
  }
}

// Scenario 2.
TEST_F(DemoTest, EdgeDeadlineShorterThanTheWorkGives504AndEndsInventory) {
  const std::string id = "e2e-deadline-1";
  const auto start = std::chrono::steady_clock::now();
  httplib::Result r = Get("/order?work_ms=30000",
                          {{"X-Request-Id", id}, {"X-Request-Timeout", "300"}});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r) << "GET /order: " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 504) << r->body;
  EXPECT_LT(took, seconds(15)) << "the answer waited for the 30 s of work";
  EXPECT_TRUE(inventory_->WaitForLine(
      {Tag(id), "done=deadline_exceeded",
       "context ended while working: context deadline exceeded"},
      kCap));
  EXPECT_TRUE(inventory_->WaitForLine({Tag(id), "stopped work after"}, kCap));
}

// A raw connection that sends one request and can hang up mid-request (an
// HTTP client library would wait for the answer).
class RawRequest {
 public:
  RawRequest(int port, const std::string& request) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = fd_ >= 0 &&
          connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
          send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(request.size());
  }
  ~RawRequest() { HangUp(); }
  [[nodiscard]] bool ok() const { return ok_; }
  // ReadToEnd returns everything the server sends until it closes the
  // connection (send "Connection: close"), waiting at most 10 s per read.
  std::string ReadToEnd() {
    const timeval cap{.tv_sec = 10, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &cap, sizeof cap);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd_, buf, sizeof buf, 0)) > 0) {
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  void HangUp() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// Scenario 3.
TEST_F(DemoTest, ClientHangUpCancelsOrdersAndInventoryAndStopsTheWork) {
  const std::string id = "e2e-hangup-1";
  RawRequest request(gateway_port_,
                     "GET /order?work_ms=30000 HTTP/1.1\r\nHost: demo\r\n"
                     "X-Request-Id: " +
                         id +
                         "\r\n"
                         "X-Request-Timeout: 60000\r\n\r\n");
  ASSERT_TRUE(request.ok());
  // Hang up once both reservations are working.
  ASSERT_TRUE(
      inventory_->WaitForLine({Tag(id), "inventory/east: reserve"}, kCap));
  ASSERT_TRUE(
      inventory_->WaitForLine({Tag(id), "inventory/west: reserve"}, kCap));
  request.HangUp();

  EXPECT_TRUE(gateway_->WaitForLine(
      {Tag(id), "gateway: context ended while working: client disconnected"},
      kCap));
  EXPECT_TRUE(gateway_->WaitForLine({"http 499", id}, kCap));
  EXPECT_TRUE(orders_->WaitForLine(
      {Tag(id), "done=canceled", "orders: context ended while working"}, kCap));
  for (const char* warehouse : {"east", "west"}) {
    const std::string hop = std::string("inventory/") + warehouse;
    EXPECT_TRUE(inventory_->WaitForLine(
        {Tag(id), "done=canceled", hop + ": context ended while working"},
        kCap))
        << hop;
    // kCap (10 s) < 30 s of work: the line proves the work stopped early.
    EXPECT_TRUE(
        inventory_->WaitForLine({Tag(id), hop + ": stopped work"}, kCap))
        << hop;
  }
}

// Scenario 4, missing id.
TEST_F(DemoTest, MissingRequestIdIsGeneratedAtTheEdgeAndReusedDownstream) {
  httplib::Result r = Get("/order?work_ms=0", {{"X-Request-Timeout", "5000"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const std::string id = r->get_header_value("X-Request-Id");
  ASSERT_EQ(id.size(), 32u) << "generated id: " << id;
  EXPECT_TRUE(
      gateway_->WaitForLine({Tag(id), "no X-Request-Id: generated"}, kCap));
  EXPECT_TRUE(InAllLogs({Tag(id)})) << id;
}

// Scenario 4, hostile id.
TEST_F(DemoTest, HostileRequestIdIsReplacedAndLoggedOnlyEscaped) {
  const std::string hostile = "evil\x1b[31m-red";
  httplib::Result r = Get("/order?work_ms=0", {{"X-Request-Id", hostile},
                                               {"X-Request-Timeout", "5000"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const std::string id = r->get_header_value("X-Request-Id");
  EXPECT_NE(id, hostile);
  ASSERT_EQ(id.size(), 32u) << "replacement id: " << id;
  EXPECT_TRUE(gateway_->WaitForLine(
      {Tag(id), "invalid X-Request-Id replaced: \"evil\\x1B[31m-red\""}, kCap));
  EXPECT_TRUE(InAllLogs({Tag(id)})) << id;
  for (e2e::ServiceProcess* s :
       {gateway_.get(), orders_.get(), inventory_.get()}) {
    for (const std::string& line : s->Lines()) {
      EXPECT_EQ(line.find('\x1b'), std::string::npos)
          << s->name() << " logged a raw escape byte: " << line;
    }
  }
}

// gRPC and httplib both set SO_REUSEPORT by default, with which a second copy
// of a service bound the busy port and shared it in silence.
TEST_F(DemoTest, SecondCopyOnABusyPortRefusesToStart) {
  struct Copy {
    const char* name;
    const char* path;
    int busy_port;
  };
  for (const Copy& copy :
       {Copy{"inventory-second", CTX_DEMO_INVENTORY, inventory_port_},
        Copy{"gateway-second", CTX_DEMO_GATEWAY, gateway_port_}}) {
    auto second =
        StartAlone(copy.name, copy.path,
                   {"--listen=127.0.0.1:" + std::to_string(copy.busy_port)});
    const std::optional<int> code = second->WaitForExit(kCap);
    ASSERT_TRUE(code) << copy.name << " on busy port " << copy.busy_port
                      << ": still running, want exit 1";
    EXPECT_EQ(*code, 1) << copy.name;
    EXPECT_TRUE(second->WaitForLine({"cannot listen on", "address in use"},
                                    std::chrono::milliseconds(0)))
        << copy.name << ": want \"address in use\" in its log";
  }
}

// The gateway's /healthz asks orders with the standard gRPC health protocol.
TEST_F(DemoTest, HealthzReportsOrdersServing) {
  httplib::Result r = Get("/healthz", {});
  ASSERT_TRUE(r) << "GET /healthz: " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"orders\": \"SERVING\""), std::string::npos)
      << r->body;
}

TEST(DemoHealth, HealthzIs503WhenOrdersDoesNotAnswer) {
  // Port 1 on loopback: nothing listens there.
  auto gateway = StartAlone("gateway-no-orders", CTX_DEMO_GATEWAY,
                            {"--listen=127.0.0.1:0", "--orders=127.0.0.1:1"});
  const int port = gateway->WaitForPort();
  ASSERT_GT(port, 0) << "the gateway did not start";
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(seconds(20));
  httplib::Result r = client.Get("/healthz");
  ASSERT_TRUE(r) << "GET /healthz: " << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find("\"orders\": \"UNAVAILABLE\""), std::string::npos)
      << r->body;
}

// --healthcheck is the compose healthcheck of the gRPC services.
TEST_F(DemoTest, HealthCheckFlagExitsZeroForAServingService) {
  auto probe = StartAlone(
      "orders-healthcheck", CTX_DEMO_ORDERS,
      {"--healthcheck", "--listen=127.0.0.1:" + std::to_string(orders_port_)});
  const std::optional<int> code = probe->WaitForExit(kCap);
  ASSERT_TRUE(code) << "demo_orders --healthcheck did not exit";
  EXPECT_EQ(*code, 0);
  EXPECT_TRUE(probe->WaitForLine({": SERVING"}, std::chrono::milliseconds(0)));
}

TEST(DemoHealth, HealthCheckFlagExitsOneWhenNothingAnswers) {
  auto probe = StartAlone("inventory-healthcheck", CTX_DEMO_INVENTORY,
                          {"--healthcheck", "--listen=127.0.0.1:1"});
  const std::optional<int> code = probe->WaitForExit(kCap);
  ASSERT_TRUE(code) << "demo_inventory --healthcheck did not exit";
  EXPECT_EQ(*code, 1);
}

// A NUL in a header value is refused by the HTTP bridge's framing (RFC 9110
// forbids it) before any handler runs: 400, and the connection closes.
TEST_F(DemoTest, RequestIdWithNulIsRefusedWith400AndClose) {
  using namespace std::string_literals;
  const std::string hostile = "e2e-nul\0after-the-nul"s;
  RawRequest request(gateway_port_,
                     "GET /order?work_ms=0 HTTP/1.1\r\nHost: demo\r\n"
                     "X-Request-Id: " +
                         hostile + "\r\n\r\n");
  ASSERT_TRUE(request.ok());
  const std::string response = request.ReadToEnd();
  EXPECT_TRUE(response.starts_with("HTTP/1.1 400")) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
}

}  // namespace
