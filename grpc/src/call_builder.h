// SPDX-License-Identifier: Apache-2.0
// grpc/src/call_builder.h: building one server call's context from its client
// metadata and deadline, shared by the interceptor and the context allocator.
// Internal.
#ifndef CTX_GRPC_SRC_CALL_BUILDER_H_
#define CTX_GRPC_SRC_CALL_BUILDER_H_

#include <grpcpp/server_context.h>

#include <optional>

#include "ctx/context.h"
#include "ctx/grpc/server_interceptor.h"
#include "incoming_metadata.h"

namespace ctx::grpc::internal {

// NormalizeOptions lowercases the metadata keys of `options` (gRPC's keys are
// lowercase), and throws std::invalid_argument when one cannot carry an id
// (see ServerOptions::request_id_key).
ServerOptions NormalizeOptions(ServerOptions options);

// BuiltCall is a new call's context and the means to end it.
struct BuiltCall {
  Context context;
  // end_call cancels the call's one cancelable node (the deadline's node when
  // there is a deadline), an ancestor of `context`.
  CancelCauseFunc end_call;
  std::optional<TimePoint> deadline;
  // deadline_slack: CallState::DeadlineSlack of the budget the call arrived
  // with (zero without a deadline), for CallState::End.
  Clock::duration deadline_slack = Clock::duration::zero();
  // below_minimum: the budget was below ServerOptions::min_timeout; the
  // context is born with kDeadlineExceeded.
  bool below_minimum = false;
};

// EarlyEnd is an end of the call (cancel, close) that came before its context
// was built: its cause, and when it came.
struct EarlyEnd {
  const Error* cause;
  TimePoint at;
};

// BuildCall builds the context of the call `sc` (see server_interceptor.h for
// its shape) from `metadata` (the client's) and the call's deadline, with
// normalized `options`, as of `arrived` (when the call reached the server: the
// relative timeouts of `options` and min_timeout count from then; `now`, the
// clock read for this build, is not earlier: a deadline due by `now` is born
// done), and echoes
// the request id on `sc` when the options say so and `echo` is true. `method`
// may be null (unknown); it names a registered method unless `generic` (see
// CallInfoMaker). Call it where the client metadata is readable and before the
// initial metadata is sent. The context's CallInfo reads its peer from `sc`'s
// call on first use: the CallState made from the result must be destroyed
// while gRPC still holds that call (its destructor ends the link).
//
// With `early` (the call already ended), the context is judged as of
// early->at, as CallState::End would have judged it then: it is born done with
// early->cause (kCanceled), unless the deadline was due by then (within the
// CallState::DeadlineSlack of the budget at arrival), in which case the
// deadline's timer ends it (at once if it has passed).
BuiltCall BuildCall(const ServerOptions& options, ::grpc::ServerContextBase* sc,
                    const Metadata& metadata, const char* method, bool generic,
                    bool echo, TimePoint arrived, TimePoint now,
                    const EarlyEnd* early = nullptr);

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALL_BUILDER_H_
