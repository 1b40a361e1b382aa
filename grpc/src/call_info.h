// SPDX-License-Identifier: Apache-2.0
// grpc/src/call_info.h: how the bridge makes a call's CallInfo
// (ctx/grpc/call_context.h). Internal.

#ifndef CTX_GRPC_SRC_CALL_INFO_H_
#define CTX_GRPC_SRC_CALL_INFO_H_

#include <grpcpp/server_context.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "ctx/grpc/call_context.h"
#include "ctx/propagation.h"

namespace ctx::grpc::internal {

struct CallInfoMaker {
  // Make describes the call `sc` (its peer, read from gRPC now) for `method`
  // (null: unknown, an empty name). A `registered` method's name is kept once
  // per process and shared by its calls; any other name (a generic service's,
  // which the client chooses) is copied into the CallInfo.
  static CallInfo Make(::grpc::ServerContextBase* sc, const char* method,
                       bool registered, IdSource request_id_source);

  // SharedMethodName returns the process's one copy of `name`, making it on
  // first use; null once kMaxSharedNames names are kept (the caller copies
  // then). Thread-safe.
  static const std::string* SharedMethodName(std::string_view name);
  static constexpr std::size_t kMaxSharedNames = 4096;
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALL_INFO_H_
