// SPDX-License-Identifier: Apache-2.0
// grpc/src/incoming_metadata.h: reading the request id and session id from
// untrusted client metadata. Internal.

#ifndef CTX_GRPC_SRC_INCOMING_METADATA_H_
#define CTX_GRPC_SRC_INCOMING_METADATA_H_

#include <grpcpp/support/string_ref.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

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

// ReadIncomingIds reads `request_id_key` and `session_key` from `metadata`
// (keys compare exactly; gRPC lowercases them). Rules, request id / session:
//   no value:            generated (kGenerated) / none
//   exactly one value:   kept if valid, else replaced (kReplaced) / dropped
//   two or more values:  ambiguous, treated as invalid
// Values are never copied unless valid. Never throws on content, never asserts.
IncomingIds ReadIncomingIds(const Metadata& metadata,
                            std::string_view request_id_key,
                            std::string_view session_key);

// ReadIncomingTrace reads the traceparent, tracestate and baggage metadata
// (every value of each) and applies ctx::AcceptTraceContext with `policy`.
AcceptedTrace ReadIncomingTrace(const Metadata& metadata,
                                const TracePolicy& policy);

// ReadPassThrough returns the headers of `names` (from MakePassThroughNames)
// that arrived once each with a valid value (ctx::AcceptPassThrough).
PassThroughHeaders ReadPassThrough(const Metadata& metadata,
                                   const PassThroughNames& names);

// ReadEnvoyTimeout returns the budget in ctx::kEnvoyTimeoutHeader when it
// appears exactly once with a valid value (ctx::ParseRequestTimeout; huge
// values saturate), else nullopt: the bridge never rejects a call, so a bad
// value is ignored.
std::optional<std::chrono::nanoseconds> ReadEnvoyTimeout(
    const Metadata& metadata);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_INCOMING_METADATA_H_
