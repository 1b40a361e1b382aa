// SPDX-License-Identifier: Apache-2.0
// http/src/response_head_escaper.h: where the client must escape a response
// head's '%' bytes before httplib reads them. Internal.
//
// httplib's client percent-decodes every response header value (a Location of
// "/a%20b" would read "/a b", a Content-Length of "%31%30" would frame ten
// bytes). The client's stream (socket_stream.h) therefore hands httplib each
// '%' of a header line as "%25", which httplib decodes back to '%': the values
// arrive as sent. The status line (httplib decodes nothing there) and the body
// pass unchanged. A "100 Continue" head is followed by the real response's
// head, as httplib reads it; any other status ends the escaping at its head's
// blank line.
//
//   ResponseHeadEscaper e;
//   for (char c : std::string_view("HTTP/1.1 200 OK\r\nX: %41\r\n\r\n%41"))
//     out += e.Escapes(c) ? "%25" : std::string(1, c);
//   // out == "HTTP/1.1 200 OK\r\nX: %2541\r\n\r\n%41"

#ifndef CTX_HTTP_SRC_RESPONSE_HEAD_ESCAPER_H_
#define CTX_HTTP_SRC_RESPONSE_HEAD_ESCAPER_H_

#include <cstddef>

namespace ctx::http::internal {

// ResponseHeadEscaper follows one response's bytes, in order, from its first.
//
// Thread-safety: none; one reader.
class ResponseHeadEscaper {
 public:
  // Escapes takes the next byte and says whether it is a '%' of a header line
  // (to be written as "%25").
  [[nodiscard]] bool Escapes(char c) noexcept;
  // in_head reports whether the next byte may still be part of a head.
  [[nodiscard]] bool in_head() const noexcept { return in_head_; }

 private:
  bool in_head_ = true;
  bool status_line_ = true;  // the current line is a status line
  size_t line_size_ = 0;     // bytes of the current line so far
  bool status_100_ = true;   // the status line so far is a 100's
  bool interim_ = false;     // this head is a 100 Continue's
  bool last_cr_ = false;     // the last byte was a CR
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_RESPONSE_HEAD_ESCAPER_H_
