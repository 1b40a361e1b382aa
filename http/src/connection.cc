// Per-connection state and the disconnect rule. See connection.h.

#include "connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <string_view>

#include "ctx/http/status.h"
#include "disconnect_watcher.h"
#include "socket_stream.h"

namespace ctx::http::internal {
namespace {

// The probe: an interim response every HTTP/1.1 client must skip.
constexpr std::string_view kProbe = "HTTP/1.1 100 Continue\r\n\r\n";

thread_local Connection* current_connection = nullptr;

}  // namespace

Connection::Connection(int fd, SocketStream& stream)
    : fd_(fd), stream_(stream) {}

void Connection::Attach(DisconnectWatcher* watcher, uint64_t id) {
  MutexLock lock(mu_);
  watcher_ = watcher;
  id_ = id;
}

bool Connection::BeginWait() {
  MutexLock lock(mu_);
  if (stopping_) return false;
  phase_ = Phase::kWaiting;
  return true;
}

bool Connection::EndWait() {
  MutexLock lock(mu_);
  phase_ = Phase::kReading;
  return !stopping_;
}

void Connection::BeginHandler(const CancelCauseFunc& cancel, bool may_probe) {
  Error cause;
  {
    MutexLock lock(mu_);
    phase_ = Phase::kHandling;
    cancel_ = cancel;
    may_probe_ = may_probe;
    if (stopping_) {
      cause = ServerStopping();
    } else if (gone_) {
      cause = ClientDisconnected();
    } else if (fin_seen_ && may_probe && !probed_ && !want_writable_) {
      // The FIN came before the handler started (often with the request
      // itself): probe now, from the worker, which has nothing else to write.
      if (!ProbeLocked()) cause = ClientDisconnected();
      if (want_writable_) RearmLocked();
    }
  }
  if (cause) cancel(cause);
}

void Connection::EndHandler() {
  std::string tail;
  {
    MutexLock lock(mu_);
    phase_ = Phase::kReading;
    cancel_ = CancelCauseFunc();
    tail = std::move(probe_tail_);
    probe_tail_.clear();
  }
  // The rest of a probe the socket did not take must precede the response.
  if (!tail.empty()) stream_.SetWritePrefix(std::move(tail));
}

void Connection::Close() {
  MutexLock lock(mu_);
  phase_ = Phase::kClosed;
  cancel_ = CancelCauseFunc();
}

bool Connection::ProbeLocked() {
  const ssize_t n =
      ::send(fd_, kProbe.data(), kProbe.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n >= 0) {
    probed_ = true;
    want_writable_ = false;
    if (static_cast<size_t>(n) < kProbe.size()) {
      probe_tail_ = std::string(kProbe.substr(static_cast<size_t>(n)));
    }
    return true;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    // The send buffer is full (a client not reading earlier responses): try
    // again when it has room.
    want_writable_ = true;
    return true;
  }
  gone_ = true;  // EPIPE, ECONNRESET: the answer we were waiting for
  return false;
}

void Connection::RearmLocked() {
  if (watcher_ == nullptr || phase_ == Phase::kClosed || gone_) return;
  // After the FIN only ERR/HUP matter (always reported, so the mask is
  // empty), plus room to write while a probe is pending.
  uint32_t events = fin_seen_ ? 0u : static_cast<uint32_t>(EPOLLRDHUP);
  if (want_writable_) events |= static_cast<uint32_t>(EPOLLOUT);
  watcher_->Rearm(fd_, id_, events);
}

void Connection::OnEvents(uint32_t events) {
  CancelCauseFunc to_cancel;
  {
    MutexLock lock(mu_);
    if (phase_ == Phase::kClosed) return;
    if (events & (EPOLLERR | EPOLLHUP)) {
      // RST or a dead socket. Not re-armed: the worker finds out on its
      // next read or write and closes.
      gone_ = true;
      if (phase_ == Phase::kHandling) to_cancel = cancel_;
    } else {
      if (events & EPOLLRDHUP) fin_seen_ = true;
      if (phase_ == Phase::kHandling && may_probe_ && fin_seen_ && !probed_) {
        if (!ProbeLocked()) to_cancel = cancel_;
      } else if (phase_ != Phase::kHandling) {
        want_writable_ = false;  // no handler left to probe for
      }
      RearmLocked();
    }
  }
  to_cancel(ClientDisconnected());  // a default CancelCauseFunc does nothing
}

void Connection::Stop() {
  CancelCauseFunc to_cancel;
  {
    MutexLock lock(mu_);
    if (stopping_ || phase_ == Phase::kClosed) return;
    stopping_ = true;
    if (phase_ == Phase::kHandling) to_cancel = cancel_;
    // Wake the keep-alive wait: its poll sees EOF, EndWait sees stopping_.
    // Only in kWaiting: a request being read or answered is left to finish,
    // as in stock httplib.
    if (phase_ == Phase::kWaiting) ::shutdown(fd_, SHUT_RD);
  }
  to_cancel(ServerStopping());  // a default CancelCauseFunc does nothing
}

Connection* CurrentConnection() noexcept { return current_connection; }

CurrentConnectionScope::CurrentConnectionScope(Connection* conn) noexcept
    : previous_(current_connection) {
  current_connection = conn;
}

CurrentConnectionScope::~CurrentConnectionScope() {
  current_connection = previous_;
}

}  // namespace ctx::http::internal
