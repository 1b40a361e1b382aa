// SPDX-License-Identifier: Apache-2.0
// http/src/connection.h: one client connection of a ctx::http::Server, shared
// by the server loop (server_loop.h) and the worker serving its requests.
// Internal.
//
// Ownership moves with the phase, always under mu_:
//   kReading    the loop reads and frames the next request (the parser is the
//               loop's); the fd is armed for input.
//   kWorker     a complete request is queued or being served (the parser is
//               the worker's); the fd is armed only for the peer going away.
//   kWriting    the worker wrote what the socket took of a response (or the
//               owner of kReading of an interim 100 Continue) and left the
//               rest (tail) to the loop, which writes it as the socket
//               becomes writable, then reads the request or lingers.
//   kLingering  the connection's last response (or the answer to a rejected
//               request) is written and the fd half-closed; the loop discards
//               input until EOF or a deadline, so the response is not lost
//               to a RST.
//   kClosed     closed; nobody touches the fd again.
// Only the owner of the phase changes it (Close from any owner), so the fd is
// closed by exactly one thread, after kClosed is set under mu_; anyone else
// touches the fd only under mu_ and before kClosed.
//
// The disconnect rule (as Go's net/http): while the connection is in
// kWorker, a FIN or a RST from the peer cancels the running handler's context
// (Cause: ClientDisconnected()), for HTTP/1.0 and HTTP/1.1 alike. A client
// that half-closes after sending its request is taken for gone; it still
// gets what the handler set, and nothing when the handler set nothing (never
// a 499 status line: that code is for the log).
//
// Lock order: Connection::mu_ is a leaf, except that the loop's epoll_ctl and
// shutdown(2) are called under it. Contexts are canceled only after mu_ is
// released, since cancel runs callbacks.

#ifndef CTX_HTTP_SRC_CONNECTION_H_
#define CTX_HTTP_SRC_CONNECTION_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "ctx/internal/thread_annotations.h"
#include "mutex.h"
#include "request_parser.h"

namespace ctx::http::internal {

// Peer is the two ends of a connection, as httplib reports them.
struct Peer {
  std::string remote_ip;
  int remote_port = -1;
  std::string local_ip;
  int local_port = -1;
};

class Connection {
 public:
  enum class Phase { kReading, kWorker, kWriting, kLingering, kClosed };

  Connection(int fd, uint64_t id, Peer peer, const ParserLimits& limits);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] uint64_t id() const noexcept { return id_; }
  [[nodiscard]] const Peer& peer() const noexcept { return peer_; }
  // parser is for the owner of the phase only (see the file comment).
  [[nodiscard]] RequestParser& parser() noexcept { return parser_; }

  // BeginHandler starts the window in which `cancel` is called on a
  // disconnect or a stop past its grace; it calls `cancel` before returning
  // when either happened already. EndHandler closes the window. Worker.
  void BeginHandler(const CancelCauseFunc& cancel);
  void EndHandler();
  // KeepOpen reports whether the connection may serve another request: the
  // peer is still there and the server is not stopping.
  [[nodiscard]] bool KeepOpen();
  // Stopping reports whether the server began to shut down.
  [[nodiscard]] bool Stopping();

  // PeerGone records a FIN or RST seen in kWorker and cancels the running
  // handler. Loop.
  void PeerGone();
  // Stop marks the server stopping; with `cancel_handlers` also cancels the
  // running handler and every later one (Cause: ServerStopping()). Returns
  // the phase. Any thread.
  Phase Stop(bool cancel_handlers);
  // ShutdownSocket shuts the socket down both ways unless it is closed, so a
  // worker blocked writing to it fails at once. Any thread.
  void ShutdownSocket();

  // Phase and deadline, under mu_. Arm moves to `phase` with `deadline` and
  // re-arms the one-shot registration of the fd in `epoll_fd` for `events`,
  // under mu_, so the fd cannot be closed in between; it refuses (false) once
  // closed, with `only_if_open` also when KeepOpen() is false, and when
  // epoll_ctl fails. A refused Arm changes nothing: the caller still owns the
  // phase (and may linger or close). TryClose
  // enters kClosed and returns true when the caller must now close the fd
  // (false: already closed).
  [[nodiscard]] Phase phase();
  [[nodiscard]] bool Arm(Phase phase, TimePoint deadline, int epoll_fd,
                         uint32_t events, bool only_if_open);
  [[nodiscard]] TimePoint deadline();
  void SetDeadline(TimePoint deadline);
  [[nodiscard]] bool TryClose();
  // MarkGone records a FIN that the loop read itself (with the request).
  void MarkGone();

