// SPDX-License-Identifier: Apache-2.0
// The head handed to httplib. See forwarded_head.h for the rules.

#include "forwarded_head.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "ctx/internal/http_syntax.h"

namespace ctx::http::internal {
namespace {

using ::ctx::internal::EqualsIgnoreCase;
using ::ctx::internal::ParseDecimal;
using ::ctx::internal::TrimOws;

// AppendLine appends `name: value` and CRLF, each '%' in `value` written as
// "%25": httplib percent-decodes every header value it parses, so that
// decoding gives back exactly the bytes the parser accepted.
void AppendLine(std::string& out, std::string_view name,
                std::string_view value) {
  out.append(name).append(": ");
  size_t from = 0;
  for (size_t pct = value.find('%'); pct != std::string_view::npos;
       pct = value.find('%', from)) {
    out.append(value.substr(from, pct - from)).append("%25");
    from = pct + 1;
  }
  out.append(value.substr(from)).append("\r\n");
}

// IsOneByteRange says whether `value` is one range of bytes that httplib
// reads as such: `bytes=` first-pos? `-` last-pos?, a position at least, each
// of 1 to 18 digits, the first not past the last.
bool IsOneByteRange(std::string_view value) {
  constexpr std::string_view kUnit = "bytes=";
  if (value.substr(0, kUnit.size()) != kUnit) return false;
  value.remove_prefix(kUnit.size());
  const size_t dash = value.find('-');
  if (dash == std::string_view::npos) return false;
  const std::string_view first = value.substr(0, dash);
  const std::string_view last = value.substr(dash + 1);
  uint64_t from = 0;
  uint64_t to = 0;
  if (!first.empty() && !ParseDecimal(first, from)) return false;
  if (!last.empty() && !ParseDecimal(last, to)) return false;
  if (first.empty()) return !last.empty();
  return last.empty() || from <= to;
}

// kHttplibFields are the names httplib sets in a request's headers itself,
// after the received ones; a received line of that name would come first and
// shadow httplib's value.
constexpr std::string_view kHttplibFields[] = {"REMOTE_ADDR", "REMOTE_PORT",
                                               "LOCAL_ADDR", "LOCAL_PORT"};

}  // namespace

size_t EscapedSize(std::string_view value) {
  return value.size() +
         2 * static_cast<size_t>(std::count(value.begin(), value.end(), '%'));
}

size_t ForwardedLineSize(std::string_view name, std::string_view value) {
  return name.size() + 2 + EscapedSize(value);
}

void ForwardedHead::RequestLine(std::string_view method, std::string_view path,
                                std::string_view version,
                                std::string_view absolute_host) {
  absolute_host_ = absolute_host;
  head_.append(method).append(" ");
  if (path.empty() || path.front() == '?') head_.append("/");
  head_.append(path).append(" ").append(version).append("\r\n");
}

void ForwardedHead::Field(std::string_view name, std::string_view value) {
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
    range_value_ = value;
    return;
  }
  // The target's host wins over the Host field.
  if (EqualsIgnoreCase(name, "host") && !absolute_host_.empty()) return;
  for (const std::string_view own : kHttplibFields) {
    if (EqualsIgnoreCase(name, own)) return;
  }
  AppendLine(head_, name, value);
}

std::string ForwardedHead::Finish(size_t body_size) {
  if (!absolute_host_.empty()) AppendLine(head_, "Host", absolute_host_);
  if (connection_close_) {
    head_.append("Connection: close\r\n");
  } else if (connection_keep_alive_) {
    head_.append("Connection: Keep-Alive\r\n");
  } else if (!connection_.empty()) {
    AppendLine(head_, "Connection", connection_);
  }
  // RFC 9110 14.2: a server may ignore Range. Several ranges, and anything
  // but one range of bytes, are ignored, so the body is served whole once;
  // one range is never larger than the body.
  if (range_count_ == 1 && IsOneByteRange(range_value_)) {
    AppendLine(head_, "Range", range_value_);
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
