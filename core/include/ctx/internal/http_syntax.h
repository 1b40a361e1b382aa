// SPDX-License-Identifier: Apache-2.0
// ctx/internal/http_syntax.h: the HTTP lexical rules (RFC 9110 5.6) shared by
// core's header-borne wire formats (trace context, baggage) and the HTTP
// bridge's request parser, client checks and header readers: tokens, optional
// whitespace, field values, case-insensitive comparison and the digits of
// lengths and chunk sizes. ASCII only, no locale. Internal: not part of the
// API.
//
// Inline: the parser calls them once a byte on its hot path.

#ifndef CTX_INTERNAL_HTTP_SYNTAX_H_
#define CTX_INTERNAL_HTTP_SYNTAX_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ctx::internal {

// kTokenChars marks the bytes that may appear in a token (RFC 9110 tchar):
// header names and methods.
inline constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
    t[static_cast<unsigned char>(c)] = true;
  }
  return t;
}();

// IsTokenChar reports whether `c` is a tchar.
inline bool IsTokenChar(char c) noexcept {
  return kTokenChars[static_cast<unsigned char>(c)];
}

// IsToken reports whether `s` is a token: one or more tchars.
inline bool IsToken(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// IsControl reports whether `c` is a control byte (0x00-0x1F, 0x7F): CR, LF
// and NUL among them.
inline bool IsControl(char c) noexcept {
  const auto b = static_cast<unsigned char>(c);
  return b < 0x20 || b == 0x7F;
}

// IsFieldValue reports whether `s` holds no control byte but horizontal tab
// (RFC 9110 field-value; bytes >= 0x80 are obs-text and pass).
inline bool IsFieldValue(std::string_view s) noexcept {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return IsControl(c) && c != '\t'; });
}

// TrimOws returns `s` without leading and trailing optional whitespace
// (spaces and horizontal tabs).
inline std::string_view TrimOws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// EqualsIgnoreCase compares `a` and `b` with ASCII letters folded to lower
// case.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// FramingHeader returns the usual spelling of `name` (any case) when it is a
// header that frames a message or steers its connection (RFC 9112 6, 7.4,
// 9.6; RFC 9110 7.6.1, 7.8, 10.1.1), else an empty view. A sender writes these
// itself: one copied from elsewhere (a caller, an incoming request) could make
// the receiver split or join messages.
inline std::string_view FramingHeader(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 9> kNames = {
      "Content-Length", "Transfer-Encoding", "Trailer",
      "Connection",     "Keep-Alive",        "TE",
      "Upgrade",        "Proxy-Connection",  "Expect"};
  for (std::string_view framing : kNames) {
    if (EqualsIgnoreCase(name, framing)) return framing;
  }
  return {};
}

// kMaxMetadataKeyLength bounds a header name ctx sends as configured.
inline constexpr std::size_t kMaxMetadataKeyLength = 64;

// IsMetadataKey reports whether `name` is a header name that both HTTP and
// gRPC carry as text: 1 to kMaxMetadataKeyLength bytes of a-z 0-9 `-` `_` `.`
// (lowercase, as gRPC metadata keys must be), not a binary key (ending in
// `-bin`) and not reserved by gRPC (`grpc-` prefix).
inline bool IsMetadataKey(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxMetadataKeyLength) return false;
  const bool chars = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  return chars && !name.ends_with("-bin") && !name.starts_with("grpc-");
}

// ParseDecimal reads `s`, 1 to 18 ASCII digits (so it never overflows), into
// `out`; false, with `out` untouched, for anything else.
inline bool ParseDecimal(std::string_view s, uint64_t& out) noexcept {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// HexDigit returns the value of the hexadecimal digit `c` (either case), or
// -1 when `c` is not one.
inline int HexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_HTTP_SYNTAX_H_
