// SPDX-License-Identifier: Apache-2.0
// grpc/src/incoming_metadata.h: reading the request id and session id from
// untrusted client metadata. Internal.

#ifndef CTX_GRPC_SRC_INCOMING_METADATA_H_
#define CTX_GRPC_SRC_INCOMING_METADATA_H_

#include <grpcpp/support/string_ref.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"

namespace ctx::grpc::internal {

using Metadata = std::multimap<::grpc::string_ref, ::grpc::string_ref>;

// IncomingIds is what a call's client metadata says about its identity, after
// validation.
struct IncomingIds {
  // request_id: always a valid id (the client's, or a generated one; see
  // AcceptRequestId).
  AcceptedId request_id;
  // session_id: the client's session id when it sent exactly one valid value,
  // else nullopt.
  std::optional<std::string> session_id;
};

// SeenKey is what one single-valued key carried: how many values, and the
// first.
struct SeenKey {
  std::size_t count = 0;
  std::string_view first;

  void Add(std::string_view value) noexcept {
    if (count++ == 0) first = value;
  }
  // Single returns the value when there was exactly one.
  [[nodiscard]] std::optional<std::string_view> Single() const noexcept {
    return count == 1 ? std::optional<std::string_view>(first) : std::nullopt;
  }
};

// ScannedMetadata holds the values of the keys a call's context is built from
// (views into the metadata, which must outlive it), each in arrival order.
struct ScannedMetadata {
  SeenKey request_id;
  SeenKey session;
  SeenKey envoy_timeout;
  std::vector<std::string_view> traceparent;
  std::vector<std::string_view> tracestate;
  std::vector<std::string_view> baggage;
};

// ScanMetadata picks those values out of `metadata` in one pass, keys
// compared exactly (gRPC lowercases them): `request_id_key`, `session_key`,
// the trace headers and ctx::kEnvoyTimeoutHeader. A key may be several of
// these; it then counts for each. Allocates only for trace headers present.
ScannedMetadata ScanMetadata(const Metadata& metadata,
                             std::string_view request_id_key,
                             std::string_view session_key);

// ReadIncomingIds reads the request id and session id that `scanned` holds.
// Rules, request id / session:
//   no value:            generated (kGenerated) / none
//   exactly one value:   kept if valid, else replaced (kReplaced) / dropped
//   two or more values:  ambiguous, treated as invalid
// Values are never copied unless valid. Never throws on content, never asserts.
IncomingIds ReadIncomingIds(const ScannedMetadata& scanned);

// ReadIncomingTrace applies ctx::AcceptTraceContext with `policy` to every
// traceparent, tracestate and baggage value in `scanned`.
AcceptedTrace ReadIncomingTrace(const ScannedMetadata& scanned,
                                const TracePolicy& policy);

// ReadPassThrough returns the headers of `names` (from MakePassThroughNames)
// that arrived once each with a valid value (ctx::AcceptPassThrough).
PassThroughHeaders ReadPassThrough(const Metadata& metadata,
                                   const PassThroughNames& names);

// ReadEnvoyTimeout returns the budget in ctx::kEnvoyTimeoutHeader when
// `scanned` holds exactly one valid value (ctx::ParseRequestTimeout; huge
// values saturate), else nullopt: the bridge never rejects a call, so a bad
// value is ignored.
std::optional<std::chrono::nanoseconds> ReadEnvoyTimeout(
    const ScannedMetadata& scanned);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_INCOMING_METADATA_H_
