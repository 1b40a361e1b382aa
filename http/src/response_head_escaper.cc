// SPDX-License-Identifier: Apache-2.0
// Which bytes of a response head the client escapes. See
// response_head_escaper.h.

#include "response_head_escaper.h"

#include <string_view>

namespace ctx::http::internal {
namespace {

// kContinue is a 100's status line up to its code, but for the minor version
// digit (position 7), which httplib accepts as 0 or 1.
constexpr std::string_view kContinue = "HTTP/1.x 100";

}  // namespace

void ResponseHeadEscaper::StatusLineEnds() noexcept {
  // Every byte was checked as it came: a 100's line is complete once it has
  // its code.
  const bool is_continue = continue_so_far_ && line_size_ >= kContinue.size();
  line_ = is_continue ? Line::kSkipped : Line::kHeader;
  continue_so_far_ = true;
}

bool ResponseHeadEscaper::Escapes(char c) noexcept {
  if (line_ == Line::kBody) return false;
  if (c == '\n') {
    switch (line_) {
      case Line::kStatus:
        StatusLineEnds();
        break;
      case Line::kSkipped:
        line_ = Line::kStatus;
        break;
      default:  // kHeader: only a line of exactly CR LF ends the head
        if (line_size_ == 1 && last_cr_) line_ = Line::kBody;
        break;
    }
    line_size_ = 0;
    last_cr_ = false;
    in_value_ = false;
    return false;
  }
  const size_t at = line_size_++;
  const bool after_cr = last_cr_;
  last_cr_ = c == '\r';
  switch (line_) {
    case Line::kStatus:
      // httplib matches the line (as a C string) to
      // (HTTP/1\.[01]) (\d{3})(?: (.*?))?\r?\n, '.' being no CR or LF.
      if (at < kContinue.size()) {
        if (at == 7 ? (c != '0' && c != '1') : c != kContinue[at]) {
          continue_so_far_ = false;
        }
      } else if ((at == kContinue.size() && c != ' ' && c != '\r') ||
                 c == '\0' || after_cr) {
        continue_so_far_ = false;
      }
      return false;
    case Line::kHeader:
      if (in_value_) return c == '%';
      in_value_ = c == ':';
      return false;
    default:
      return false;
  }
}

}  // namespace ctx::http::internal
