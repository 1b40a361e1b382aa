// SPDX-License-Identifier: Apache-2.0
// Reading ids from client metadata. See incoming_metadata.h.

#include "incoming_metadata.h"

#include <vector>

#include "ctx/proxy_headers.h"

namespace ctx::grpc::internal {
namespace {

std::string_view View(const ::grpc::string_ref& s) {
  return {s.data(), s.size()};
}

// SingleValue returns the value of `key` when it appears exactly once.
// `present` is set when it appears at all, so that an ambiguous (repeated) key
// counts as sent-but-invalid.
std::optional<std::string_view> SingleValue(const Metadata& metadata,
                                            std::string_view key,
                                            bool* present) {
  const ::grpc::string_ref k(key.data(), key.size());
  auto [first, last] = metadata.equal_range(k);
  *present = first != last;
  if (first == last || std::next(first) != last) return std::nullopt;
  return View(first->second);
}

// AllValues returns every value of `key`, in arrival order (no allocation
// when there is none).
std::vector<std::string_view> AllValues(const Metadata& metadata,
                                        std::string_view key) {
  std::vector<std::string_view> values;
  auto [first, last] =
      metadata.equal_range(::grpc::string_ref(key.data(), key.size()));
  for (auto it = first; it != last; ++it) values.push_back(View(it->second));
  return values;
}

}  // namespace

IncomingIds ReadIncomingIds(const Metadata& metadata,
                            std::string_view request_id_key,
                            std::string_view session_key) {
  IncomingIds ids;
  bool present = false;
  std::optional<std::string_view> rid =
      SingleValue(metadata, request_id_key, &present);
  if (present && !rid) {
    ids.request_id = {NewRequestId(),
                      IdSource::kReplaced};  // repeated: ambiguous
  } else {
    ids.request_id = AcceptRequestId(rid);
  }
  std::optional<std::string_view> sid =
      SingleValue(metadata, session_key, &present);
  if (sid && IsValidSessionId(*sid)) ids.session_id.emplace(*sid);
  return ids;
}

AcceptedTrace ReadIncomingTrace(const Metadata& metadata,
                                const TracePolicy& policy) {
  const std::vector<std::string_view> traceparent =
      AllValues(metadata, kTraceparentHeader);
  const std::vector<std::string_view> tracestate =
      AllValues(metadata, kTracestateHeader);
  const std::vector<std::string_view> baggage =
      AllValues(metadata, kBaggageHeader);
  return AcceptTraceContext({.traceparent = traceparent,
                             .tracestate = tracestate,
                             .baggage = baggage},
                            policy);
}

PassThroughHeaders ReadPassThrough(const Metadata& metadata,
                                   const PassThroughNames& names) {
  PassThroughHeaders out;
  for (const std::string& name : names) {
    if (!IsValidPassThroughName(name)) continue;  // set without the maker
    const std::vector<std::string_view> values = AllValues(metadata, name);
    AcceptPassThrough(name, values, out);
  }
  return out;
}

std::optional<std::chrono::nanoseconds> ReadEnvoyTimeout(
    const Metadata& metadata) {
  bool present = false;
  std::optional<std::string_view> value =
      SingleValue(metadata, kEnvoyTimeoutHeader, &present);
  if (!value) return std::nullopt;
  ParseResult<std::chrono::milliseconds> ms = ParseRequestTimeout(*value);
  if (!ms) return std::nullopt;
  constexpr auto kMaxMs = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds::max());
  return *ms.value >= kMaxMs ? std::chrono::nanoseconds::max()
                             : std::chrono::nanoseconds(*ms.value);
}

}  // namespace ctx::grpc::internal
