// SPDX-License-Identifier: Apache-2.0
// http/src/request_stream.h: the httplib::Stream a ctx::http::Server worker
// hands to httplib for one request. Internal.
//
// Reads come from the complete, normalized request the server loop framed
// (request_parser.h), never from the socket: httplib can read no byte of the
// next request, and nothing it leaves unread (a GET's body) can be taken for
// one. Writes go to the socket, each waiting at most the write timeout, and
// all of them together at most the response timeout from the first write.

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
  RequestStream(const Connection& conn, ParsedRequest request,
                std::chrono::milliseconds write_timeout,
                std::chrono::milliseconds response_timeout);
  RequestStream(const RequestStream&) = delete;
  RequestStream& operator=(const RequestStream&) = delete;

  // is_readable is true while request bytes are left.
  bool is_readable() const override;
  // is_writable waits (write timeout, response deadline) for room in the
  // socket.
  bool is_writable() const override;
  // read returns request bytes; 0 once all are read.
  ssize_t read(char* ptr, size_t size) override;
  // write sends what the socket takes within the write timeout; -1 when it
  // takes nothing or the response deadline has passed. Never raises SIGPIPE.
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override;

  // status is the status code of the final (non-1xx) response written, or 0
  // before its status line.
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  // WriteWait is how long the next wait for room may take: the write
  // timeout, cut to what is left of the response deadline (started by the
  // first write).
  [[nodiscard]] std::chrono::milliseconds WriteWait() const;

  const Connection& conn_;
  const ParsedRequest request_;
  const std::chrono::milliseconds write_timeout_;
  const std::chrono::milliseconds response_timeout_;
  mutable std::chrono::steady_clock::time_point response_deadline_{};
  size_t read_pos_ = 0;  // into head then body
  int status_ = 0;
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_REQUEST_STREAM_H_
