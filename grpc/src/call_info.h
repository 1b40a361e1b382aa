// SPDX-License-Identifier: Apache-2.0
// grpc/src/call_info.h: how the bridge makes a call's CallInfo
// (ctx/grpc/call_context.h). Internal.

#ifndef CTX_GRPC_SRC_CALL_INFO_H_
#define CTX_GRPC_SRC_CALL_INFO_H_

#include <grpcpp/server_context.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ctx/grpc/call_context.h"
#include "ctx/propagation.h"

namespace ctx::grpc::internal {

struct CallInfoMaker {
  // Make describes the call `sc` for `method` (null: unknown, an empty name).
  // A `registered` method's name is kept once per process and shared by its
  // calls; any other name (a generic service's, which the client chooses) is
  // copied into the CallInfo. The peer is read from `sc`'s call on first use:
  // EndCall must run on the result (or what it was moved into) before gRPC
  // may free that call.
  static CallInfo Make(::grpc::ServerContextBase* sc, const char* method,
                       bool registered, IdSource request_id_source);

  // EndCall ends `info`'s link to its call, which is still alive: when
  // `readable_later` (someone other than the caller can still reach `info`),
  // the peer is read now if it was not yet; otherwise it is never read (no one
  // can ask any more; the caller vouches for that, and no lock is taken).
  // With `readable_later`, thread-safe against peer() and copies of `info`.
  static void EndCall(const CallInfo& info, bool readable_later) noexcept;

  // PeerReads returns how many peers the process has read from gRPC (for
  // tests: a call whose CallInfo no one reads costs none).
  static std::uint64_t PeerReads() noexcept;

  // SharedMethodName returns the process's one copy of `name`, making it on
  // first use; null once kMaxSharedNames names are kept (the caller copies
  // then). Thread-safe.
  static const std::string* SharedMethodName(std::string_view name);
  static constexpr std::size_t kMaxSharedNames = 4096;
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALL_INFO_H_
