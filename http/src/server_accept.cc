// SPDX-License-Identifier: Apache-2.0
// The server loop's listening side: binding, accepting into the connection
// table, refusing beyond max_connections or out of descriptors. See
// server_loop.h.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "loop_wire.h"
#include "server_loop.h"
#include "socket_address.h"

namespace ctx::http::internal {

int ServerLoop::OpenReserve() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int ServerLoop::Bind(const std::string& host, int port) {
  {
    MutexLock lock(mu_);
    if (bound_ || epoll_fd_ < 0 || wake_fd_ < 0) return -1;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(),
                    &hints, &found) != 0) {
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
        ::listen(fd, limits_.backlog) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) return -1;
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  std::string ip;
  int bound = -1;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    AddressOf(addr, len, ip, bound);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerId;
  if (bound <= 0 || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    return -1;
  }
  MutexLock lock(mu_);
  listen_fd_ = fd;
  bound_ = true;
  return bound;
}

void ServerLoop::Accept(TimePoint now) {
  for (int i = 0; i < 64 && listen_fd_ >= 0; ++i) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr),
                             &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && RefuseWithReserve()) {
        continue;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        // Out of descriptors or memory: stop watching the listener for a
        // tick instead of spinning on it (Scan re-enables it).
        epoll_event ev{};
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
        accept_paused_until_ = now + kTick;
      }
      return;
    }
    Peer peer;
    AddressOf(addr, len, peer.remote_ip, peer.remote_port);
    sockaddr_storage local{};
    socklen_t local_len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) ==
        0) {
      AddressOf(local, local_len, peer.local_ip, peer.local_port);
    }
    const char* refused = nullptr;
    uint64_t id;
    {
      MutexLock lock(mu_);
      if (connections_.size() >= limits_.max_connections) {
        refused = "too many connections";
      } else if (limits_.max_connections_per_ip > 0) {
        const auto it = per_ip_.find(peer.remote_ip);
        if (it != per_ip_.end() &&
            it->second >= limits_.max_connections_per_ip) {
          refused = "too many connections from this address";
        }
      }
      id = next_id_++;
    }
    if (refused != nullptr) {
      SendNow(fd, ErrorResponse(503, refused));
      ::close(fd);
      if (reject_) reject_(503, refused, peer);
      continue;
    }
    if (limits_.tcp_nodelay) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    auto conn =
        std::make_shared<Connection>(fd, id, std::move(peer), parser_limits_);
    conn->SetDeadline(ReadingDeadline(RequestParser::State::kIdle, now));
    {
      MutexLock lock(mu_);
      connections_.emplace(id, conn);
      if (limits_.max_connections_per_ip > 0) ++per_ip_[conn->peer().remote_ip];
    }
    epoll_event ev{};
    ev.events = kReadEvents | EPOLLONESHOT;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) Close(conn);
  }
}

bool ServerLoop::RefuseWithReserve() {
  if (reserve_fd_ < 0) return false;
  ::close(reserve_fd_);
  reserve_fd_ = -1;
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    Peer peer;
    AddressOf(addr, len, peer.remote_ip, peer.remote_port);
    SendNow(fd, ErrorResponse(503, "out of file descriptors"));
    ::close(fd);
    if (reject_) reject_(503, "out of file descriptors", peer);
  }
  reserve_fd_ = OpenReserve();
  return fd >= 0 && reserve_fd_ >= 0;
}

}  // namespace ctx::http::internal
