// SPDX-License-Identifier: Apache-2.0
// The server loop: reading and framing requests, deadlines, handing
// connections to workers and back, and the shutdown drain. Accepting is in
// server_accept.cc; writing response tails, lingering and closing in
// server_end.cc. See server_loop.h.
//
// Lock order: ServerLoop::mu_ before Connection::mu_ is never needed; the
// loop copies what it needs out of mu_ and then locks one connection at a
// time.

#include "server_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loop_wire.h"

namespace ctx::http::internal {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kGoneEvents = EPOLLRDHUP;  // EPOLLERR, EPOLLHUP: always

ParserLimits ToParserLimits(const ServerLimits& l) {
  ParserLimits p;
  // httplib parses the head again with its own line limits (8192 bytes,
  // CRLF included), so every line it sees must fit them.
  constexpr size_t kHttplibMaxLine = 8192 - 2;
  p.max_request_line = std::min(l.max_request_line, kHttplibMaxLine);
  p.max_header_line = kHttplibMaxLine;
  p.max_header_bytes = l.max_header_bytes;
  p.max_header_count = l.max_header_count;
  // Small bodies keep a reserve that every connection's small body fits in,
  // up to half the budget (see ServerLimits::max_buffered_body_bytes).
  constexpr size_t kSmallBody = 64 * 1024;
  const size_t budget = l.max_buffered_body_bytes;
  const size_t half = budget / 2;
  const size_t reserve = l.max_connections > half / kSmallBody
                             ? half
                             : l.max_connections * kSmallBody;
  p.body_budget = std::make_shared<BodyBudget>(budget, kSmallBody, reserve);
  // A body that can never fit the budget: 413.
  p.max_body_bytes = std::min(l.max_body_bytes, p.body_budget->LargestBody());
  return p;
}

}  // namespace

ServerLoop::ServerLoop(const ServerLimits& limits, Reject reject, Forced forced)
    : limits_(limits),
      parser_limits_(ToParserLimits(limits)),
      reject_(std::move(reject)),
      forced_drain_(std::move(forced)),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      reserve_fd_(OpenReserve()) {
  if (epoll_fd_ >= 0 && wake_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
}

ServerLoop::~ServerLoop() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void ServerLoop::Shutdown(milliseconds grace) {
  const TimePoint deadline = Clock::now() + std::max(grace, milliseconds(0));
  {
    MutexLock lock(mu_);
    shutdown_ = true;
    grace_deadline_ = std::min(grace_deadline_, deadline);
    // Before Run the listener is nobody's: close it now, so no client
    // connects to a server that will not serve.
    if (!running_ && listen_fd_ >= 0) {
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
  }
  Wake();
}

void ServerLoop::Wake() {
  const uint64_t one = 1;
  // A failed write only means the counter is already non-zero.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

size_t ServerLoop::connections() const {
  MutexLock lock(mu_);
  return connections_.size();
}

bool ServerLoop::ShutdownBegun() const {
  MutexLock lock(mu_);
  return shutdown_;
}

std::vector<std::shared_ptr<Connection>> ServerLoop::Snapshot() const {
  std::vector<std::shared_ptr<Connection>> all;
  MutexLock lock(mu_);
  all.reserve(connections_.size());
  for (const auto& [id, conn] : connections_) all.push_back(conn);
  return all;
}

size_t ServerLoop::CountConnections(
    const std::function<bool(Connection&)>& pred) const {
  size_t n = 0;
  for (const auto& conn : Snapshot()) {
    if (pred(*conn)) ++n;
  }
  return n;
}

bool ServerLoop::Run(const Dispatch& dispatch) {
  {
    MutexLock lock(mu_);
    if (listen_fd_ < 0) return shutdown_ && bound_;
    running_ = true;
  }
  dispatch_ = dispatch;
  std::array<epoll_event, 128> events;
  TimePoint next_scan = Clock::now() + kTick;
  for (;;) {
    bool idle;
    bool stop;
    {
      MutexLock lock(mu_);
      idle = connections_.empty();
      stop = shutdown_;
    }
    if (stop && !draining_) Drain(Clock::now());
    if (draining_ && idle) break;
    const int timeout =
        idle && !draining_ && accept_paused_until_ == TimePoint()
            ? -1
            : static_cast<int>(kTick.count());
    const int n = ::epoll_wait(epoll_fd_, events.data(),
                               static_cast<int>(events.size()), timeout);
    if (n < 0 && errno != EINTR) break;
    const TimePoint now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kWakeId) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof(count));
      } else if (id == kListenerId) {
        Accept(now);
      } else {
        std::shared_ptr<Connection> conn;
        {
          MutexLock lock(mu_);
          auto it = connections_.find(id);
          if (it != connections_.end()) conn = it->second;
        }
        if (conn) OnEvents(conn, events[i].events);
      }
    }
    if (now >= next_scan) {
      Scan(now);
      next_scan = now + kTick;
    }
    if (draining_) Drain(now);
  }
  dispatch_ = nullptr;
  return true;
}

