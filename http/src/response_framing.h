// SPDX-License-Identifier: Apache-2.0
// http/src/response_framing.h: what the server makes true of every response
// httplib is about to write, so that a client always finds where it ends.
// Internal.
//
// FrameResponse runs in httplib's post-routing step (after the handler, the
// error handler and httplib's own range handling, just before the status line
// is written), for every response httplib writes:
//   - the server alone frames a response: a Transfer-Encoding or
//     Content-Length a handler set is replaced by what the response is (two
//     lengths, or a length and chunked, read differently by two parsers, are
//     how a response is smuggled past a proxy);
//   - a response with a body in memory states its size (Content-Length).
//     httplib leaves it out when a handler throws after setting a body, and a
//     client on a kept-alive connection would then read the rest as the next
//     response;
//   - a 1xx, 204 or 304 response carries no body (httplib would write one a
//     handler set), no Content-Length (a 304's may be left out, and one
//     counting a body not sent would mislead a naive client) and no
//     Transfer-Encoding; a 1xx a handler made the final response closes the
//     connection (a client would wait on for a final one);
//   - a content provider's response of unknown length (neither a length nor
//     chunked) closes the connection: only the close can end it. So does a
//     chunked provider's response to HTTP/1.0, which goes out unchunked (an
//     HTTP/1.0 client cannot read chunked framing);
//   - the request's byte range is applied (response_range.h), after the
//     rules above: httplib applies none (the server took the ranges off its
//     request before routing).

#ifndef CTX_HTTP_SRC_RESPONSE_FRAMING_H_
#define CTX_HTTP_SRC_RESPONSE_FRAMING_H_

#include <httplib.h>

#include <cstdint>

#include "connection.h"

namespace ctx::http::internal {

// Framing is what FrameResponse decided for a response.
struct Framing {
  // must_close: only the connection's close can end the response (then
  // SayClose).
  bool must_close = false;
  // provider_body: how many body bytes httplib asks the response's content
  // provider for when it writes it: its length, or its range's;
  // Connection::kNoBodyLimit when it has no provider of a stated length, or
  // no body is written (HEAD).
  uint64_t provider_body = Connection::kNoBodyLimit;
};

// FrameResponse adjusts `res`, the response to `req`, as the file comment
// says. `asked` is the ranges taken off `req` before routing; `req` is
// httplib's own request object (see ServeRange).
[[nodiscard]] Framing FrameResponse(const httplib::Request& req,
                                    httplib::Response& res,
                                    const httplib::Ranges& asked);

// SayClose makes `res` say Connection: close, and no Keep-Alive hint.
void SayClose(httplib::Response& res);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_RESPONSE_FRAMING_H_
