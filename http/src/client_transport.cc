// SPDX-License-Identifier: Apache-2.0
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
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "ctx/internal/http_syntax.h"
#include "socket_stream.h"

namespace ctx::http::internal {
namespace {

using ::ctx::internal::FramingHeader;
using ::ctx::internal::IsControl;
using ::ctx::internal::IsFieldValue;
using ::ctx::internal::IsToken;
using ::ctx::internal::ParseDecimal;
using ::ctx::internal::TrimOws;

using std::chrono::microseconds;

microseconds ToMicros(time_t sec, time_t usec) {
  return std::chrono::seconds(sec) + microseconds(usec);
}

// CheckHeaders returns why `headers` cannot be sent, or an empty string.
std::string CheckHeaders(const httplib::Headers& headers,
                         std::string_view what) {
  for (const auto& [name, value] : headers) {
    if (!IsToken(name)) {
      return std::string(what) + ": a header name is empty or not a token";
    }
    if (const std::string_view framing = FramingHeader(name);
        !framing.empty()) {
      return std::string(what) + ": header " + std::string(framing) +
             " frames the message or the connection (the client does)";
    }
    if (!IsFieldValue(value)) {
      return std::string(what) + ": the value of header " + name +
             " holds a control character (CR, LF, NUL, ...)";
    }
  }
  return {};
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

// HasInput reports whether `fd` is readable now (data, EOF or an error).
bool HasInput(int fd) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, 0);
  } while (r < 0 && errno == EINTR);
  return r != 0;
}

// CheckRequest returns why `req` cannot be sent safely, or an empty string
// (see ContextClientImpl::Send for the rules).
std::string CheckRequest(const httplib::Request& req, bool url_encode) {
  if (!IsToken(req.method)) return "the method is empty or not a token";
  if (req.path.empty()) return "the path is empty";
  for (char c : req.path) {
    if (IsControl(c)) {
      return "the path holds a control character (CR, LF, NUL, ...)";
    }
    if (c == ' ' && !url_encode) {
      return "the path holds a space (and URL encoding is off)";
    }
  }
  return CheckHeaders(req.headers, "request");
}

// BoundedBody collects one call's response body up to a limit. Its receivers
// run on the calling thread, for each response httplib reads in the call
// (a digest auth retry makes two): each one starts afresh.
struct BoundedBody {
  size_t max = 0;  // 0: no limit
  uint64_t received = 0;
  bool exceeded = false;  // set once the body would pass `max`
  std::string body;       // unless the request had a content receiver
  bool follow = false;    // redirects are followed (by the Client)
  bool followed = false;  // the response being read is one it follows
};

// ReceiveBounded makes `req` deliver its response body to `bounded` (or to
// the content receiver it already has), failing the read once the body, or
// the Content-Length announced before it, would pass bounded.max. The body
// of a response the Client follows is dropped (still bounded), and the
// request's own response handler, content receiver and progress callback
// never see that response.
void ReceiveBounded(httplib::Request& req, BoundedBody& bounded) {
  req.response_handler =
      [&bounded, &req,
       next = std::move(req.response_handler)](const httplib::Response& res) {
        // A new response: what an earlier one (a 401 before a retry) left goes.
        bounded.received = 0;
        bounded.body.clear();
        uint64_t announced = 0;
        if (bounded.max != 0 &&
            ParseDecimal(TrimOws(res.get_header_value("Content-Length")),
                         announced) &&
            announced > bounded.max) {
          bounded.exceeded = true;
          return false;
        }
        bounded.followed = bounded.follow && WillFollow(req, res);
        return bounded.followed || !next || next(res);
      };
  req.content_receiver = [&bounded, next = std::move(req.content_receiver)](
                             const char* data, size_t n, uint64_t offset,
                             uint64_t total) {
    if (bounded.max != 0 && n > bounded.max - bounded.received) {
      bounded.exceeded = true;
      return false;
    }
    bounded.received += n;
    if (bounded.followed) return true;
    if (next) return next(data, n, offset, total);
    bounded.body.append(data, n);
    return true;
  };
  if (req.progress) {
    req.progress = [&bounded, next = std::move(req.progress)](uint64_t current,
                                                              uint64_t total) {
      return bounded.followed || next(current, total);
    };
  }
}

}  // namespace

std::string ContextClientImpl::CheckSettings() const {
  if (!IsFieldValue(host_) || host_.find(' ') != std::string::npos) {
    return "the client's host holds a space or a control character";
  }
  if (!IsFieldValue(bearer_token_auth_token_) ||
      !IsFieldValue(proxy_bearer_token_auth_token_)) {
    return "a bearer token holds a control character";
  }
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  // Digest auth quotes the user name into its header as is.
  if (!IsFieldValue(digest_auth_username_) ||
      !IsFieldValue(proxy_digest_auth_username_)) {
    return "a digest auth user name holds a control character";
  }
#endif
  return CheckHeaders(default_headers_, "default headers");
}

