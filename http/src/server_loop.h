// SPDX-License-Identifier: Apache-2.0
// http/src/server_loop.h: the connection layer of a ctx::http::Server: the
// listening socket, accept, reading and framing requests with limits and
// deadlines, disconnect watching and the drain on shutdown, all on one
// thread (the one that calls Run, i.e. listen_after_bind) with one epoll set.
// Internal. server_accept.cc holds the listening side (bind, accept, refusing
// connections), server_loop.cc the rest, loop_wire.h the answers the loop
// writes itself.
//
// A connection reaches a worker only with a complete request (head and body,
// see request_parser.h), so slow or idle clients never hold a worker. The
// worker answers it (httplib), then either hands the connection back
// (Resume), hands the loop the part of the response the socket did not take
// (WriteTail: slow readers do not hold a worker either), or closes it
// (Close). See connection.h for who owns what when.
//
// Shutdown: the listener closes at once, and so do connections that hold no
// complete request (those that received part of one, or have input unread,
// linger first: EndReading); every request already complete is served (its
// response says Connection: close, and a pending tail is written), then its
// connection lingers (StartLinger, at most kLinger) and closes. When the grace
// period ends, running handlers are canceled (Cause: ServerStopping()) and
// queued ones start canceled (503); after a further
// ServerLimits::drain_timeout every socket is shut down and pending tails
// are dropped, so no client can hold a worker or the drain. Run returns when
// every connection is closed.

#ifndef CTX_HTTP_SRC_SERVER_LOOP_H_
#define CTX_HTTP_SRC_SERVER_LOOP_H_

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "ctx/clock.h"
#include "ctx/http/server.h"
#include "ctx/internal/thread_annotations.h"
#include "mutex.h"

namespace ctx::http::internal {

class ServerLoop {
 public:
  // Dispatch runs a connection holding a complete request on a worker.
  using Dispatch = std::function<void(std::shared_ptr<Connection>)>;
  // Reject is told of every request the loop answers itself (4xx/5xx).
  using Reject = std::function<void(int status, std::string_view reason,
                                    const Peer& peer)>;

  // Forced is run on the loop thread when a shutdown's drain ends, just
  // after every connection's socket was shut down.
  using Forced = std::function<void()>;

  ServerLoop(const ServerLimits& limits, Reject reject, Forced forced);
  // ~ServerLoop closes the listener and the epoll set. Run must have
  // returned (or never run).
  ~ServerLoop();
  ServerLoop(const ServerLoop&) = delete;
  ServerLoop& operator=(const ServerLoop&) = delete;

  // Bind opens the listening socket on `host`:`port` (0: any free port) and
  // returns the port, or -1. Call once, before Run.
  int Bind(const std::string& host, int port);
  // Run serves until a shutdown has drained every connection; false when not
  // bound. Blocks the calling thread, which becomes the loop thread.
  bool Run(const Dispatch& dispatch);
  // Shutdown begins (or tightens) a shutdown: handlers still running `grace`
  // from now are canceled. Any thread, any number of times, also before Run
  // (Run then returns at once).
  void Shutdown(std::chrono::milliseconds grace);

  // Resume hands a connection back after its response (keep-alive): the
  // loop reads its next request, or the worker goes on at once when it is
  // already buffered (returns true: call Dispatch's work again). A
  // connection that must not stay open (the peer left, or the server is
  // stopping) lingers and closes, as after CloseAfterResponse. Worker.
  [[nodiscard]] bool Resume(const std::shared_ptr<Connection>& conn);
  // CloseAfterResponse ends a connection whose last response was written:
  // half-closes it and discards what the client still sends (bounded in
  // bytes and time) before closing, so unread input (a pipelined request)
  // cannot turn the close into a RST that destroys the response. Worker.
  void CloseAfterResponse(const std::shared_ptr<Connection>& conn);
  // WriteTail hands the loop a connection whose response is partly written
  // (Connection::tail): the loop writes the rest as the socket takes it,
  // each wait at most write_timeout and all by `response_deadline`, else it
  // closes the connection. Then it lingers and closes (`close_after`), or
  // reads the next request as Resume does. Worker.
  void WriteTail(const std::shared_ptr<Connection>& conn, bool close_after,
                 TimePoint response_deadline);
  // Close closes the connection (any owner of it).
  void Close(const std::shared_ptr<Connection>& conn);

  // connections is the number of open connections (tests).
  [[nodiscard]] size_t connections() const;
  // ShutdownBegun reports whether Shutdown was called (tests).
  [[nodiscard]] bool ShutdownBegun() const;
  // buffered_body_bytes is what the requests' bodies hold of the body budget
  // (tests).
  [[nodiscard]] size_t buffered_body_bytes() const noexcept {
    return parser_limits_.body_budget->held();
  }
  // CountConnections is the number of open connections for which `pred`
  // holds (tests).
  [[nodiscard]] size_t CountConnections(
      const std::function<bool(Connection&)>& pred) const;

