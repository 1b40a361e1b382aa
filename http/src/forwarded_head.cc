// SPDX-License-Identifier: Apache-2.0
// The head handed to httplib. See forwarded_head.h for the rules.

#include "forwarded_head.h"

#include <utility>

#include "ctx/internal/http_syntax.h"

namespace ctx::http::internal {
namespace {

using ::ctx::internal::EqualsIgnoreCase;
using ::ctx::internal::TrimOws;

}  // namespace

void ForwardedHead::RequestLine(std::string_view method, std::string_view path,
                                std::string_view version,
                                std::string_view absolute_host) {
  absolute_host_ = absolute_host;
  head_.append(method).append(" ");
  if (path.empty() || path.front() == '?') head_.append("/");
  head_.append(path).append(" ").append(version).append("\r\n");
}

void ForwardedHead::Field(std::string_view line, std::string_view name,
                          std::string_view value) {
  if (EqualsIgnoreCase(name, "content-length") ||
      EqualsIgnoreCase(name, "transfer-encoding")) {
    framed_body_ = true;  // Finish gives the decoded body's length
    return;
  }
  // Answered by the connection (RequestParser::WantsContinue), never by
  // httplib.
  if (EqualsIgnoreCase(name, "expect")) return;
  if (EqualsIgnoreCase(name, "connection")) {
    // Tokens are case-insensitive; httplib compares the first value with
    // "close" and "Keep-Alive" exactly, so Finish hands on one normalized
    // line.
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = TrimOws(rest.substr(0, comma));
      if (EqualsIgnoreCase(token, "close")) connection_close_ = true;
      if (EqualsIgnoreCase(token, "keep-alive")) connection_keep_alive_ = true;
      rest = comma == std::string_view::npos ? std::string_view()
                                             : rest.substr(comma + 1);
    }
    if (!connection_.empty()) connection_.append(", ");
    connection_.append(value);
    return;
  }
  if (EqualsIgnoreCase(name, "range")) {
    // Held until Finish, which hands on one range only: httplib repeats the
    // body once per range, without limit.
    ++range_count_;
    range_line_ = line;
    return;
  }
  // The target's host wins over the Host field.
  if (EqualsIgnoreCase(name, "host") && !absolute_host_.empty()) return;
  head_.append(line).append("\r\n");
}

std::string ForwardedHead::Finish(size_t body_size) {
  if (!absolute_host_.empty()) {
    head_.append("Host: ").append(absolute_host_).append("\r\n");
  }
  if (connection_close_) {
    head_.append("Connection: close\r\n");
  } else if (connection_keep_alive_) {
    head_.append("Connection: Keep-Alive\r\n");
  } else if (!connection_.empty()) {
    head_.append("Connection: ").append(connection_).append("\r\n");
  }
  // RFC 9110 14.2: a server may ignore Range. Several ranges are ignored, so
  // the body is served whole once; one range is never larger than the body.
  // The line goes on as received, so it never outgrows httplib's limit.
  if (range_count_ == 1 && range_line_.find(',') == std::string::npos) {
    head_.append(range_line_).append("\r\n");
  }
  if (framed_body_) {
    head_.append("Content-Length: ")
        .append(std::to_string(body_size))
        .append("\r\n");
  }
  head_.append("\r\n");
  std::string out = std::move(head_);
  *this = ForwardedHead();
  return out;
}

}  // namespace ctx::http::internal
