// SPDX-License-Identifier: Apache-2.0
// ctx/http/status.h: how the HTTP bridge maps context outcomes to HTTP, in one
// place.
//
// Server side, what the client of a ctx::http::Server handler gets:
//
// clang-format off
//   outcome                                        status  body
//   handler returned, context still live           the handler's own response
//   request carried a budget of zero               504     "deadline exceeded"
//   deadline passed before the handler returned    504     "deadline exceeded"
//   client closed or reset its connection          499     logged only: the
//                                                          handler's response
//                                                          if it set one (a
//                                                          half-closed client
//                                                          reads it), else
//                                                          none
//   Server::stop(), or the server's root context   503     "server stopping"
//     canceled, while the handler ran
//   malformed X-Request-Timeout / grpc-timeout     400     "bad <header>:
//                                                          <reason>"
//   the handler threw while its context was live   500     "internal server
//     (a plain httplib handler too, unless                 error" (nothing of
//     set_exception_handler replaced the answer)           the exception)
// clang-format on
//
// 499 is nginx's "client closed request": not a standard code, used only in
// logs. 504 rather than 408: the budget came from the caller's deadline, not
// from a slow upload.
//
// Client side, ctx::http::Client reports the first of these that applies:
//
// clang-format off
//   the call's context was canceled     ctx::Errc::kCanceled
//                                       (== std::errc::operation_canceled)
//   its deadline passed                 ctx::Errc::kDeadlineExceeded
//                                       (== std::errc::timed_out)
//   httplib failed (connect, read, ...) TransportCategory(), the httplib::Error
//                                       value, its message httplib's own
// clang-format on
//
// A response with any status (including 499/503/504 from a peer) is not an
// error: it is returned as a response, except one marked
// "x-ctx-deadline-exceeded: 1" (ctx/proxy_headers.h), which the server sends
// with every 504 it answers for a spent budget: the client reports it as
// ctx::Errc::kDeadlineExceeded, so that nobody retries it as a transient
// failure.
//
//   if (c.Err()) res.status = ctx::http::StatusForDoneContext(c);

#ifndef CTX_HTTP_STATUS_H_
#define CTX_HTTP_STATUS_H_

#include <httplib.h>

#include <string_view>
#include <system_error>

#include "ctx/context.h"
#include "ctx/errors.h"
#include "ctx/export.h"

namespace ctx::http {

// Status codes the bridge produces (see the table above).
inline constexpr int kStatusBadRequest = 400;
inline constexpr int kStatusClientClosedRequest = 499;
inline constexpr int kStatusInternalServerError = 500;
inline constexpr int kStatusServiceUnavailable = 503;
inline constexpr int kStatusGatewayTimeout = 504;

// ClientDisconnected is the cause (ctx::Cause) of a request context canceled
// because its client closed or reset the connection: code
// std::errc::connection_aborted, message "client disconnected".
[[nodiscard]] CTX_EXPORT Error ClientDisconnected();

// ServerStopping is the cause of a request context canceled by
// ctx::http::Server::stop(): code std::errc::operation_canceled, message
// "server stopping".
[[nodiscard]] CTX_EXPORT Error ServerStopping();

// StatusForDoneContext returns the status for a request whose context is done,
// by the table above: 504 for a deadline, 499 when Cause(c) is
// ClientDisconnected(), else 503. Call it only when c.Err() is set; for a live
// context it returns 200. Safe from any thread.
[[nodiscard]] CTX_EXPORT int StatusForDoneContext(const Context& c);

// TransportCategory is the error category of httplib's transport failures: the
// value is the httplib::Error enumerator, the message httplib::to_string's.
[[nodiscard]] CTX_EXPORT const std::error_category&
TransportCategory() noexcept;

// TransportError makes an error_code of TransportCategory() for e.
[[nodiscard]] CTX_EXPORT std::error_code TransportError(
    httplib::Error e) noexcept;

}  // namespace ctx::http

#endif  // CTX_HTTP_STATUS_H_
