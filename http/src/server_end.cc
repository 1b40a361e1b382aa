// SPDX-License-Identifier: Apache-2.0
// The server loop's ending side: writing the response tail a worker left,
// rejecting a request, lingering after a response and closing. See
// server_loop.h.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "loop_wire.h"
#include "server_loop.h"

namespace ctx::http::internal {
namespace {

// kLinger bounds how long, and kLingerBytes how much, input is discarded
// after a connection's last response (or a rejection) before the socket is
// closed.
constexpr std::chrono::milliseconds kLinger(1000);
constexpr size_t kLingerBytes = 256 * 1024;

}  // namespace

TimePoint ServerLoop::WriteDeadline(const Connection& conn,
                                    TimePoint now) const {
  return std::min(conn.tail_deadline, now + limits_.write_timeout);
}

bool ServerLoop::ArmTail(const std::shared_ptr<Connection>& conn,
                         bool close_after, TimePoint response_deadline,
                         bool only_if_open) {
  conn->close_after_tail = close_after;
  conn->tail_deadline = response_deadline;
  return conn->Arm(Connection::Phase::kWriting,
                   WriteDeadline(*conn, Clock::now()), epoll_fd_, EPOLLOUT,
                   only_if_open);
}

void ServerLoop::WriteTail(const std::shared_ptr<Connection>& conn,
                           bool close_after, TimePoint response_deadline) {
  if (!ArmTail(conn, close_after, response_deadline, false)) Close(conn);
}

void ServerLoop::WriteMore(const std::shared_ptr<Connection>& conn) {
  bool wrote = false;
  while (!conn->tail.empty()) {
    Connection::TailPart& part = conn->tail.front();
    const ssize_t r = SendSome(conn->fd(), part.bytes.data() + part.pos,
                               part.bytes.size() - part.pos);
    if (r >= 0) {
      wrote = wrote || r > 0;
      part.pos += static_cast<size_t>(r);
      if (part.pos == part.bytes.size()) conn->tail.pop_front();
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Progress restarts the write timeout, never the response's deadline.
      const TimePoint deadline =
          wrote ? WriteDeadline(*conn, Clock::now()) : conn->deadline();
      if (!conn->Arm(Connection::Phase::kWriting, deadline, epoll_fd_, EPOLLOUT,
                     false)) {
        Close(conn);
      }
      return;
    }
    Close(conn);  // the client is gone: the rest cannot be delivered
    return;
  }
  conn->continue_tail = false;
  if (conn->close_after_tail) {
    StartLinger(conn);
  } else if (AfterInput(conn, /*from_worker=*/false, /*next_request=*/true)) {
    dispatch_(conn);
  }
}

void ServerLoop::RejectRequest(const std::shared_ptr<Connection>& conn,
                               int status, const std::string& reason) {
  if (reject_) reject_(status, reason, conn->peer());
  SendNow(conn->fd(), ErrorResponse(status, reason));
  // The rest of a rejected request may still be on its way: always linger.
  StartLinger(conn);
}

void ServerLoop::CloseAfterResponse(const std::shared_ptr<Connection>& conn) {
  // Always linger: bytes the client pipelined may still be in flight even
  // when none are buffered or readable yet.
  StartLinger(conn);
}

void ServerLoop::EndReading(const std::shared_ptr<Connection>& conn) {
  // Part of a request was read (more may be on its way), or input waits
  // unread: a close would send a RST, which can destroy what of the previous
  // response the client has not read yet. With nothing received a close
  // sends a FIN, and a linger would only hold the connection longer.
  char byte;
  if (conn->parser().state() != RequestParser::State::kIdle ||
      ::recv(conn->fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
    StartLinger(conn);
  } else {
    Close(conn);
  }
}

void ServerLoop::StartLinger(const std::shared_ptr<Connection>& conn) {
  // Half-close, then discard what the client still sends until it closes
  // too: closing with unread input would send a RST that can destroy the
  // answer before the client reads it.
  ::shutdown(conn->fd(), SHUT_WR);
  // No request of this connection will be served: a body read for one
  // gives its memory back now, not when the linger ends.
  conn->parser().DropRequest();
  conn->linger_left = kLingerBytes;
  if (!conn->Arm(Connection::Phase::kLingering, Clock::now() + kLinger,
                 epoll_fd_, EPOLLIN | EPOLLRDHUP, false)) {
    Close(conn);
  }
}

void ServerLoop::Linger(const std::shared_ptr<Connection>& conn) {
  char buf[kReadChunk];
  for (;;) {
    const ssize_t r = ::recv(conn->fd(), buf, sizeof(buf), 0);
    if (r > 0) {
      if (static_cast<size_t>(r) >= conn->linger_left) break;
      conn->linger_left -= static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (conn->Arm(Connection::Phase::kLingering, conn->deadline(), epoll_fd_,
                    EPOLLIN | EPOLLRDHUP, false)) {
        return;
      }
    }
    break;  // EOF, error, or enough discarded
  }
  Close(conn);
}

void ServerLoop::Close(const std::shared_ptr<Connection>& conn) {
  if (!conn->TryClose()) return;
  // Unregistered before the fd closes: once the peer sees EOF, the
  // connection is no longer counted.
  bool last;
  {
    MutexLock lock(mu_);
    connections_.erase(conn->id());
    if (limits_.max_connections_per_ip > 0) {
      const auto it = per_ip_.find(conn->peer().remote_ip);
      if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    }
    last = connections_.empty() && shutdown_;
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd(), nullptr);
  ::close(conn->fd());
  if (last) Wake();
}

}  // namespace ctx::http::internal
