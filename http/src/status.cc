// SPDX-License-Identifier: Apache-2.0
// Outcome-to-status mapping and the transport error category. See
// ctx/http/status.h for the table.

#include "ctx/http/status.h"

#include <string>

namespace ctx::http {
namespace {

class TransportErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ctx.http.transport"; }
  std::string message(int value) const override {
    return httplib::to_string(static_cast<httplib::Error>(value));
  }
};

}  // namespace

Error ClientDisconnected() {
  return Error(std::make_error_code(std::errc::connection_aborted),
               "client disconnected");
}

Error ServerStopping() {
  return Error(std::make_error_code(std::errc::operation_canceled),
               "server stopping");
}

int StatusForDoneContext(const Context& c) {
  const std::error_code err = c.Err();
  if (!err) return 200;
  if (err == Errc::kDeadlineExceeded) return kStatusGatewayTimeout;
  if (Cause(c).code() == std::errc::connection_aborted) {
    return kStatusClientClosedRequest;
  }
  return kStatusServiceUnavailable;
}

const std::error_category& TransportCategory() noexcept {
  static const TransportErrorCategory category;
  return category;
}

std::error_code TransportError(httplib::Error e) noexcept {
  return {static_cast<int>(e), TransportCategory()};
}

}  // namespace ctx::http
