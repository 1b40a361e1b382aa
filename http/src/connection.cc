// SPDX-License-Identifier: Apache-2.0
// Per-connection state and the disconnect rule. See connection.h.

#include "connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <utility>

#include "ctx/http/status.h"

namespace ctx::http::internal {
namespace {

thread_local Connection* current_connection = nullptr;

}  // namespace

Connection::Connection(int fd, uint64_t id, Peer peer,
                       const ParserLimits& limits)
    : fd_(fd), id_(id), peer_(std::move(peer)), parser_(limits) {}

void Connection::BeginHandler(const CancelCauseFunc& cancel) {
  Error cause;
  {
    MutexLock lock(mu_);
    cancel_ = cancel;
    if (cancel_all_) {
      cause = ServerStopping();
    } else if (gone_) {
      cause = ClientDisconnected();
    }
  }
  if (cause) cancel(cause);
}

void Connection::EndHandler() {
  MutexLock lock(mu_);
  cancel_ = CancelCauseFunc();
}

bool Connection::KeepOpen() {
  MutexLock lock(mu_);
  return !gone_ && !stopping_;
}

bool Connection::Stopping() {
  MutexLock lock(mu_);
  return stopping_;
}

void Connection::PeerGone() {
  CancelCauseFunc to_cancel;
  {
    MutexLock lock(mu_);
    if (phase_ != Phase::kWorker) return;
    gone_ = true;
    to_cancel = cancel_;
  }
  to_cancel(ClientDisconnected());  // a default CancelCauseFunc does nothing
}

void Connection::MarkGone() {
  MutexLock lock(mu_);
  gone_ = true;
}

Connection::Phase Connection::Stop(bool cancel_handlers) {
  CancelCauseFunc to_cancel;
  Phase phase;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    if (cancel_handlers && !cancel_all_) {
      cancel_all_ = true;
      to_cancel = cancel_;
    }
    phase = phase_;
  }
  to_cancel(ServerStopping());
  return phase;
}

void Connection::ShutdownSocket() {
  MutexLock lock(mu_);
  if (phase_ != Phase::kClosed) ::shutdown(fd_, SHUT_RDWR);
}

Connection::Phase Connection::phase() {
  MutexLock lock(mu_);
  return phase_;
}

bool Connection::Arm(Phase phase, TimePoint deadline, int epoll_fd,
                     uint32_t events, bool only_if_open) {
  MutexLock lock(mu_);
  if (phase_ == Phase::kClosed) return false;
  if (only_if_open && (gone_ || stopping_)) return false;
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = id_;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd_, &ev) != 0) return false;
  // An event that fires meanwhile waits for mu_, so it sees the new phase.
  phase_ = phase;
  deadline_ = deadline;
  return true;
}

TimePoint Connection::deadline() {
  MutexLock lock(mu_);
  return deadline_;
}

void Connection::SetDeadline(TimePoint deadline) {
  MutexLock lock(mu_);
  deadline_ = deadline;
}

bool Connection::TryClose() {
  MutexLock lock(mu_);
  if (phase_ == Phase::kClosed) return false;
  phase_ = Phase::kClosed;
  cancel_ = CancelCauseFunc();
  return true;
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
