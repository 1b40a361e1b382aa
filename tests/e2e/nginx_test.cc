// SPDX-License-Identifier: Apache-2.0
// A ctx::http::Server behind a real nginx, as a service would be deployed:
// nginx runs as a child process on loopback with its default proxy settings
// (proxy_pass, which speaks HTTP/1.0 to the upstream, plus X-Request-Id from
// $request_id), from a temporary prefix. Skipped when no nginx binary exists.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ctx/context.h"
#include "ctx/http/server.h"
#include "ctx/propagation.h"
#include "service_process.h"

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr seconds kCap(30);

// NginxPath finds the nginx binary ($CTX_NGINX first), or "".
std::string NginxPath() {
  if (const char* env = std::getenv("CTX_NGINX"); env != nullptr && *env) {
    return env;
  }
  for (const char* p :
       {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

// FreePort returns a port that was free a moment ago (nginx needs a number).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Connect opens a loopback connection with every wait capped at kCap; -1 on
// failure.
int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = kCap.count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n =
        ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string ReadToEof(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Recorded is what the /slow and /id handlers saw.
struct Recorded {
  std::mutex mu;
  std::string request_id;
  std::optional<ctx::Error> cause;
};

class NginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string nginx = NginxPath();
    if (nginx.empty()) {
      GTEST_SKIP() << "no nginx binary (install the nginx package, or set "
                      "CTX_NGINX): the nginx end-to-end tests are skipped";
    }
    server_ = std::make_unique<ctx::http::Server>();
    server_->Get("/slow", [this](const ctx::Context& c, const httplib::Request&,
                                 httplib::Response& res) {
      started_.cancel();
      c.Done().WaitFor(kCap);
      {
        std::lock_guard<std::mutex> lock(recorded_.mu);
        recorded_.cause = ctx::Cause(c);
      }
      finished_.cancel();
      res.set_content("slow", "text/plain");
    });
    server_->Get("/id", [this](const ctx::Context& c, const httplib::Request&,
                               httplib::Response& res) {
      const std::string* id = c.Value(ctx::kRequestIdKey);
      std::lock_guard<std::mutex> lock(recorded_.mu);
      recorded_.request_id = id != nullptr ? *id : "";
      res.set_content(recorded_.request_id, "text/plain");
    });
    const int upstream = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(upstream, 0);
    serving_ = std::thread([this] { server_->listen_after_bind(); });

    prefix_ = std::filesystem::temp_directory_path() /
              ("ctx-nginx-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(prefix_);
    std::filesystem::create_directories(prefix_ / "logs");
    port_ = FreePort();
    ASSERT_GT(port_, 0);
    const std::string p = prefix_.string();
    std::ofstream conf(prefix_ / "nginx.conf");
    // Only what running unprivileged from a temporary prefix needs, and the
    // proxy: proxy_pass with nginx's defaults, plus the request id.
    conf << "daemon off;\nmaster_process off;\npid " << p << "/nginx.pid;\n"
         << "error_log stderr notice;\n"
         << "events { worker_connections 64; }\n"
         << "http {\n"
         << "  client_body_temp_path " << p << "/body;\n"
         << "  proxy_temp_path " << p << "/proxy;\n"
         << "  fastcgi_temp_path " << p << "/fastcgi;\n"
         << "  uwsgi_temp_path " << p << "/uwsgi;\n"
         << "  scgi_temp_path " << p << "/scgi;\n"
         << "  log_format ids '$request_id';\n"
         << "  access_log " << p << "/logs/ids.log ids;\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << port_ << ";\n"
         << "    location / {\n"
         << "      proxy_pass http://127.0.0.1:" << upstream << ";\n"
         << "      proxy_set_header X-Request-Id $request_id;\n"
         << "    }\n"
         << "  }\n"
         << "}\n";
    conf.close();
    nginx_ = std::make_unique<e2e::ServiceProcess>(
        "nginx", nginx,
        std::vector<std::string>{"-p", p, "-c", p + "/nginx.conf"}, p);
    // nginx reports its limits once its sockets listen.
    ASSERT_TRUE(nginx_->WaitForLine({"getrlimit"}, kCap).has_value())
        << "nginx did not start; see " << nginx_->log_path();
  }

  void TearDown() override {
    if (nginx_) nginx_->Stop();
    if (server_) server_->Shutdown(milliseconds(0));
    if (serving_.joinable()) serving_.join();
    if (!prefix_.empty()) std::filesystem::remove_all(prefix_);
  }

  ctx::ContextAndCancel started_ = ctx::WithCancel(ctx::Background());
  ctx::ContextAndCancel finished_ = ctx::WithCancel(ctx::Background());
  Recorded recorded_;
  std::unique_ptr<ctx::http::Server> server_;
  std::thread serving_;
  std::filesystem::path prefix_;
  int port_ = -1;
  std::unique_ptr<e2e::ServiceProcess> nginx_;
};

TEST_F(NginxTest, ClientHangUpAtNginxCancelsTheHandler) {
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0) << "cannot connect to nginx";
  ASSERT_TRUE(SendAll(fd, "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n"));
  ASSERT_TRUE(started_.context.Done().WaitFor(kCap))
      << "the request never reached the handler";
  ::close(fd);
  ASSERT_TRUE(finished_.context.Done().WaitFor(kCap))
      << "hanging up at nginx did not end the handler's context";
  std::lock_guard<std::mutex> lock(recorded_.mu);
  ASSERT_TRUE(recorded_.cause.has_value());
  EXPECT_EQ(*recorded_.cause, ctx::http::ClientDisconnected());
}

TEST_F(NginxTest, NginxRequestIdIsTheHandlersRequestId) {
  const int fd = Connect(port_);
  ASSERT_GE(fd, 0) << "cannot connect to nginx";
  ASSERT_TRUE(SendAll(
      fd, "GET /id HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  const std::string response = ReadToEof(fd);
  ::close(fd);
  ASSERT_NE(response.find(" 200 "), std::string::npos) << response;
  std::string seen;
  {
    std::lock_guard<std::mutex> lock(recorded_.mu);
    seen = recorded_.request_id;
  }
  // nginx writes the access log line when the request ends, i.e. before it
  // closed our connection.
  std::ifstream log(prefix_ / "logs" / "ids.log");
  std::string logged;
  std::getline(log, logged);
  ASSERT_EQ(logged.size(), 32u) << "nginx's $request_id: " << logged;
  EXPECT_EQ(seen, logged) << "the handler saw another id than nginx sent";
}

}  // namespace
