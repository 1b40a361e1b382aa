// SPDX-License-Identifier: Apache-2.0
// ctx/grpc/status.h: how a context's end becomes a grpc::Status, in one place.
//
//   ctx::Context c = ctx::grpc::CallContext(sc);
//   if (c.Err()) return ctx::grpc::StatusFromContext(c);
//
// The mapping (ctx::Errc documents the same names for RPC boundaries):
//
//   context state             | grpc::StatusCode  | HTTP bridge
//   --------------------------+-------------------+-------------------------
//   live (Err() is empty)     | OK                | -
//   Errc::kCanceled           | CANCELLED         | 499 client closed request
//   Errc::kDeadlineExceeded   | DEADLINE_EXCEEDED | 504
//   other error code (Error)  | UNKNOWN           | 500
//
// std::errc::operation_canceled and std::errc::timed_out (the portable
// conditions of the two ctx codes) map like the ctx codes. The status message
// is the error's message, prefixed with the code's meaning when the cause says
// something else ("context canceled: client went away"); it never contains
// client metadata, because the bridge never puts any into a cause.
//
// Main names: StatusFromContext, StatusFromError.

#ifndef CTX_GRPC_STATUS_H_
#define CTX_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "ctx/context.h"
#include "ctx/errors.h"
#include "ctx/export.h"

namespace ctx::grpc {

// StatusFromContext returns OK while c is live; once it is done, the code its
// Err() maps to (table above) with Cause(c)'s message. Thread-safe; does not
// block.
[[nodiscard]] CTX_EXPORT ::grpc::Status StatusFromContext(const Context& c);

// StatusFromError maps one error (an Err() or a Cause()) by the table above; a
// default Error gives OK.
[[nodiscard]] CTX_EXPORT ::grpc::Status StatusFromError(const Error& error);

}  // namespace ctx::grpc

#endif  // CTX_GRPC_STATUS_H_