TimePoint ServerLoop::ReadingDeadline(RequestParser::State state,
                                      TimePoint now) const {
  switch (state) {
    case RequestParser::State::kIdle:
      return now + limits_.idle_timeout;
    case RequestParser::State::kBody:
      return now + limits_.body_timeout;
    default:
      return now + limits_.head_timeout;
  }
}

void ServerLoop::OnEvents(const std::shared_ptr<Connection>& conn,
                          uint32_t events) {
  switch (conn->phase()) {
    case Connection::Phase::kReading:
      ReadRequest(conn);
      return;
    case Connection::Phase::kWorker:
      // Armed for kGoneEvents only: any event is a FIN, a RST or an error.
      if (events != 0) conn->PeerGone();
      return;
    case Connection::Phase::kWriting:
      WriteMore(conn);
      return;
    case Connection::Phase::kLingering:
      Linger(conn);
      return;
    case Connection::Phase::kClosed:
      return;
  }
}

void ServerLoop::ReadRequest(const std::shared_ptr<Connection>& conn) {
  RequestParser& parser = conn->parser();
  char buf[kReadChunk];
  bool eof = false;
  for (int reads = 0; reads < 8; ++reads) {
    const ssize_t r = ::recv(conn->fd(), buf, sizeof(buf), 0);
    if (r > 0) {
      const auto state = parser.Feed(std::string_view(buf, r));
      if (state == RequestParser::State::kComplete ||
          state == RequestParser::State::kError ||
          static_cast<size_t>(r) < sizeof(buf)) {
        break;
      }
    } else if (r == 0) {
      eof = true;
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      eof = true;  // a reset or a dead socket
      break;
    }
  }
  if (eof) {
    if (parser.state() != RequestParser::State::kComplete) {
      // Gone before its request was complete: nothing to answer.
      Close(conn);
      return;
    }
    conn->MarkGone();  // the request came with the FIN: Go cancels it too
  }
  if (AfterInput(conn, /*from_worker=*/false, /*next_request=*/false)) {
    dispatch_(conn);
  }
}

bool ServerLoop::AfterInput(const std::shared_ptr<Connection>& conn,
                            bool from_worker, bool next_request) {
  if (next_request && !conn->KeepOpen()) {
    // The peer is gone or the server is stopping: the response just written
    // was the last. The client may have sent more (a pipelined request) that
    // is still unread, so linger rather than close (see StartLinger).
    StartLinger(conn);
    return false;
  }
  RequestParser& parser = conn->parser();
  const TimePoint now = Clock::now();
  switch (parser.state()) {
    case RequestParser::State::kComplete:
      if (from_worker) return true;
      if (!conn->Arm(Connection::Phase::kWorker, TimePoint::max(), epoll_fd_,
                     kGoneEvents, false)) {
        Close(conn);
        return false;
      }
      return true;
    case RequestParser::State::kError:
      RejectRequest(conn, parser.error_status(), parser.error_reason());
      return false;
    default:
      break;
  }
  if (parser.WantsContinue() && !SendContinue(conn)) return false;
  // A deadline runs from the moment its part of the request began.
  TimePoint deadline = conn->deadline();
  if (next_request || parser.state() != conn->loop_state) {
    conn->loop_state = parser.state();
    deadline = ReadingDeadline(parser.state(), now);
  }
  if (!conn->Arm(Connection::Phase::kReading, deadline, epoll_fd_, kReadEvents,
                 /*only_if_open=*/next_request)) {
    // After a response, refused because the peer left or the server began to
    // stop since the check above: that response was the last too.
    if (next_request) {
      StartLinger(conn);
    } else {
      Close(conn);
    }
  }
  return false;
}

