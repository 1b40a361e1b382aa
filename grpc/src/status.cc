// SPDX-License-Identifier: Apache-2.0
// Context errors to gRPC statuses, in one place. The table is in
// ctx/grpc/status.h.

#include "ctx/grpc/status.h"

#include <string>

namespace ctx::grpc {
namespace {

::grpc::StatusCode CodeOf(const std::error_code& code) {
  if (!code) return ::grpc::StatusCode::OK;
  if (code == Errc::kCanceled || code == std::errc::operation_canceled) {
    return ::grpc::StatusCode::CANCELLED;
  }
  if (code == Errc::kDeadlineExceeded || code == std::errc::timed_out) {
    return ::grpc::StatusCode::DEADLINE_EXCEEDED;
  }
  return ::grpc::StatusCode::UNKNOWN;
}

}  // namespace

::grpc::Status StatusFromError(const Error& error) {
  const ::grpc::StatusCode code = CodeOf(error.code());
  if (code == ::grpc::StatusCode::OK) return ::grpc::Status::OK;
  return ::grpc::Status(code, error.message());
}

::grpc::Status StatusFromContext(const Context& c) {
  const std::error_code err = c.Err();
  const ::grpc::StatusCode code = CodeOf(err);
  if (code == ::grpc::StatusCode::OK) return ::grpc::Status::OK;
  std::string message = err.message();
  const std::string cause = Cause(c).message();
  if (!cause.empty() && cause != message) message += ": " + cause;
  return ::grpc::Status(code, message);
}

}  // namespace ctx::grpc