  // loop_state is the parser state the deadline was set for; the loop's.
  RequestParser::State loop_state = RequestParser::State::kIdle;
  // linger_left bounds the bytes discarded in kLingering; the loop's.
  size_t linger_left = 0;
  // served counts the requests answered; the worker's.
  size_t served = 0;
  // drop_response: the client is gone and the handler set no response, so
  // none is written and the connection closes; the worker's, per request.
  bool drop_response = false;
  // last_response: the response being served is the connection's last:
  // httplib was told so (it says Connection: close itself), or the response
  // turned out to need the close (FrameResponse); the worker's, per request.
  bool last_response = false;
  // provider_body_left: the body bytes a sized content provider's response
  // may still write (its stated length), kNoBodyLimit for other responses;
  // set by the post-routing step, counted down by RequestStream; the
  // worker's, per request.
  static constexpr uint64_t kNoBodyLimit = UINT64_MAX;
  uint64_t provider_body_left = kNoBodyLimit;
  // ranges: the request's byte ranges, taken off httplib's request before
  // routing (response_range.h applies them); the worker's, per request.
  std::vector<std::pair<ssize_t, ssize_t>> ranges;

  // TailPart is response bytes the socket did not take at once, written
  // from `pos` on.
  struct TailPart {
    std::string bytes;
    size_t pos = 0;
  };
  // Tail is a queue of TailParts that allocates nothing until the first part
  // (most connections never have one) and pops in constant time.
  class Tail {
   public:
    [[nodiscard]] bool empty() const noexcept {
      return front_ == parts_.size();
    }
    TailPart& front() noexcept { return parts_[front_]; }
    void push_back(TailPart part) { parts_.push_back(std::move(part)); }
    // pop_front drops the front part; the storage is kept for the next tail.
    void pop_front() noexcept {
      parts_[front_].bytes = std::string();
      if (++front_ == parts_.size()) {
        parts_.clear();
        front_ = 0;
      }
    }

   private:
    std::vector<TailPart> parts_;
    size_t front_ = 0;  // parts_ before it are written
  };
  // The response tail: filled by the worker's RequestStream in kWorker,
  // written and emptied by the loop in kWriting (the owner's, as the
  // parser). tail_copied counts the bytes copied into it (not moved).
  Tail tail;
  size_t tail_copied = 0;
  // response_body is the body of the response being written, when the
  // handler set one (no content provider): the tail takes it over by move.
  // Set and cleared by the worker around each response.
  std::string* response_body = nullptr;
  // After the tail: close_after_tail lingers and closes instead of reading
  // the next request; tail_deadline ends the response (response_timeout).
  // continue_tail: the tail is an interim 100 Continue, so the connection
  // holds no complete request (a shutdown does not wait for it); set by the
  // owner of kReading before kWriting, cleared by the loop.
  bool close_after_tail = false;
  bool continue_tail = false;
  TimePoint tail_deadline{};

 private:
  const int fd_;
  const uint64_t id_;
  const Peer peer_;
  RequestParser parser_;

  Mutex mu_;
  Phase phase_ CTX_GUARDED_BY(mu_) = Phase::kReading;
  TimePoint deadline_ CTX_GUARDED_BY(mu_);
  CancelCauseFunc cancel_ CTX_GUARDED_BY(mu_);   // set while a handler runs
  bool gone_ CTX_GUARDED_BY(mu_) = false;        // FIN or RST seen
  bool stopping_ CTX_GUARDED_BY(mu_) = false;    // the server is stopping
  bool cancel_all_ CTX_GUARDED_BY(mu_) = false;  // stop's grace is over
};

// CurrentConnection returns the connection the calling worker thread is
// serving, or nullptr outside ctx::http::Server's workers (a wrapped handler
// registered on a plain httplib::Server).
Connection* CurrentConnection() noexcept;

// CurrentConnectionScope makes `conn` the calling thread's current connection
// for its lifetime.
class CurrentConnectionScope {
 public:
  explicit CurrentConnectionScope(Connection* conn) noexcept;
  ~CurrentConnectionScope();
  CurrentConnectionScope(const CurrentConnectionScope&) = delete;
  CurrentConnectionScope& operator=(const CurrentConnectionScope&) = delete;

 private:
  Connection* previous_;
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_CONNECTION_H_
