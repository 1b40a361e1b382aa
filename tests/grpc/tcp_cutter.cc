// SPDX-License-Identifier: Apache-2.0
// The cuttable TCP relay. See tcp_cutter.h.

#include "tcp_cutter.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ctx::grpc::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Reset closes fd so that the peer sees a reset, not an orderly close.
void Reset(int fd) {
  const linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

// WriteAll writes n bytes, or returns false.
bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

TcpCutter::TcpCutter(int upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(0);
  socklen_t len = sizeof(a);
  if (listen_fd_ < 0 ||
      bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("TcpCutter: ") + std::strerror(errno));
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { Loop(); });
}

TcpCutter::~TcpCutter() {
  Cut();
  thread_.join();
  close(wake_[0]);
  close(wake_[1]);
}

int TcpCutter::Connections() {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

void TcpCutter::Cut() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cut_) return;
    cut_ = true;
  }
  const char one = 1;
  (void)!write(wake_[1], &one, 1);
}

void TcpCutter::Loop() {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& [client, upstream] : pairs_) {
      fds.push_back({client, POLLIN, 0});
      fds.push_back({upstream, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      std::abort();
    }
    if (fds[0].revents != 0) break;  // cut
    // Only the pairs polled above have revents (an accept below adds one).
    const size_t polled = pairs_.size();
    if (fds[1].revents & POLLIN) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_in a = Loopback(upstream_port_);
        if (upstream >= 0 &&
            connect(upstream, reinterpret_cast<const sockaddr*>(&a),
                    sizeof(a)) == 0) {
          const int on = 1;
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          pairs_.emplace_back(client, upstream);
          std::lock_guard<std::mutex> lock(mu_);
          ++connections_;
        } else {
          if (upstream >= 0) close(upstream);
          Reset(client);
        }
      }
    }
    // Relay what arrived; a pair whose side closed or failed is reset.
    for (size_t i = 0; i < polled; ++i) {
      const short in_client = fds[2 + 2 * i].revents;
      const short in_upstream = fds[3 + 2 * i].revents;
      auto [client, upstream] = pairs_[i];
      bool ok = true;
      if (in_client != 0) ok = ok && RelayOnce(client, upstream);
      if (in_upstream != 0) ok = ok && RelayOnce(upstream, client);
      if (!ok) {
        Reset(client);
        Reset(upstream);
        pairs_[i] = {-1, -1};
      }
    }
    std::erase_if(pairs_, [](const auto& p) { return p.first < 0; });
  }
  for (const auto& [client, upstream] : pairs_) {
    Reset(client);
    Reset(upstream);
  }
  pairs_.clear();
  close(listen_fd_);
}

bool TcpCutter::RelayOnce(int from, int to) {
  char buf[64 * 1024];
  ssize_t n;
  do {
    n = recv(from, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  return n > 0 && WriteAll(to, buf, static_cast<size_t>(n));
}

}  // namespace ctx::grpc::testing