 private:
  // kWakeId and kListenerId tag the eventfd and the listener in the epoll
  // set (connections count from 2). kTick is how often deadlines are
  // checked while connections are open: a deadline fires at most this late.
  static constexpr uint64_t kWakeId = 0;
  static constexpr uint64_t kListenerId = 1;
  static constexpr std::chrono::milliseconds kTick{50};
  // kReadEvents arms a connection whose next request the loop reads.
  static constexpr uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;
  // kReadChunk is what one recv asks for, reading or discarding input.
  static constexpr size_t kReadChunk = 16 * 1024;

  // Listening side (server_accept.cc).
  static int OpenReserve();
  // Snapshot is every open connection, taken under mu_, to act on outside it.
  [[nodiscard]] std::vector<std::shared_ptr<Connection>> Snapshot() const;
  void Accept(TimePoint now);
  void OnEvents(const std::shared_ptr<Connection>& conn, uint32_t events);
  void ReadRequest(const std::shared_ptr<Connection>& conn);
  // AfterInput acts on the parser's state: hands a complete request to a
  // worker, answers an error, or waits for more input. Owner of the phase.
  // Returns true when a complete request is ready (the caller dispatches).
  // `next_request`: the previous response is done, so the next request's
  // deadline starts now, and a connection that must not stay open lingers
  // and closes.
  bool AfterInput(const std::shared_ptr<Connection>& conn, bool from_worker,
                  bool next_request);
  // SendContinue sends the interim "100 Continue"; false when the socket did
  // not take it at once and the connection is now writing it (or closed).
  // Owner of the phase.
  bool SendContinue(const std::shared_ptr<Connection>& conn);
  // Ending side (server_end.cc).
  // WriteMore writes what the socket takes of the tail (kWriting) and moves
  // on once it is empty.
  void WriteMore(const std::shared_ptr<Connection>& conn);
  // ArmTail hands the tail to the loop (kWriting) with what it does after
  // it; false when the connection could not be armed (closed, or stopping
  // with `only_if_open`).
  [[nodiscard]] bool ArmTail(const std::shared_ptr<Connection>& conn,
                             bool close_after, TimePoint response_deadline,
                             bool only_if_open);
  // WriteDeadline is when the next wait for room in the socket ends.
  TimePoint WriteDeadline(const Connection& conn, TimePoint now) const;
  void RejectRequest(const std::shared_ptr<Connection>& conn, int status,
                     const std::string& reason);
  // EndReading ends a connection in kReading that will read no further
  // request (the server is stopping, or it was idle too long): it lingers
  // when the parser holds part of a request or input waits unread, so the
  // close sends no RST over the previous response, and closes at once
  // otherwise. Loop.
  void EndReading(const std::shared_ptr<Connection>& conn);
  // StartLinger half-closes and discards input until EOF, kLingerBytes or
  // kLinger, then closes.
  void StartLinger(const std::shared_ptr<Connection>& conn);
  void Linger(const std::shared_ptr<Connection>& conn);

  void Scan(TimePoint now);
  void Drain(TimePoint now);
  // RefuseWithReserve answers one pending connection 503 when accept ran out
  // of descriptors: it frees the reserve descriptor, accepts into it,
  // answers, closes and takes the reserve again. False when it could not
  // (the caller pauses accepting instead).
  bool RefuseWithReserve();
  TimePoint ReadingDeadline(RequestParser::State state, TimePoint now) const;
  void Wake();

  const ServerLimits limits_;
  const ParserLimits parser_limits_;
  const Reject reject_;
  const Forced forced_drain_;
  const int epoll_fd_;
  const int wake_fd_;   // eventfd: Shutdown and the last Close wake the loop
  int listen_fd_ = -1;  // the loop's; closed when the shutdown starts
  int reserve_fd_;      // /dev/null, held for RefuseWithReserve
  Dispatch dispatch_;   // set by Run, read by the loop thread

  // Loop-thread state.
  bool draining_ = false;
  bool canceled_ = false;  // handlers canceled (grace over)
  bool forced_ = false;    // sockets shut down (drain timeout over)
  TimePoint accept_paused_until_{};

  mutable Mutex mu_;
  uint64_t next_id_ CTX_GUARDED_BY(mu_) = 2;  // 0: wake, 1: listener
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_
      CTX_GUARDED_BY(mu_);
  // per_ip_: open connections by remote address, kept only when
  // max_connections_per_ip is set.
  std::unordered_map<std::string, size_t> per_ip_ CTX_GUARDED_BY(mu_);
  bool shutdown_ CTX_GUARDED_BY(mu_) = false;
  bool bound_ CTX_GUARDED_BY(mu_) = false;    // Bind succeeded
  bool running_ CTX_GUARDED_BY(mu_) = false;  // Run started
  TimePoint grace_deadline_ CTX_GUARDED_BY(mu_) = TimePoint::max();
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_SERVER_LOOP_H_
