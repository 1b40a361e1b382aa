// SPDX-License-Identifier: Apache-2.0
// ctx/http/request_log.h: the log lines the HTTP bridge writes, and the hook
// that writes them.
//
// ctx::http::Server reports each request it answers on a handler's behalf, or
// that ends without the handler's own answer, as one RequestLogRecord: 400 for
// a malformed timeout header, 499 for a client that went away, 500 for a
// context handler that threw (the exception's what(), made log-safe and cut
// to ctx::LogSafe's length, as the reason) or a response that failed half
// written (no request fields), 503 for a request canceled by stop(), 504 for
// a spent deadline. Requests that end normally are not reported here (use
// httplib's set_logger for access logs).
// The default hook writes one spdlog warning per record to spdlog's default
// logger:
//
//   http 504 GET /slow request_id=4bf92f3577b34da6a3ce929d0e0e4736
//       trace=0af7651916cd43dd8448eb211c80319c span=b7ad6b7169203331
//       elapsed_ms=250 deadline exceeded
//
// (trace and span only when the request has a trace context: ctx/http/server.h)
//
// Replace it through ServerOptions::logger, e.g. to count outcomes:
//
//   options.logger = [&](const ctx::http::RequestLogRecord& r) {
//     counters[r.status]++;
//   };

#ifndef CTX_HTTP_REQUEST_LOG_H_
#define CTX_HTTP_REQUEST_LOG_H_

#include <chrono>
#include <functional>
#include <string_view>

#include "ctx/export.h"

namespace ctx::http {

// RequestLogRecord describes one reported request. Every field is safe to
// write to a log as is: untrusted text has already been through ctx::LogSafe.
// The views are valid only during the logger call.
struct RequestLogRecord {
  int status = 0;                       // 400, 499, 500, 503 or 504
  std::string_view request_id;          // the accepted or generated id (valid)
  std::string_view trace_id;            // 32 hex digits, or "" with no trace
  std::string_view span_id;             // 16 hex digits (the request's parent
                                        // id, as ctx::log shows it), or ""
  std::string_view method;              // log-safe rendering of the method
  std::string_view path;                // log-safe rendering of the path
  std::string_view reason;              // e.g. "deadline exceeded"; for 500
                                        // the exception's what() (LogSafe)
  std::chrono::nanoseconds elapsed{0};  // from context creation to the end
};

// RequestLogger receives the records. It runs on the server's worker thread
// that served the request, after the handler returned and before the response
// is written; it must be thread-safe, must not throw, and should be quick.
using RequestLogger = std::function<void(const RequestLogRecord&)>;

// DefaultRequestLogger returns the hook described in the file comment (spdlog's
// default logger, warning level).
[[nodiscard]] CTX_EXPORT RequestLogger DefaultRequestLogger();

}  // namespace ctx::http

#endif  // CTX_HTTP_REQUEST_LOG_H_