bool ContextClientImpl::Send(httplib::Request& req, httplib::Response& res,
                             httplib::Error& error, Error& refused,
                             CallLimits limits) {
  std::string reason = CheckRequest(req, url_encode_);
  if (reason.empty()) reason = CheckSettings();
  if (!reason.empty()) {
    refused = Error(std::errc::invalid_argument, reason);
    error = httplib::Error::Unknown;
    return false;
  }
  // Anything readable on an idle kept-alive connection (a stray response,
  // EOF) is checked for once, here, where it matters.
  DropIfUnread(/*check_socket=*/true);
  // httplib follows no redirect in here (the Client does), whatever happens.
  struct NoFollow {
    bool& follow;
    const bool was = std::exchange(follow, false);
    ~NoFollow() { follow = was; }
  } no_follow{follow_location_};
  const bool own_body = !req.content_receiver;
  BoundedBody bounded;
  bounded.max = limits.max_response_bytes;
  bounded.follow = no_follow.was;
  ReceiveBounded(req, bounded);
  limits_ = std::move(limits);
  read_limited_ = false;
  // A failed call (a receiver refusing the body among the causes) closes
  // the connection.
  const bool ok = send(req, res, error);
  limits_ = {};
  DropIfUnread(/*check_socket=*/false);
  // Either bound (the body's, or what the socket gave with the head's room)
  // failed the read.
  if (bounded.exceeded || (read_limited_ && !ok)) {
    refused = Error(std::errc::message_size,
                    "the response is larger than max_response_bytes (" +
                        std::to_string(bounded.max) + ") allows");
    return false;
  }
  if (ok && own_body) res.body = std::move(bounded.body);
  return ok;
}

void ContextClientImpl::CopySettingsFrom(const ContextClientImpl& other) {
  copy_settings(other);
  default_headers_ = other.default_headers_;
  addr_map_ = other.addr_map_;
  basic_auth_username_.clear();
  basic_auth_password_.clear();
  bearer_token_auth_token_.clear();
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  digest_auth_username_.clear();
  digest_auth_password_.clear();
#endif
  DropCredentials(default_headers_, /*via_proxy=*/!proxy_host_.empty());
  default_headers_.erase("Host");
  if (proxy_host_.empty()) {
    // httplib sends a Proxy-Authorization from these with or without a proxy.
    proxy_basic_auth_username_.clear();
    proxy_basic_auth_password_.clear();
    proxy_bearer_token_auth_token_.clear();
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    proxy_digest_auth_username_.clear();
    proxy_digest_auth_password_.clear();
#endif
  }
}

void ContextClientImpl::DropIfUnread(bool check_socket) {
  std::lock_guard<std::mutex> lock(socket_mutex_);
  const bool drop = socket_.is_open() &&
                    (unread_input_ || (check_socket && HasInput(socket_.sock)));
  unread_input_ = false;
  if (!drop) return;
  shutdown_socket(socket_);
  close_socket(socket_);
}

microseconds ContextClientImpl::Timeout(microseconds configured) const {
  if (!limits_.deadline) return configured;
  const auto left =
      std::chrono::ceil<microseconds>(*limits_.deadline - Clock::now());
  return std::max(microseconds::zero(), left);
}

bool ContextClientImpl::create_and_connect_socket(Socket& socket,
                                                  httplib::Error& error) {
  // Through a proxy or from a chosen interface, httplib's connect applies
  // (not interruptible, but bounded by the deadline).
  if (!proxy_host_.empty() || !interface_.empty()) {
    const time_t sec = connection_timeout_sec_;
    const time_t usec = connection_timeout_usec_;
    const microseconds bounded = Timeout(ToMicros(sec, usec));
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
      Timeout(ToMicros(connection_timeout_sec_, connection_timeout_usec_));
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
  if (limits_.before_send && !limits_.before_send()) return false;
  SocketStream stream(
      socket.sock, Timeout(ToMicros(read_timeout_sec_, read_timeout_usec_)),
      Timeout(ToMicros(write_timeout_sec_, write_timeout_usec_)),
      limits_.abort_fd);
  if (limits_.max_response_bytes != 0) {
    stream.LimitReads(limits_.max_response_bytes + kMaxResponseHeadBytes);
  }
  const bool ok = callback(stream);
  if (stream.read_limited()) read_limited_ = true;
  // Bytes past the response belong to no call of ours: the connection must
  // not serve another.
  if (stream.HasBufferedInput()) unread_input_ = true;
  return ok;
}

std::error_code CallGate::Enter(const Context& c) {
  {
    MutexLock lock(mu_);
    if (!busy_) {
      busy_ = true;
      return {};
    }
  }
  // Busy: wait on a child of `c` that Leave cancels when our turn comes, so
  // one wait sees both our turn and the end of `c`.
  ContextAndCancel turn = WithCancel(c);
  Waiter me{turn.cancel};
  std::list<Waiter*>::iterator pos;
  {
    MutexLock lock(mu_);
    if (!busy_) {
      busy_ = true;
      return {};
    }
    pos = waiters_.insert(waiters_.end(), &me);
  }
  turn.context.Done().Wait();
  MutexLock lock(mu_);
  if (me.entered) return {};
  waiters_.erase(pos);
  return c.Err();
}

void CallGate::Leave() {
  CancelFunc wake;
  {
    MutexLock lock(mu_);
    if (waiters_.empty()) {
      busy_ = false;
      return;
    }
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->entered = true;
    wake = next->wake;  // the waiter may return (and go) once we unlock
  }
  wake();
}

}  // namespace ctx::http::internal
