// http/src/connection.h: what the server knows about one client connection,
// shared between the worker thread serving it, the disconnect watcher and
// Server::stop(). Internal.
//
// The disconnect rule. TCP tells a server three things about a peer while a
// handler runs:
//   RST (EPOLLERR / EPOLLHUP)  the peer is gone: cancel the request.
//   FIN (EPOLLRDHUP)           the peer will send nothing more. That is what
//                              both close() and shutdown(SHUT_WR) send, so a
//                              FIN alone cannot tell a client that left from
//                              one that half-closed and waits for its answer.
//   unread input (EPOLLIN)     a pipelined request: not watched at all.
// On FIN during a handler, we therefore ask the peer's kernel: we send an
// interim "HTTP/1.1 100 Continue" (RFC 9110 15.2: any HTTP/1.1 client must
// accept and skip unsolicited 1xx responses). A client that only half-closed
// reads it and later gets the final response; a socket that was closed
// answers the bytes with RST, which cancels the request (a loopback round
// trip: well under a millisecond). The probe is sent at most once per
// connection, never to HTTP/1.0 clients (1xx is forbidden for them), and only
// while a handler runs, so no response bytes can interleave with it: the
// worker writes the response only after EndHandler. For HTTP/1.0, FIN alone
// never cancels; RST still does.
//
// Phases (written by the worker under mu_):
//   kWaiting   between requests, in the keep-alive wait
//   kReading   httplib reads and routes a request, or writes its response
//   kHandling  a wrapped handler runs: its context can be canceled here
//   kClosed    the worker is done; the fd is about to be closed. Nobody may
//              touch the fd any more (the watcher re-arms it only in other
//              phases, under mu_).
//
// Lock order: Connection::mu_ may be held while calling into the watcher's
// epoll (a syscall, no watcher lock). Contexts are canceled only after mu_ is
// released, since cancel runs callbacks.

#ifndef CTX_HTTP_SRC_CONNECTION_H_
#define CTX_HTTP_SRC_CONNECTION_H_

#include <cstdint>
#include <string>

#include "ctx/context.h"
#include "ctx/internal/thread_annotations.h"
#include "mutex.h"

namespace ctx::http::internal {

class DisconnectWatcher;
class SocketStream;

class Connection {
 public:
  // Connection describes `fd`, served through `stream` (which must outlive
  // the last worker-side call).
  Connection(int fd, SocketStream& stream);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] int fd() const noexcept { return fd_; }

  // Worker side. BeginWait enters the keep-alive wait and EndWait leaves it;
  // both return false once Stop() was called (the worker should close).
  bool BeginWait();
  bool EndWait();
  // BeginHandler starts the window in which `cancel` is called on disconnect
  // or Stop(); it may call `cancel` before returning (peer already gone,
  // server stopping) and may send the probe (see the file comment) when
  // `may_probe` (an HTTP/1.1 request). EndHandler closes the window.
  void BeginHandler(const CancelCauseFunc& cancel, bool may_probe);
  void EndHandler();
  // Close enters kClosed; call it before unregistering and closing the fd.
  void Close();

  // Watcher side: handles epoll `events` for this connection (the watcher's
  // thread). Registration is one-shot; this re-arms as needed.
  void OnEvents(uint32_t events);
  // Attach records the watcher registration (before any event can come), or
  // clears it (nullptr, 0) when registering failed.
  void Attach(DisconnectWatcher* watcher, uint64_t id);

  // Stop cancels a running handler's context with ServerStopping() and wakes
  // a keep-alive wait. Any thread.
  void Stop();

 private:
  enum class Phase { kWaiting, kReading, kHandling, kClosed };

  // ProbeLocked sends the 100 Continue probe (or what the socket takes of
  // it). Returns false when the send showed the peer is gone.
  bool ProbeLocked() CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RearmLocked() CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int fd_;
  SocketStream& stream_;  // the worker's; touched only on the worker thread

  Mutex mu_;
  // The registration, set by Attach (before the fd enters the epoll set).
  DisconnectWatcher* watcher_ CTX_GUARDED_BY(mu_) = nullptr;
  uint64_t id_ CTX_GUARDED_BY(mu_) = 0;
  Phase phase_ CTX_GUARDED_BY(mu_) = Phase::kReading;
  CancelCauseFunc cancel_ CTX_GUARDED_BY(mu_);      // set in kHandling only
  bool may_probe_ CTX_GUARDED_BY(mu_) = false;      // the running request's
  bool stopping_ CTX_GUARDED_BY(mu_) = false;       // set once by Stop
  bool gone_ CTX_GUARDED_BY(mu_) = false;           // RST or error seen
  bool fin_seen_ CTX_GUARDED_BY(mu_) = false;       // FIN seen
  bool probed_ CTX_GUARDED_BY(mu_) = false;         // probe (partly) sent
  bool want_writable_ CTX_GUARDED_BY(mu_) = false;  // probe waits for room
  // The part of the probe the socket did not take; moved into the stream's
  // write prefix by EndHandler.
  std::string probe_tail_ CTX_GUARDED_BY(mu_);
};

// CurrentConnection returns the connection the calling worker thread is
// serving, or nullptr outside ctx::http::Server's connection loop (a wrapped
// handler registered on a plain httplib::Server).
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
