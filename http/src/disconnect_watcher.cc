// The disconnect watcher thread. See disconnect_watcher.h.

#include "disconnect_watcher.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "connection.h"

namespace ctx::http::internal {
namespace {

// kWakeId is the epoll data of the wake eventfd; connection ids start at 1.
constexpr uint64_t kWakeId = 0;

}  // namespace

DisconnectWatcher::DisconnectWatcher()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (epoll_fd_ >= 0 && wake_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeId;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  }
}

DisconnectWatcher::~DisconnectWatcher() {
  std::thread thread;
  {
    MutexLock lock(mu_);
    thread = std::move(thread_);
  }
  if (thread.joinable()) {
    const uint64_t one = 1;
    // A failed write would only mean the counter is already non-zero.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    thread.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

uint64_t DisconnectWatcher::Add(const std::shared_ptr<Connection>& conn) {
  if (epoll_fd_ < 0 || wake_fd_ < 0) return 0;
  uint64_t id;
  {
    MutexLock lock(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    id = next_id_++;
    connections_.emplace(id, conn);
  }
  // Attach before the fd is in the set: the first event may come at once.
  conn->Attach(this, id);
  epoll_event ev{};
  ev.events = EPOLLRDHUP | EPOLLONESHOT;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn->fd(), &ev) != 0) {
    conn->Attach(nullptr, 0);
    MutexLock lock(mu_);
    connections_.erase(id);
    return 0;
  }
  return id;
}

void DisconnectWatcher::Remove(uint64_t id, int fd) {
  if (id == 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  std::shared_ptr<Connection> conn;  // released outside the lock
  MutexLock lock(mu_);
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  conn = std::move(it->second);
  connections_.erase(it);
}

void DisconnectWatcher::Rearm(int fd, uint64_t id, uint32_t events) {
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void DisconnectWatcher::StopAll() {
  std::vector<std::shared_ptr<Connection>> all;
  {
    MutexLock lock(mu_);
    all.reserve(connections_.size());
    for (const auto& [id, conn] : connections_) all.push_back(conn);
  }
  // Outside mu_: Stop cancels contexts, which runs their callbacks.
  for (const auto& conn : all) conn->Stop();
}

size_t DisconnectWatcher::size() const {
  MutexLock lock(mu_);
  return connections_.size();
}

void DisconnectWatcher::Run() {
  std::array<epoll_event, 64> events;
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_, events.data(),
                               static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // the set is gone; nothing left to watch
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kWakeId) return;
      std::shared_ptr<Connection> conn;
      {
        MutexLock lock(mu_);
        auto it = connections_.find(id);
        if (it != connections_.end()) conn = it->second;
      }
      // Outside mu_: OnEvents may cancel a context.
      if (conn) conn->OnEvents(events[i].events);
    }
  }
}

}  // namespace ctx::http::internal
