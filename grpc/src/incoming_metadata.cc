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

ScannedMetadata ScanMetadata(const Metadata& metadata,
                             std::string_view request_id_key,
                             std::string_view session_key) {
  // One pass over the (few) entries instead of a tree lookup per key: each
  // entry costs a length comparison per key, and a memcmp where one matches.
  ScannedMetadata out;
  for (const auto& [k, v] : metadata) {
    const std::string_view key = View(k);
    const std::string_view value = View(v);
    if (key == request_id_key) out.request_id.Add(value);
    if (key == session_key) out.session.Add(value);
    if (key == kTraceparentHeader) out.traceparent.push_back(value);
    if (key == kTracestateHeader) out.tracestate.push_back(value);
    if (key == kBaggageHeader) out.baggage.push_back(value);
    if (key == kEnvoyTimeoutHeader) out.envoy_timeout.Add(value);
  }
  return out;
}

IncomingIds ReadIncomingIds(const ScannedMetadata& scanned) {
  IncomingIds ids;
  if (scanned.request_id.count > 1) {
    ids.request_id = {NewRequestId(),
                      IdSource::kReplaced};  // repeated: ambiguous
  } else {
    ids.request_id = AcceptRequestId(scanned.request_id.Single());
  }
  std::optional<std::string_view> sid = scanned.session.Single();
  if (sid && IsValidSessionId(*sid)) ids.session_id.emplace(*sid);
  return ids;
}

AcceptedTrace ReadIncomingTrace(const ScannedMetadata& scanned,
                                const TracePolicy& policy) {
  return AcceptTraceContext({.traceparent = scanned.traceparent,
                             .tracestate = scanned.tracestate,
                             .baggage = scanned.baggage},
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
    const ScannedMetadata& scanned) {
  std::optional<std::string_view> value = scanned.envoy_timeout.Single();
  if (!value) return std::nullopt;
  ParseResult<std::chrono::milliseconds> ms = ParseRequestTimeout(*value);
  if (!ms) return std::nullopt;
  constexpr auto kMaxMs = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::nanoseconds::max());
  return *ms.value >= kMaxMs ? std::chrono::nanoseconds::max()
                             : std::chrono::nanoseconds(*ms.value);
}

}  // namespace ctx::grpc::internal
