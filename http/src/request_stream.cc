// SPDX-License-Identifier: Apache-2.0
// The worker's httplib::Stream. See request_stream.h.

#include "request_stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>

#include "loop_wire.h"

namespace ctx::http::internal {
namespace {

bool WaitWritable(int fd, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLOUT, 0};
    const int r =
        ::poll(&p, 1,
               static_cast<int>(std::clamp<int64_t>(
                   left.count(), 0, std::numeric_limits<int>::max())));
    if (r > 0) return true;  // writable, or an error send will report
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

}  // namespace

RequestStream::RequestStream(Connection& conn, ParsedRequest request,
                             std::chrono::milliseconds write_timeout,
                             std::chrono::milliseconds response_timeout)
    : conn_(conn),
      request_(std::move(request)),
      request_size_(request_.head.size() + request_.body.size()),
      write_timeout_(write_timeout),
      response_timeout_(response_timeout) {}

std::chrono::milliseconds RequestStream::WriteWait() const {
  const TimePoint now = Clock::now();
  if (response_deadline_ == TimePoint()) {
    response_deadline_ = now + response_timeout_;
  }
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(response_deadline_ - now);
  return std::clamp(left, std::chrono::milliseconds(0), write_timeout_);
}

bool RequestStream::is_readable() const { return read_pos_ < request_size_; }

bool RequestStream::is_writable() const {
  return !conn_.tail.empty() || WaitWritable(conn_.fd(), WriteWait());
}

ssize_t RequestStream::read(char* ptr, size_t size) {
  if (read_pos_ >= request_size_) return 0;
  const size_t head = request_.head.size();
  const std::string& from = read_pos_ < head ? request_.head : request_.body;
  const size_t offset = read_pos_ < head ? read_pos_ : read_pos_ - head;
  const size_t n = std::min(size, from.size() - offset);
  std::memcpy(ptr, from.data() + offset, n);
  read_pos_ += n;
  // httplib has the whole body now, in its Request: one copy is enough.
  if (read_pos_ == request_size_) request_.body = std::string();
  return static_cast<ssize_t>(n);
}

ssize_t RequestStream::write(const char* ptr, size_t size) {
  if (status_ == 0) {  // a head: an interim one, or the final one's start
    const ssize_t r = WriteOut(ptr, size);
    if (status_ != 0 && r >= 0) head_left_ = size - static_cast<size_t>(r);
    return r;
  }
  if (head_left_ > 0) {  // the rest of the final head
    const ssize_t r = WriteOut(ptr, std::min(size, head_left_));
    if (r > 0) head_left_ -= static_cast<size_t>(r);
    return r;
  }
  uint64_t& left = conn_.provider_body_left;
  if (size <= left) {  // body within its length
    const ssize_t r = WriteOut(ptr, size);
    if (r > 0 && left != Connection::kNoBodyLimit) {
      left -= static_cast<uint64_t>(r);
    }
    return r;
  }
  // A content provider wrote past the length its response states: the
  // client would read the rest as the next response. The rest is dropped
  // and the connection closes after this response.
  conn_.last_response = true;
  if (left == 0) return static_cast<ssize_t>(size);
  const ssize_t r = WriteOut(ptr, static_cast<size_t>(left));
  if (r <= 0) return r;
  const bool all = static_cast<uint64_t>(r) == left;
  left -= static_cast<uint64_t>(r);
  return all ? static_cast<ssize_t>(size) : r;
}

ssize_t RequestStream::WriteOut(const char* ptr, size_t size) {
  const ssize_t r = WriteSome(ptr, size);
  // httplib writes the body even when writing the head failed: once a write
  // fails, every later one does, and the response is not whole (failed()).
  if (r < 0) failed_ = true;
  return r;
}

ssize_t RequestStream::WriteSome(const char* ptr, size_t size) {
  // The first write starts the response deadline; a spent one fails every
  // later write, even one the socket would take.
  if (failed_ || conn_.drop_response ||
      WriteWait() <= std::chrono::milliseconds(0)) {
    return -1;
  }
  if (status_ == 0) {
    // httplib writes each status line with one call: "HTTP/1.1 NNN ...".
    const std::string_view s(ptr, size);
    if (s.size() >= 12 && s.substr(0, 7) == "HTTP/1." && s[8] == ' ') {
      const int code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
      if (code >= 200) status_ = code;
    }
  }
  if (!conn_.tail.empty()) {
    if (Keep(ptr, size)) return static_cast<ssize_t>(size);
    if (!Flush()) return -1;
    return Send(ptr, size);
  }
  const ssize_t r = SendSome(conn_.fd(), ptr, size);
  if (r >= 0) return r;
  if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
  if (Keep(ptr, size)) return static_cast<ssize_t>(size);
  return Send(ptr, size);
}

bool RequestStream::Keep(const char* ptr, size_t size) {
  std::string* body = conn_.response_body;
  // The rest of the handler's body: moving the string keeps its buffer, so
  // the bytes are held once.
  if (body != nullptr && !body->empty() && ptr >= body->data() &&
      ptr < body->data() + body->size() &&
      size == static_cast<size_t>(body->data() + body->size() - ptr)) {
    const auto pos = static_cast<size_t>(ptr - body->data());
    conn_.tail.push_back(Connection::TailPart{std::move(*body), pos});
    conn_.response_body = nullptr;
    return true;
  }
  if (conn_.tail_copied + size > kMaxCopiedTail) return false;
  conn_.tail.push_back(Connection::TailPart{std::string(ptr, size), 0});
  conn_.tail_copied += size;
  return true;
}

bool RequestStream::Flush() {
  while (!conn_.tail.empty()) {
    Connection::TailPart& part = conn_.tail.front();
    while (part.pos < part.bytes.size()) {
      const ssize_t r =
          Send(part.bytes.data() + part.pos, part.bytes.size() - part.pos);
      if (r < 0) return false;
      part.pos += static_cast<size_t>(r);
    }
    conn_.tail.pop_front();
  }
  return true;
}

ssize_t RequestStream::Send(const char* ptr, size_t size) {
  for (;;) {
    if (WriteWait() <= std::chrono::milliseconds(0)) return -1;
    const ssize_t r = SendSome(conn_.fd(), ptr, size);
    if (r >= 0) return r;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (!WaitWritable(conn_.fd(), WriteWait())) return -1;
  }
}

void RequestStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = conn_.peer().remote_ip;
  port = conn_.peer().remote_port;
}

void RequestStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = conn_.peer().local_ip;
  port = conn_.peer().local_port;
}

socket_t RequestStream::socket() const { return conn_.fd(); }

}  // namespace ctx::http::internal
