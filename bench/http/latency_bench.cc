// SPDX-License-Identifier: Apache-2.0
// latency_bench: how fast the HTTP bridge notices that a request is over.
//
//   disconnect/close/1.1  client closes (FIN) while the handler waits on its
//                         context; measured from close(2) to the handler's
//                         wake-up
//   disconnect/reset/1.1  same with SO_LINGER 0 (RST at once)
//   .../1.0               the same with HTTP/1.0 requests
//   nginx/close, nginx/reset  the client talks to an nginx (started here from a
//                         temporary prefix, default proxy settings: HTTP/1.0
//                         upstream) that proxies to the server; measured from
//                         the client's close(2) to the handler's wake-up
//   client/cancel         a ctx::http::Client call waiting for a slow server;
//                         measured from cancel() to the call's return
//
// Each case runs N iterations (default 1000; argv[1] overrides) one at a time
// on loopback and prints p50, p99 and max in microseconds. argv[2], when
// given, is the nginx binary for the nginx cases.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "ctx/http/client.h"
#include "ctx/http/server.h"

namespace {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::duration<double, std::micro>;
constexpr auto kCap = std::chrono::seconds(10);

// Phase is a tiny mailbox between the handler and the driver.
struct Phase {
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  int ended = 0;
  Clock::time_point ended_at;

  void Start() {
    std::lock_guard<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
  }
  void End(Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu);
    ++ended;
    ended_at = at;
    cv.notify_all();
  }
  int Started() {
    std::lock_guard<std::mutex> lock(mu);
    return started;
  }
  int Ended() {
    std::lock_guard<std::mutex> lock(mu);
    return ended;
  }
  bool WaitStarted(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kCap, [&] { return started >= n; });
  }
  bool WaitEnded(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kCap, [&] { return ended >= n; });
  }
};

// TryConnect opens a loopback connection, or returns -1.
int TryConnect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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

int Connect(int port) {
  const int fd = TryConnect(port);
  if (fd < 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// Nginx runs nginx in front of `upstream` on a free loopback port, from a
// temporary prefix, until destroyed.
class Nginx {
 public:
  Nginx(const std::string& binary, int upstream) {
    prefix_ = std::filesystem::temp_directory_path() /
              ("ctx-latency-nginx-" + std::to_string(::getpid()));
    std::filesystem::create_directories(prefix_);
    const std::string p = prefix_.string();
    port_ = FreePort();
    std::ofstream(prefix_ / "nginx.conf")
        << "daemon off;\nmaster_process off;\npid " << p << "/nginx.pid;\n"
        << "error_log " << p << "/error.log;\n"
        << "events { worker_connections 256; }\nhttp {\n"
        << "  access_log off;\n"
        << "  client_body_temp_path " << p << "/body;\n"
        << "  proxy_temp_path " << p << "/proxy;\n"
        << "  fastcgi_temp_path " << p << "/fastcgi;\n"
        << "  uwsgi_temp_path " << p << "/uwsgi;\n"
        << "  scgi_temp_path " << p << "/scgi;\n"
        << "  server {\n    listen 127.0.0.1:" << port_ << ";\n"
        << "    location / {\n      proxy_pass http://127.0.0.1:" << upstream
        << ";\n      proxy_set_header X-Request-Id $request_id;\n    }\n  "
           "}\n}\n";
    const std::string conf = p + "/nginx.conf";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::execl(binary.c_str(), binary.c_str(), "-p", p.c_str(), "-c",
              conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait (bounded) until it listens.
    for (int i = 0; i < 1000; ++i) {
      const int fd = TryConnect(port_);
      if (fd >= 0) {
        ::close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fprintf(stderr, "nginx did not start; see %s/error.log\n", p.c_str());
    std::exit(7);
  }
  ~Nginx() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    std::filesystem::remove_all(prefix_);
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;
  [[nodiscard]] int port() const { return port_; }

 private:
  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  std::filesystem::path prefix_;
  int port_ = -1;
  pid_t pid_ = -1;
};

void Report(const char* name, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))];
  };
  std::printf("%-22s n=%zu p50=%.0fus p99=%.0fus max=%.0fus\n", name, us.size(),
              at(0.50), at(0.99), us.back());
}

std::vector<double> Disconnect(int port, Phase& phase, int n, bool reset,
                               const char* version = "HTTP/1.1") {
  std::vector<double> out;
  const std::string request =
      std::string("GET /wait ") + version + "\r\nHost: b\r\n\r\n";
  for (int i = 0; i < n; ++i) {
    const int fd = Connect(port);
    if (::send(fd, request.data(), request.size(), 0) < 0) std::exit(1);
    const int before = phase.Ended();
    if (!phase.WaitStarted(before + 1)) std::exit(2);
    if (reset) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    const Clock::time_point t0 = Clock::now();
    ::close(fd);
    if (!phase.WaitEnded(before + 1)) std::exit(3);
    std::lock_guard<std::mutex> lock(phase.mu);
    out.push_back(Micros(phase.ended_at - t0).count());
  }
  return out;
}

std::vector<double> ClientCancel(int port, Phase& phase, int n) {
  std::vector<double> out;
  ctx::http::Client client("127.0.0.1", port);
  for (int i = 0; i < n; ++i) {
    auto [c, cancel] = ctx::WithCancel(ctx::Background());
    const int before = phase.Started();
    Clock::time_point t0;
    std::thread canceler([&, cancel = cancel] {
      if (!phase.WaitStarted(before + 1)) std::exit(4);
      t0 = Clock::now();
      cancel();
    });
    ctx::http::Result r = client.Get(c, "/wait");
    const Clock::time_point t1 = Clock::now();
    canceler.join();
    if (!r.canceled()) {
      std::fprintf(stderr, "call was not canceled: %s\n",
                   r.error().ToString().c_str());
      std::exit(5);
    }
    out.push_back(Micros(t1 - t0).count());
    // Let the server notice the client left before the next round.
    if (!phase.WaitEnded(phase.Started())) std::exit(6);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  Phase phase;
  ctx::http::ServerOptions options;
  options.logger = nullptr;  // 499 lines would dominate the output
  ctx::http::Server server(options);
  server.Get("/wait", [&phase](const ctx::Context& c, const httplib::Request&,
                               httplib::Response& res) {
    phase.Start();
    c.Done().WaitFor(kCap);
    phase.End(Clock::now());
    res.set_content("late", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { server.listen_after_bind(); });

  Report("disconnect/close/1.1", Disconnect(port, phase, n, false));
  Report("disconnect/reset/1.1", Disconnect(port, phase, n, true));
  Report("disconnect/close/1.0", Disconnect(port, phase, n, false, "HTTP/1.0"));
  Report("disconnect/reset/1.0", Disconnect(port, phase, n, true, "HTTP/1.0"));
  if (argc > 2) {
    Nginx nginx(argv[2], port);
    Report("nginx/close", Disconnect(nginx.port(), phase, n, false));
    Report("nginx/reset", Disconnect(nginx.port(), phase, n, true));
  }
  Report("client/cancel", ClientCancel(port, phase, n));

  server.stop();
  listener.join();
  return 0;
}
