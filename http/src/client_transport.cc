// httplib's client with context-bounded waits. See client_transport.h.

#include "client_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <memory>

#include "socket_stream.h"

namespace ctx::http::internal {
namespace {

using std::chrono::microseconds;

microseconds ToMicros(time_t sec, time_t usec) {
  return std::chrono::seconds(sec) + microseconds(usec);
}

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};

// ConnectOne connects `fd` (non-blocking) within `timeout`, giving up when
// `abort_fd` turns readable. Returns Success, Canceled, ConnectionTimeout or
// Connection.
httplib::Error ConnectOne(int fd, const addrinfo& ai, microseconds timeout,
                          int abort_fd) {
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0) {
    return httplib::Error::Success;
  }
  if (errno != EINPROGRESS && errno != EINTR) return httplib::Error::Connection;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{fd, POLLOUT, 0}, {abort_fd, POLLIN, 0}};
  const nfds_t n = abort_fd >= 0 ? 2 : 1;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int wait = static_cast<int>(
        std::clamp<int64_t>(left.count(), 0, std::numeric_limits<int>::max()));
    const int r = ::poll(fds, n, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return httplib::Error::Connection;
    if (r == 0) return httplib::Error::ConnectionTimeout;
    if (n == 2 && fds[1].revents != 0) return httplib::Error::Canceled;
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 ||
        so_error != 0) {
      return httplib::Error::Connection;
    }
    return httplib::Error::Success;
  }
}

}  // namespace

microseconds ContextClientImpl::Bounded(microseconds configured) const {
  if (!limits_.deadline) return configured;
  const auto left =
      std::chrono::ceil<microseconds>(*limits_.deadline - Clock::now());
  return std::max(microseconds::zero(), std::min(configured, left));
}

bool ContextClientImpl::create_and_connect_socket(Socket& socket,
                                                  httplib::Error& error) {
  // Through a proxy or from a chosen interface, httplib's connect applies
  // (not interruptible, but bounded by the connection timeout).
  if (!proxy_host_.empty() || !interface_.empty()) {
    const time_t sec = connection_timeout_sec_;
    const time_t usec = connection_timeout_usec_;
    const microseconds bounded = Bounded(ToMicros(sec, usec));
    connection_timeout_sec_ = static_cast<time_t>(bounded.count() / 1'000'000);
    connection_timeout_usec_ = static_cast<time_t>(bounded.count() % 1'000'000);
    const bool ok = ClientImpl::create_and_connect_socket(socket, error);
    connection_timeout_sec_ = sec;
    connection_timeout_usec_ = usec;
    return ok;
  }

  std::string host = host_;
  if (auto it = addr_map_.find(host_); it != addr_map_.end()) {
    host = it->second;
  }
  addrinfo hints{};
  hints.ai_family = address_family_;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(port_);
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    error = httplib::Error::Connection;
    return false;
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(found);

  const microseconds connect_timeout =
      Bounded(ToMicros(connection_timeout_sec_, connection_timeout_usec_));
  error = httplib::Error::Connection;
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    const int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                 ai->ai_protocol);
    if (fd < 0) continue;
    if (tcp_nodelay_) {
      const int yes = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    }
    if (socket_options_) socket_options_(fd);
    error = ConnectOne(fd, *ai, connect_timeout, limits_.abort_fd);
    if (error == httplib::Error::Success) {
      // Back to blocking, as httplib leaves its sockets; our stream waits
      // with poll and writes with MSG_DONTWAIT anyway.
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      socket.sock = fd;
      return true;
    }
    ::close(fd);
    // Canceled and timed out are final; a refused address tries the next.
    if (error != httplib::Error::Connection) return false;
  }
  return false;
}

bool ContextClientImpl::process_socket(
    const Socket& socket, std::function<bool(httplib::Stream&)> callback) {
  SocketStream stream(
      socket.sock, Bounded(ToMicros(read_timeout_sec_, read_timeout_usec_)),
      Bounded(ToMicros(write_timeout_sec_, write_timeout_usec_)),
      limits_.abort_fd);
  return callback(stream);
}

}  // namespace ctx::http::internal
