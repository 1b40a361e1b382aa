// SPDX-License-Identifier: Apache-2.0
// Pass-through headers: which names may be configured, which values are
// forwarded. See ctx/pass_through.h.

#include "ctx/pass_through.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "ctx/internal/http_syntax.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"

namespace ctx {
namespace {

// clang-format off
// Exact names refused besides the framing headers (FramingHeader): ctx's own
// headers, and headers about the connection, the message or the caller's
// credentials.
constexpr std::array<std::string_view, 13> kRefusedNames = {
    kRequestIdHeader, kSessionIdHeader, kGrpcTimeoutHeader,
    kRequestTimeoutHeader, kTraceparentHeader, kTracestateHeader,
    kBaggageHeader,
    "host", "cookie", "authorization", "user-agent", "via", "forwarded"};
// Prefixes refused besides gRPC's reserved keys (IsMetadataKey): proxy and
// content headers.
constexpr std::array<std::string_view, 3> kRefusedPrefixes = {
    "proxy-", "content-", "accept"};
// clang-format on

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool IsValidPassThroughName(std::string_view name) noexcept {
  static_assert(kMaxPassThroughNameLength <= internal::kMaxMetadataKeyLength);
  if (name.size() > kMaxPassThroughNameLength) return false;
  if (!internal::IsMetadataKey(name)) return false;
  if (!internal::FramingHeader(name).empty()) return false;
  for (std::string_view refused : kRefusedNames) {
    if (name == refused) return false;
  }
  for (std::string_view prefix : kRefusedPrefixes) {
    if (name.starts_with(prefix)) return false;
  }
  return true;
}

bool IsValidPassThroughValue(std::string_view value) noexcept {
  if (value.empty() || value.size() > kMaxPassThroughValueLength) return false;
  if (value.front() == ' ' || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7E; });
}

PassThroughNames MakePassThroughNames(std::span<const std::string> names) {
  PassThroughNames out;
  for (const std::string& raw : names) {
    std::string name = Lowercase(raw);
    if (!IsValidPassThroughName(name)) {
      throw std::invalid_argument("ctx: not a valid pass-through header: \"" +
                                  LogSafe(raw) + "\"");
    }
    if (std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(std::move(name));
  }
  return out;
}

PassThroughNames MakePassThroughNames(
    std::initializer_list<std::string> names) {
  return MakePassThroughNames(
      std::span<const std::string>(names.begin(), names.size()));
}

bool AcceptPassThrough(std::string_view name,
                       std::span<const std::string_view> values,
                       PassThroughHeaders& out) {
  if (values.size() != 1 || !IsValidPassThroughValue(values[0])) return false;
  out.push_back({std::string(name), std::string(values[0])});
  return true;
}

}  // namespace ctx
