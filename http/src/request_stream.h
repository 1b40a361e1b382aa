// SPDX-License-Identifier: Apache-2.0
// http/src/request_stream.h: the httplib::Stream a ctx::http::Server worker
// hands to httplib for one request. Internal.
//
// Reads come from the complete, normalized request the server loop framed
// (request_parser.h), never from the socket: httplib can read no byte of the
// next request, and nothing it leaves unread (a GET's body) can be taken for
// one. Writes go to the socket, each waiting at most the write timeout, and
// all of them together at most the response timeout from the first write.
//
// A write the socket cannot take at once does not wait: it goes to the
// connection's tail (Connection::tail), which the server loop writes later,
// so a slow reader does not hold the worker. The handler's body joins the
// tail by move (Connection::response_body), anything else by copy, up to
// kMaxCopiedTail bytes; beyond that (a content provider streaming into a
// full socket) the worker writes the tail and the rest itself, waiting.

#ifndef CTX_HTTP_SRC_REQUEST_STREAM_H_
#define CTX_HTTP_SRC_REQUEST_STREAM_H_

#include <httplib.h>

#include <chrono>
#include <string>

#include "connection.h"
#include "request_parser.h"

namespace ctx::http::internal {

// RequestStream serves one request of `conn`, which must outlive it.
//
// Thread-safety: one thread (the worker).
class RequestStream final : public httplib::Stream {
 public:
  // kMaxCopiedTail bounds the bytes copied into the tail per response.
  static constexpr size_t kMaxCopiedTail = 64 * 1024;

  RequestStream(Connection& conn, ParsedRequest request,
                std::chrono::milliseconds write_timeout,
                std::chrono::milliseconds response_timeout);
  RequestStream(const RequestStream&) = delete;
  RequestStream& operator=(const RequestStream&) = delete;

  // is_readable is true while request bytes are left.
  bool is_readable() const override;
  // is_writable is true at once while a tail is pending, else waits (write
  // timeout, response deadline) for room in the socket.
  bool is_writable() const override;
  // read returns request bytes; 0 once all are read (and the body then
  // freed).
  ssize_t read(char* ptr, size_t size) override;
  // write sends what the socket takes at once and leaves the rest to the
  // tail (see the file comment), else waits within the write timeout; -1
  // when the socket fails or the response deadline has passed. Never raises
  // SIGPIPE. Body bytes past Connection::provider_body_left are dropped (and
  // the connection closes after the response).
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override;

  // status is the status code of the final (non-1xx) response written, or 0
  // before its status line.
  [[nodiscard]] int status() const noexcept { return status_; }
  // failed says whether a write failed: the response was not written whole
  // (httplib does not always say so), and the connection must close.
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  // response_deadline is when the response must be written whole (the first
  // write plus the response timeout); TimePoint() before the first write.
  [[nodiscard]] TimePoint response_deadline() const noexcept {
    return response_deadline_;
  }

 private:
  // WriteWait is how long the next wait for room may take: the write
  // timeout, cut to what is left of the response deadline (started by the
  // first write).
  [[nodiscard]] std::chrono::milliseconds WriteWait() const;
  // Keep puts [ptr, ptr + size) into the tail: the handler's body by move
  // when that is what it is, else a copy. False when a copy would pass
  // kMaxCopiedTail.
  bool Keep(const char* ptr, size_t size);
  // Flush writes the tail, waiting as write does; false when it fails.
  bool Flush();
  // WriteOut is write without the body's limit; WriteSome is WriteOut
  // without recording a failure.
  ssize_t WriteOut(const char* ptr, size_t size);
  ssize_t WriteSome(const char* ptr, size_t size);
  // Send sends what the socket takes, waiting as write does; -1: failed.
  ssize_t Send(const char* ptr, size_t size);

  Connection& conn_;
  // request_: its body is freed once httplib has read it all (httplib's
  // Request holds a copy); its room stays held of the server's body budget
  // until this stream, the response, is done.
  ParsedRequest request_;
  const size_t request_size_;  // head and body
  const std::chrono::milliseconds write_timeout_;
  const std::chrono::milliseconds response_timeout_;
  mutable TimePoint response_deadline_{};
  size_t read_pos_ = 0;  // into head then body
  int status_ = 0;
  bool failed_ = false;  // a write failed: every later one fails too
  // head_left_: bytes of the final response's head not yet written. httplib
  // writes a head with one call, and what the socket did not take with the
  // next ones: those are head too, not body.
  size_t head_left_ = 0;
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_REQUEST_STREAM_H_
