// SPDX-License-Identifier: Apache-2.0
// Helpers for the HTTP bridge tests. See test_util.h.

#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "server_loop.h"

namespace ctx::http {

size_t ServerTestPeer::WatchedConnections(const Server& s) {
  return s.loop_->connections();
}

size_t ServerTestPeer::WritingConnections(const Server& s) {
  return s.loop_->CountConnections([](internal::Connection& c) {
    return c.phase() == internal::Connection::Phase::kWriting;
  });
}

size_t ServerTestPeer::LingeringConnections(const Server& s) {
  return s.loop_->CountConnections([](internal::Connection& c) {
    return c.phase() == internal::Connection::Phase::kLingering;
  });
}

size_t ServerTestPeer::StoppingConnections(const Server& s) {
  return s.loop_->CountConnections(
      [](internal::Connection& c) { return c.Stopping(); });
}

size_t ServerTestPeer::ReadingConnections(const Server& s) {
  return s.loop_->CountConnections([](internal::Connection& c) {
    return c.phase() == internal::Connection::Phase::kReading;
  });
}

bool ServerTestPeer::ShutdownBegun(const Server& s) {
  return s.loop_->ShutdownBegun();
}

size_t ServerTestPeer::BufferedBodyBytes(const Server& s) {
  return s.loop_->buffered_body_bytes();
}

namespace testing {

void WaitUntilDoneOr(const Context& c, const Event& release) {
  auto [either, stop_waiting] = WithCancel(c);
  StopFunc unhook = AfterFunc(release.context(), stop_waiting);
  either.Done().WaitFor(kCap);
  unhook.Stop();
}

void Counter::Add(int n) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    value_ += n;
  }
  cv_.notify_all();
}

int Counter::WaitAtLeast(int n) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, kCap, [&] { return value_ >= n; });
  return value_;
}

int Counter::value() {
  std::lock_guard<std::mutex> lock(mu_);
  return value_;
}

RequestLogger LogCapture::Logger() {
  return [this](const RequestLogRecord& r) {
    std::lock_guard<std::mutex> lock(mu_);
    records_.push_back(Owned{r, std::string(r.request_id),
                             std::string(r.trace_id), std::string(r.span_id),
                             std::string(r.method), std::string(r.path),
                             std::string(r.reason)});
  };
}

std::vector<RequestLogRecord> LogCapture::records() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RequestLogRecord> out;
  for (const Owned& o : records_) {
    RequestLogRecord r = o.record;
    r.request_id = o.request_id;
    r.trace_id = o.trace_id;
    r.span_id = o.span_id;
    r.method = o.method;
    r.path = o.path;
    r.reason = o.reason;
    out.push_back(r);
  }
  return out;
}

RunningServer::RunningServer(ServerOptions options, size_t threads)
    : server_(std::move(options)) {
  server_.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
}

RunningServer::~RunningServer() { Stop(); }

