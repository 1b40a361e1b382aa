// SPDX-License-Identifier: Apache-2.0
// Our httplib::Stream over a socket. See socket_stream.h for why it exists.

#include "socket_stream.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "socket_address.h"

namespace ctx::http::internal {
namespace {

using std::chrono::microseconds;

// PollMillis converts a wait to poll's milliseconds, rounding up so a short
// positive wait never becomes a non-blocking check.
int PollMillis(microseconds t) {
  if (t <= microseconds::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t).count();
  return static_cast<int>(
      std::min<int64_t>(ms, std::numeric_limits<int>::max()));
}

}  // namespace

SocketStream::SocketStream(int fd, microseconds read_timeout,
                           microseconds write_timeout, int abort_fd)
    : fd_(fd),
      abort_fd_(abort_fd),
      read_timeout_(read_timeout),
      write_timeout_(write_timeout) {}

SocketStream::~SocketStream() = default;

bool SocketStream::Wait(short events, microseconds timeout) const {
  if (aborted_) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{fd_, events, 0}, {abort_fd_, POLLIN, 0}};
  const nfds_t n = abort_fd_ >= 0 ? 2 : 1;
  for (;;) {
    const auto left = std::chrono::duration_cast<microseconds>(
        deadline - std::chrono::steady_clock::now());
    const int r = ::poll(fds, n, PollMillis(left));
    if (r > 0) {
      if (n == 2 && fds[1].revents != 0) {
        aborted_ = true;
        return false;
      }
      return fds[0].revents != 0;  // ready, or POLLHUP/POLLERR for recv/send
    }
    if (r == 0) return false;  // timed out
    if (errno != EINTR) return false;
  }
}

bool SocketStream::is_readable() const {
  return HasBufferedInput() || Wait(POLLIN, read_timeout_);
}

bool SocketStream::is_writable() const { return Wait(POLLOUT, write_timeout_); }

ssize_t SocketStream::read(char* ptr, size_t size) {
  if (size == 0) return 0;
  if (escape_left_ == 0 && !head_.in_head()) return ReadRaw(ptr, size);
  // The head, a byte at a time (as httplib reads it anyway), never waiting
  // once something can be returned.
  size_t n = 0;
  while (n < size) {
    if (escape_left_ > 0) {
      ptr[n++] = escape_left_-- == 2 ? '2' : '5';
      continue;
    }
    if (!head_.in_head() || (n > 0 && read_pos_ == read_end_)) break;
    char c;
    const ssize_t r = ReadRaw(&c, 1);
    if (r <= 0) return n > 0 ? static_cast<ssize_t>(n) : r;
    ptr[n++] = c;
    if (head_.Escapes(c)) escape_left_ = 2;
    if (head_.status_line_too_long()) return -1;
  }
  return static_cast<ssize_t>(n);
}

ssize_t SocketStream::ReadRaw(char* ptr, size_t size) {
  if (HasBufferedInput()) {
    const size_t n = std::min(size, read_end_ - read_pos_);
    std::memcpy(ptr, buffer_.get() + read_pos_, n);
    read_pos_ += n;
    return static_cast<ssize_t>(n);
  }
  if (read_limit_ != 0 && received_ >= read_limit_) {
    read_limited_ = true;
    return -1;
  }
  if (!Wait(POLLIN, read_timeout_)) return -1;
  // Large reads go straight to the caller; small ones fill the buffer so the
  // line reader does not pay a syscall per call.
  if (size >= kBufferSize) {
    for (;;) {
      const ssize_t r = ::recv(fd_, ptr, size, 0);
      if (r > 0) received_ += static_cast<uint64_t>(r);
      if (r >= 0 || errno != EINTR) return r;
    }
  }
  if (!buffer_) buffer_ = std::make_unique<char[]>(kBufferSize);
  ssize_t r;
  do {
    r = ::recv(fd_, buffer_.get(), kBufferSize, 0);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return r;
  received_ += static_cast<uint64_t>(r);
  const size_t n = std::min(size, static_cast<size_t>(r));
  std::memcpy(ptr, buffer_.get(), n);
  read_pos_ = n;
  read_end_ = static_cast<size_t>(r);
  return static_cast<ssize_t>(n);
}

ssize_t SocketStream::write(const char* ptr, size_t size) {
  for (;;) {
    if (!Wait(POLLOUT, write_timeout_)) return -1;
    // MSG_DONTWAIT: take what fits now; httplib's write loop sends the rest
    // after another wait, so an abort is noticed between chunks.
    const ssize_t r = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) return r;
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

void SocketStream::LookUpAddresses() const {
  if (addresses_known_) return;
  addresses_known_ = true;
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    AddressOf(addr, len, remote_ip_, remote_port_);
  }
  len = sizeof(addr);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    AddressOf(addr, len, local_ip_, local_port_);
  }
}

void SocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  LookUpAddresses();
  ip = remote_ip_;
  port = remote_port_;
}

void SocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  LookUpAddresses();
  ip = local_ip_;
  port = local_port_;
}

}  // namespace ctx::http::internal
