// SPDX-License-Identifier: Apache-2.0
// Which bytes of a response head the client escapes. See
// response_head_escaper.h.

#include "response_head_escaper.h"

#include <string_view>

namespace ctx::http::internal {
namespace {

// kContinue is how a "100 Continue" status line starts, but for the minor
// version digit (position 7), which httplib accepts as 0 or 1; a space or
// the line's end follows.
constexpr std::string_view kContinue = "HTTP/1.x 100";

}  // namespace

bool ResponseHeadEscaper::Escapes(char c) noexcept {
  if (!in_head_) return false;
  const bool after_cr = last_cr_;
  last_cr_ = c == '\r';
  if (c == '\n') {
    // httplib ends a head only at a line of exactly CRLF.
    const bool blank = !status_line_ && line_size_ == 1 && after_cr;
    if (status_line_) {
      interim_ = status_100_ && line_size_ > kContinue.size();
    }
    status_line_ = false;
    line_size_ = 0;
    if (blank) {
      if (interim_) {  // the real response's head follows
        status_line_ = true;
        status_100_ = true;
        interim_ = false;
      } else {
        in_head_ = false;
      }
    }
    return false;
  }
  if (status_line_) {
    if (line_size_ < kContinue.size()) {
      if (line_size_ != 7 && c != kContinue[line_size_]) status_100_ = false;
    } else if (line_size_ == kContinue.size() && c != ' ' && c != '\r') {
      status_100_ = false;
    }
    ++line_size_;
    return false;
  }
  ++line_size_;
  return c == '%';
}

}  // namespace ctx::http::internal
