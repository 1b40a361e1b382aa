// SPDX-License-Identifier: Apache-2.0
// Printing a RequestInfo. See ctx/http/request_info.h.

#include "ctx/http/request_info.h"

#include "ctx/propagation.h"

namespace ctx::http {

std::ostream& operator<<(std::ostream& os, const RequestInfo& info) {
  os << LogSafe(info.method) << ' ' << LogSafe(info.path);
  if (!info.remote_addr.empty()) {
    os << " from " << LogSafe(info.remote_addr) << ':' << info.remote_port;
  }
  return os;
}

}  // namespace ctx::http
