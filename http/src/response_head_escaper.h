// SPDX-License-Identifier: Apache-2.0
// http/src/response_head_escaper.h: where the client must escape a response
// head's '%' bytes before httplib reads them. Internal.
//
// httplib's client percent-decodes every response header value (a Location of
// "/a%20b" would read "/a b", a Content-Length of "%31%30" would frame ten
// bytes). The client's stream (socket_stream.h) therefore hands httplib each
// '%' of a header value as "%25", which httplib decodes back to '%': the
// values arrive as sent. The escaper follows the bytes exactly as httplib
// 0.11.4 reads them, so the two never disagree about what is a value:
//   - a status line ends at LF (CR LF or bare LF); when it reads as a 100
//     (`HTTP/1.x 100`, then the line's end or a space and a reason without
//     CR, LF or NUL), httplib skips the next line whatever it holds and
//     reads the one after as the status line (any other line that fails its
//     pattern fails the call, but for CONNECT, whose next lines are headers);
//   - a header line ends at LF; its value is what follows its first ':'
//     (names and lines without a ':' are left alone);
//   - the head ends at the first line of exactly CR LF; the body, and the
//     status line with its reason phrase, pass unchanged.
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
  // Escapes takes the next byte and says whether it is a '%' of a header
  // value (to be written as "%25").
  [[nodiscard]] bool Escapes(char c) noexcept;
  // in_head reports whether the next byte may still be part of a head.
  [[nodiscard]] bool in_head() const noexcept { return line_ != Line::kBody; }
  // status_line_too_long reports whether the current status line has passed
  // kMaxStatusLine bytes: httplib matches it with a recursive regex, which a
  // long enough line takes past the end of the stack.
  [[nodiscard]] bool status_line_too_long() const noexcept {
    return line_ == Line::kStatus && line_size_ > kMaxStatusLine;
  }

  static constexpr size_t kMaxStatusLine = 8 * 1024;

 private:
  enum class Line { kStatus, kSkipped, kHeader, kBody };

  // StatusLineEnds handles the LF of a status line.
  void StatusLineEnds() noexcept;

  Line line_ = Line::kStatus;    // what the current line is
  size_t line_size_ = 0;         // bytes of the current line before its LF
  bool last_cr_ = false;         // the last byte was a CR
  bool continue_so_far_ = true;  // the status line so far can be a 100's
  bool in_value_ = false;        // the header line is past its first ':'
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_RESPONSE_HEAD_ESCAPER_H_
