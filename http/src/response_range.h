// SPDX-License-Identifier: Apache-2.0
// http/src/response_range.h: how the server serves a request's byte range
// (RFC 9110 14). Internal.
//
// httplib 0.11.4 applies a range to whatever response a handler made: a 404
// page or a handler's explicit 200 was cut to the range and kept its status
// (a cache would store the part as the whole), a range past the body's end
// was named as asked ("bytes 5-30/10" for five bytes), and a 416 said
// "bytes 100-9/10". So the server takes the ranges off httplib's request
// before routing (httplib then serves every response whole; its static files
// still say 206, read here as the 200 they are) and applies them here, just
// before the response is written (response_framing.h), after the user's
// post-routing handler:
//   - only to a 200 answer to GET whose size is known (a body in memory, after
//     any compression httplib applied, or a content provider of a stated
//     length), and only for one range (the forwarded head passes no more:
//     forwarded_head.h);
//   - with If-Range, only when it equals the response's strong ETag or its
//     Last-Modified; else the whole response is sent;
//   - a satisfiable range (clamped to the end) becomes a 206 with its
//     Content-Range and Content-Length; an unsatisfiable one (starting at or
//     past the end, an empty suffix, any range of an empty body) a 416 with
//     "Content-Range: bytes */<size>" and no body.

#ifndef CTX_HTTP_SRC_RESPONSE_RANGE_H_
#define CTX_HTTP_SRC_RESPONSE_RANGE_H_

#include <httplib.h>

#include <cstdint>
#include <optional>
#include <utility>

namespace ctx::http::internal {

// ByteSpan is a resolved range: its first and last byte, inclusive.
struct ByteSpan {
  uint64_t first = 0;
  uint64_t last = 0;
  bool operator==(const ByteSpan&) const = default;
};

// ResolveRange resolves the range `r` (httplib's: first and last position,
// -1 where absent) against a `size`-byte body; nullopt when it is
// unsatisfiable.
[[nodiscard]] std::optional<ByteSpan> ResolveRange(const httplib::Range& r,
                                                   uint64_t size);

// ServeRange applies `asked` (the ranges taken off `req`) to `res` as the file
// comment says, and returns the span it served as a 206 (nullopt: the whole
// response, or a 416). `req` is httplib's own request object (not const:
// httplib declared it so): a content provider's range is handed back to it,
// for httplib to ask the provider for those bytes.
std::optional<ByteSpan> ServeRange(const httplib::Request& req,
                                   httplib::Response& res,
                                   const httplib::Ranges& asked);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_RESPONSE_RANGE_H_
