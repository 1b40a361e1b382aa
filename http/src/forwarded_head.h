// SPDX-License-Identifier: Apache-2.0
// http/src/forwarded_head.h: the request head the server hands httplib,
// built from what the framing (request_parser.h) accepted. Internal.
//
// ForwardedHead is told the request line's parts and then each accepted
// header line, in order; Finish returns the head:
//   - the request line in origin form (`/path`; an absolute-form target's
//     host becomes the one Host line, replacing every received one);
//   - every header line as `name: value`, but Content-Length,
//     Transfer-Encoding and Expect (the framing's: the body is decoded,
//     100-continue is the connection's), Connection, Range, and the names
//     httplib sets itself (REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR, LOCAL_PORT),
//     which a received line would shadow;
//   - in every value handed on, each '%' written as "%25": httplib
//     percent-decodes header values, and so gives handlers the received
//     bytes (ForwardedLineSize is a line's size written so);
//   - one Connection line: `close` or `Keep-Alive` when that token is there
//     in any case, close winning (httplib compares exactly), else the values
//     as received, joined;
//   - the Range line when there is one holding one range of bytes
//     (`bytes=first-last`, either may be missing, first not past last, at
//     most 18 digits each): httplib repeats the body
//     once per range, without limit, so several ranges or Range lines, or
//     any other value, are dropped and the body is served whole;
//   - one Content-Length giving the decoded body's size when the received
//     head framed a body (a Content-Length or Transfer-Encoding line).
//
//   ForwardedHead head;
//   head.RequestLine("GET", "/a", "HTTP/1.1", "");
//   head.Field("Connection", "keep-alive");
//   std::string out = head.Finish(0);  // "GET /a HTTP/1.1\r\n
//                                      //  Connection: Keep-Alive\r\n\r\n"

#ifndef CTX_HTTP_SRC_FORWARDED_HEAD_H_
#define CTX_HTTP_SRC_FORWARDED_HEAD_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ctx::http::internal {

// EscapedSize is the size of `value` as ForwardedHead writes it (each '%' as
// "%25").
[[nodiscard]] size_t EscapedSize(std::string_view value);

// ForwardedLineSize is the size of the line ForwardedHead writes for a field
// `name` with value `value` (without its CRLF): the parser holds it to
// httplib's line limit.
[[nodiscard]] size_t ForwardedLineSize(std::string_view name,
                                       std::string_view value);

// ForwardedHead builds the head of one request.
//
// Thread-safety: none; one thread at a time (the parser's owner). It checks
// nothing: its input is what the parser has already validated.
class ForwardedHead {
 public:
  ForwardedHead() = default;

  // RequestLine starts the head with `method SP path SP version`; an empty
  // `path` or one that starts with '?' gets a leading "/". `absolute_host`
  // is the authority of an absolute-form target, or empty. Call it once,
  // before any Field.
  void RequestLine(std::string_view method, std::string_view path,
                   std::string_view version, std::string_view absolute_host);

  // Field is told one accepted header line: `name` its field name and `value`
  // its value without optional whitespace. The line is appended, dropped, or
  // held for Finish (see the file comment).
  void Field(std::string_view name, std::string_view value);

  // Finish appends the held lines, the Content-Length of a `body_size`-byte
  // body when a body was framed, and the empty line; returns the head. The
  // object is left as if newly constructed.
  [[nodiscard]] std::string Finish(size_t body_size);

 private:
  std::string head_;           // request line and the lines passed on so far
  std::string absolute_host_;  // the host of an absolute-form target
  std::string connection_;     // the Connection values, joined
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool framed_body_ = false;  // a Content-Length or Transfer-Encoding line
  int range_count_ = 0;       // Range lines
  std::string range_value_;   // the last Range line's value
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_FORWARDED_HEAD_H_