bool ServerLoop::SendContinue(const std::shared_ptr<Connection>& conn) {
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  const ssize_t n = SendSome(conn->fd(), kContinue.data(), kContinue.size());
  if (n == static_cast<ssize_t>(kContinue.size())) return true;
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    Close(conn);  // the client is gone
    return false;
  }
  // The socket is full (a previous response not yet read): the rest goes
  // out as a tail, since a dropped interim response stalls the client and a
  // cut one garbles its stream. Reading resumes once it is written.
  conn->tail.push_back({std::string(kContinue.substr(
                            static_cast<size_t>(std::max<ssize_t>(n, 0)))),
                        0});
  conn->continue_tail = true;
  // A shutdown closes a connection without a complete request rather than
  // wait for its client to read: refused once stopping, and Drain lingers
  // and closes one already writing (continue_tail).
  if (!ArmTail(conn, /*close_after=*/false, TimePoint::max(),
               /*only_if_open=*/true)) {
    StartLinger(conn);
  }
  return false;
}

bool ServerLoop::Resume(const std::shared_ptr<Connection>& conn) {
  return AfterInput(conn, /*from_worker=*/true, /*next_request=*/true);
}

void ServerLoop::Scan(TimePoint now) {
  if (accept_paused_until_ != TimePoint() && now >= accept_paused_until_ &&
      listen_fd_ >= 0) {
    accept_paused_until_ = TimePoint();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
  }
  for (const auto& conn : Snapshot()) {
    const Connection::Phase phase = conn->phase();
    if (phase != Connection::Phase::kReading &&
        phase != Connection::Phase::kWriting &&
        phase != Connection::Phase::kLingering) {
      continue;
    }
    if (now < conn->deadline()) continue;
    // Past the deadline. In kReading the loop owns the parser; a worker
    // cannot take the connection back meanwhile (only the loop dispatches).
    // A request begun but not received in time (a slow client) is answered
    // and lingers, bounded by kLinger as any linger.
    if (phase == Connection::Phase::kReading &&
        conn->parser().state() != RequestParser::State::kIdle) {
      RejectRequest(conn, 408, "request not received in time");
    } else if (phase == Connection::Phase::kReading) {
      // Idle keep-alive: a request that arrived since the loop last read
      // is not served, and must not reset the previous response.
      EndReading(conn);
    } else {
      // A response not taken in time (the client does not read it, so a
      // reset loses nothing it would read), or lingering long enough.
      Close(conn);
    }
  }
}

void ServerLoop::Drain(TimePoint now) {
  TimePoint grace_deadline;
  {
    MutexLock lock(mu_);
    grace_deadline = grace_deadline_;
  }
  const std::vector<std::shared_ptr<Connection>> all = Snapshot();
  if (!draining_) {
    draining_ = true;
    if (listen_fd_ >= 0) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
    // Connections without a complete request end now (EndReading: close,
    // or linger when input is or may be on its way); the others finish
    // their request and then linger. One writing a 100 Continue lingers
    // first: the client may not have read the response before it, which a
    // close with its unread body bytes would reset.
    for (const auto& conn : all) {
      const Connection::Phase phase = conn->Stop(false);
      if (phase == Connection::Phase::kReading) {
        EndReading(conn);  // in kReading the loop owns the connection
      } else if (phase == Connection::Phase::kWriting && conn->continue_tail) {
        StartLinger(conn);  // only the loop moves out of kWriting: it is ours
      }
    }
  }
  if (!canceled_ && now >= grace_deadline) {
    canceled_ = true;
    for (const auto& conn : all) conn->Stop(true);
  }
  if (!forced_ && now >= grace_deadline + limits_.drain_timeout) {
    forced_ = true;
    for (const auto& conn : all) {
      conn->ShutdownSocket();
      // Only the loop moves a connection out of kWriting: it is ours.
      if (conn->phase() == Connection::Phase::kWriting) Close(conn);
    }
    if (forced_drain_) forced_drain_();
  }
}

}  // namespace ctx::http::internal
