// SPDX-License-Identifier: Apache-2.0
// grpc/src/call_values.h: the node that holds a server call's values.
// Internal.

#ifndef CTX_GRPC_SRC_CALL_VALUES_H_
#define CTX_GRPC_SRC_CALL_VALUES_H_

#include <grpcpp/server_context.h>

#include "ctx/context.h"
#include "ctx/grpc/server_interceptor.h"
#include "ctx/propagation.h"
#include "incoming_metadata.h"

namespace ctx::grpc::internal {

// CallValuesSource is what a call's values are read from: its client's
// `metadata` (scanned into `scanned`), the server's normalized `options`, and
// the call (`sc`, `method`, `registered`: see CallInfoMaker::Make).
struct CallValuesSource {
  const ScannedMetadata& scanned;
  const Metadata& metadata;
  const ServerOptions& options;
  ::grpc::ServerContextBase* sc;
  const char* method;
  bool registered;
};

// WithCallValues returns a child of `parent` holding what the call's context
// holds besides its deadline: the request id (kRequestIdKey, always), the
// session id (kSessionIdKey), the trace context (kTraceContextKey) and the
// pass-through headers (kPassThroughKey), each where present, and the call's
// CallInfo (kCallInfoKey). They are read from `source` straight into one node
// (one allocation, no value moved). *request_id is set to the id and its
// source, which live as long as the node. As ctx::internal::WithValues, it
// takes `parent` by value and consumes it even when building throws.
Context WithCallValues(Context parent, const CallValuesSource& source,
                       const AcceptedId** request_id);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALL_VALUES_H_