void RunningServer::Start() {
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("bind_to_any_port failed");
  // Clients may connect right away: the socket listens already, and the
  // kernel queues connections until the accept loop runs.
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

void RunningServer::Stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

int Connect(int port, const char* from) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  timeval tv{};
  tv.tv_sec = kCap.count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (from != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, from, &local.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      ::close(fd);
      throw std::runtime_error("bind failed");
    }
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      throw std::runtime_error("send failed");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string RawResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

// FillUntil reads into `buffer` until it holds `pred`-satisfying data; false
// on EOF, error or timeout.
template <class Pred>
bool FillUntil(int fd, std::string& buffer, Pred pred) {
  char chunk[4096];
  while (!pred()) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  return true;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

// ServerEnd is the server's socket for the loopback client socket `client`
// (same process): the one whose addresses are the client's, swapped. -1 if
// the server has not accepted it within a few seconds.
int ServerEnd(int client) {
  sockaddr_in here{};
  sockaddr_in there{};
  socklen_t len = sizeof(here);
  ::getsockname(client, reinterpret_cast<sockaddr*>(&here), &len);
  len = sizeof(there);
  ::getpeername(client, reinterpret_cast<sockaddr*>(&there), &len);
  for (int tries = 0; tries < 500; ++tries) {
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/self/fd")) {
      const int fd = std::stoi(entry.path().filename().string());
      sockaddr_in a{};
      sockaddr_in b{};
      len = sizeof(a);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
          a.sin_family != AF_INET || a.sin_port != there.sin_port) {
        continue;
      }
      len = sizeof(b);
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&b), &len) == 0 &&
          b.sin_port == here.sin_port) {
        return fd;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// Fill writes to `fd` until the socket takes nothing more for a while and
// returns how many bytes it took.
size_t Fill(int fd) {
  const std::string junk(64 * 1024, 'x');
  size_t total = 0;
  for (int quiet = 0; quiet < 3;) {
    const ssize_t n =
        ::send(fd, junk.data(), junk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      total += static_cast<size_t>(n);
      quiet = 0;
    } else {
      ++quiet;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return total;
}

}  // namespace

std::optional<RawResponse> ReadResponse(int fd, std::string& buffer,
                                        bool skip_interim) {
  for (;;) {
    if (!FillUntil(fd, buffer, [&] {
          return buffer.find("\r\n\r\n") != std::string::npos;
        })) {
      return std::nullopt;
    }
    const size_t end = buffer.find("\r\n\r\n");
    const std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    RawResponse r;
    // Status line: HTTP/1.1 200 OK
    const size_t sp = head.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    r.status = std::atoi(head.c_str() + sp + 1);
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos
                                                         : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers.emplace(Lower(line.substr(0, colon)), value);
      }
      pos = next;
    }
    if (r.status >= 100 && r.status < 200) {
      if (skip_interim) continue;
      return r;
    }
    if (r.status == 204 || r.status == 304) return r;  // never a body
    if (r.header("transfer-encoding") == "chunked") {
      // Chunks (no extensions), then the last one and an empty trailer.
      for (;;) {
        if (!FillUntil(fd, buffer, [&] {
              return buffer.find("\r\n") != std::string::npos;
            })) {
          return std::nullopt;
        }
        const size_t size = std::stoul(buffer, nullptr, 16);
        buffer.erase(0, buffer.find("\r\n") + 2);
        if (!FillUntil(fd, buffer, [&] { return buffer.size() >= size + 2; }))
          return std::nullopt;
        r.body.append(buffer, 0, size);
        buffer.erase(0, size + 2);
        if (size == 0) return r;
      }
    }
    const std::string length = r.header("content-length");
    const size_t n = length.empty() ? 0 : std::stoul(length);
    if (!FillUntil(fd, buffer, [&] { return buffer.size() >= n; })) {
      return std::nullopt;
    }
    r.body = buffer.substr(0, n);
    buffer.erase(0, n);
    return r;
  }
}

std::string ReadToEof(int fd, int* error) {
  std::string out;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Unless the caller looks at how the reads ended, a timeout fails:
      // the peer never closed.
      if (error == nullptr && n < 0 &&
          (errno == EAGAIN || errno == EWOULDBLOCK))
        throw std::runtime_error("ReadToEof: the peer did not close in time");
      if (error != nullptr) *error = n == 0 ? 0 : errno;
      return out;
    }
    out.append(chunk, static_cast<size_t>(n));
  }
}

Answer Exchange(int port, std::string_view request) {
  const int fd = Connect(port);
  SendAll(fd, request);
  Answer a;
  std::string buffer;
  a.response = ReadResponse(fd, buffer);
  a.after = buffer + ReadToEof(fd);
  ::close(fd);
  return a;
}

std::vector<RawResponse> ExchangeMany(int port, std::string_view requests,
                                      size_t count) {
  const int fd = Connect(port);
  SendAll(fd, requests);
  std::vector<RawResponse> responses;
  std::string buffer;
  while (responses.size() < count) {
    auto r = ReadResponse(fd, buffer);
    if (!r) break;
    responses.push_back(std::move(*r));
  }
  ::close(fd);
  return responses;
}

size_t FillServerEnd(int client) {
  const int server_end = ServerEnd(client);
  if (server_end < 0) return 0;
  const int small = 16 * 1024;
  if (::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) != 0 ||
      ::setsockopt(server_end, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) !=
          0) {
    return 0;
  }
  return Fill(server_end);
}

bool WaitForWriting(const Server& s, size_t n) {
  return WaitFor([&] { return ServerTestPeer::WritingConnections(s) == n; });
}

void CloseWithReset(int fd) {
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

std::string GetRequest(std::string_view path,
                       const std::vector<std::string>& extra,
                       std::string_view version) {
  std::string r = "GET ";
  r.append(path).append(" ").append(version).append("\r\nHost: test\r\n");
  for (const std::string& line : extra) r.append(line).append("\r\n");
  r.append("\r\n");
  return r;
}

}  // namespace testing
}  // namespace ctx::http
