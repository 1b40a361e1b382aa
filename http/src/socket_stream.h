// SPDX-License-Identifier: Apache-2.0
// http/src/socket_stream.h: our httplib::Stream over a connected TCP socket,
// used by the client (the server frames requests itself: server_loop.h).
// Internal.
//
// httplib 0.11.4 does not declare its own SocketStream in its header, and the
// client needs one more thing of it, so we keep our own: every wait can also
// watch an abort descriptor (a context's Done().Fd()), so a client call ends
// as soon as its context is done; writes never block past a wait, so partial
// writes return to httplib's write loop.
// Writes use MSG_NOSIGNAL: a peer that reset never raises SIGPIPE. Reads hand
// httplib the response with each '%' of a header value escaped, since httplib
// percent-decodes header values (response_head_escaper.h): one stream serves
// one response.

#ifndef CTX_HTTP_SRC_SOCKET_STREAM_H_
#define CTX_HTTP_SRC_SOCKET_STREAM_H_

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "response_head_escaper.h"

namespace ctx::http::internal {

// SocketStream reads and writes one socket. It does not own the socket.
//
// Thread-safety: used by one thread at a time (the calling thread of the
// client call it serves).
class SocketStream final : public httplib::Stream {
 public:
  // SocketStream serves `fd` with the given wait limits. `abort_fd`, when not
  // -1, is polled with every wait: once it is readable, every read and write
  // fails (returns -1) and aborted() turns true.
  SocketStream(int fd, std::chrono::microseconds read_timeout,
               std::chrono::microseconds write_timeout, int abort_fd = -1);
  SocketStream(const SocketStream&) = delete;
  SocketStream& operator=(const SocketStream&) = delete;
  ~SocketStream() override;

  // is_readable reports whether input is buffered or the socket turns readable
  // (data, EOF or an error) within the read timeout.
  bool is_readable() const override;
  // is_writable reports whether the socket turns writable within the write
  // timeout.
  bool is_writable() const override;
  // read returns buffered input first, then waits (read timeout) and reads
  // from the socket; in the response's head, each '%' of a header value as
  // "%25". Returns the byte count, 0 at EOF, -1 on timeout, abort or error,
  // or a status line longer than ResponseHeadEscaper::kMaxStatusLine.
  ssize_t read(char* ptr, size_t size) override;
  // write waits (write timeout) and writes what the socket takes now; returns
  // the byte count (maybe fewer than `size`) or -1.
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  // LimitReads makes read() fail (-1) once `max` bytes came from the socket
  // (0: no limit, the default); read_limited() then turns true.
  void LimitReads(uint64_t max) noexcept { read_limit_ = max; }
  [[nodiscard]] bool read_limited() const noexcept { return read_limited_; }

  // HasBufferedInput reports whether read() can return data without touching
  // the socket (bytes that arrived after the response read so far).
  [[nodiscard]] bool HasBufferedInput() const noexcept {
    return escape_left_ > 0 || read_pos_ < read_end_;
  }
  // aborted reports whether a wait ended because abort_fd turned readable.
  [[nodiscard]] bool aborted() const noexcept { return aborted_; }

 private:
  static constexpr size_t kBufferSize = 16 * 1024;

  // ReadRaw is read without the head's escaping.
  ssize_t ReadRaw(char* ptr, size_t size);
  // Wait polls the socket for `events` (and the abort descriptor) for up to
  // `timeout`; true when the socket is ready or in error.
  bool Wait(short events, std::chrono::microseconds timeout) const;
  void LookUpAddresses() const;

  const int fd_;
  const int abort_fd_;
  const std::chrono::microseconds read_timeout_;
  const std::chrono::microseconds write_timeout_;
  // The read buffer: bytes [read_pos_, read_end_) are unread. Allocated on the
  // first buffered read.
  std::unique_ptr<char[]> buffer_;
  size_t read_pos_ = 0;
  size_t read_end_ = 0;
  ResponseHeadEscaper head_;
  int escape_left_ = 0;      // bytes of a "%25" still to hand out ('2', '5')
  uint64_t read_limit_ = 0;  // LimitReads
  uint64_t received_ = 0;    // bytes that came from the socket
  bool read_limited_ = false;
  mutable bool aborted_ = false;  // set by Wait, which is const for httplib
  // Peer and local addresses, looked up on first use (httplib asks for both
  // on every request; the answer cannot change for a connected socket).
  mutable bool addresses_known_ = false;
  mutable std::string remote_ip_, local_ip_;
  mutable int remote_port_ = -1, local_port_ = -1;
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_SOCKET_STREAM_H_
