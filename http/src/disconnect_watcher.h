// http/src/disconnect_watcher.h: one thread and one epoll set that watch every
// open connection of a server for a peer that goes away. Internal.
//
// Each connection is registered once, when the worker starts serving it, with
// EPOLLRDHUP | EPOLLONESHOT (EPOLLERR and EPOLLHUP are always reported); the
// watcher hands each event to Connection::OnEvents, which applies the
// disconnect rule (connection.h) and re-arms. Registering per connection, not
// per request, keeps epoll_ctl off the per-request path: a keep-alive request
// costs the watcher nothing unless its peer sends a FIN or RST.
//
// Registrations are found by id (epoll's data), never by pointer or fd, so an
// event that races with Remove finds nothing, or a connection already in
// kClosed that ignores it.

#ifndef CTX_HTTP_SRC_DISCONNECT_WATCHER_H_
#define CTX_HTTP_SRC_DISCONNECT_WATCHER_H_

#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ctx/internal/thread_annotations.h"
#include "mutex.h"

namespace ctx::http::internal {

class Connection;

class DisconnectWatcher {
 public:
  DisconnectWatcher();
  // ~DisconnectWatcher stops and joins the thread. Every connection must have
  // been removed (the server's workers have finished).
  ~DisconnectWatcher();
  DisconnectWatcher(const DisconnectWatcher&) = delete;
  DisconnectWatcher& operator=(const DisconnectWatcher&) = delete;

  // Add registers `conn` (starting the thread on first use) and returns its
  // id, or 0 when epoll refused it (the connection is then served without
  // disconnect detection). Any thread.
  uint64_t Add(const std::shared_ptr<Connection>& conn);
  // Remove unregisters `id`, whose fd must still be open. After it returns no
  // new event reaches the connection (one already dispatched may still run;
  // Connection ignores it once closed). Any thread.
  void Remove(uint64_t id, int fd);
  // Rearm re-enables the one-shot registration of `fd` with `events`. Only
  // Connection calls it, under its mutex and before kClosed, so `fd` is open.
  void Rearm(int fd, uint64_t id, uint32_t events);
  // StopAll calls Connection::Stop on every registered connection.
  void StopAll();
  // size returns the number of registered connections (for tests).
  [[nodiscard]] size_t size() const;

 private:
  void Run();

  const int epoll_fd_;  // -1 when epoll_create1 failed: detection is off
  const int wake_fd_;   // eventfd; readable asks the thread to exit

  mutable Mutex mu_;
  std::thread thread_ CTX_GUARDED_BY(mu_);  // started by the first Add
  uint64_t next_id_ CTX_GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> connections_
      CTX_GUARDED_BY(mu_);
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_DISCONNECT_WATCHER_H_
