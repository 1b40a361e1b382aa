// SPDX-License-Identifier: Apache-2.0
// examples/demo/bind_check.h: why a service could not listen.
//
// Neither gRPC's ServerBuilder nor httplib says why a bind failed. After
// theirs fails, a service calls BindError to say it in its log:
//
//   if (!server) spdlog::error("cannot listen on {}: {}", a, BindError(a));
//   // "cannot listen on 127.0.0.1:50051: address in use"

#ifndef CTX_EXAMPLES_DEMO_BIND_CHECK_H_
#define CTX_EXAMPLES_DEMO_BIND_CHECK_H_

#include <string>

#include "settings.h"

namespace demo {

// BindError binds a TCP socket (SO_REUSEADDR, as servers use, and no
// SO_REUSEPORT) to `address` and closes it again; it returns "address in use"
// when the port is taken, else the reason the bind failed, or "unknown
// reason" when it succeeded this time.
[[nodiscard]] std::string BindError(const HostPort& address);

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_BIND_CHECK_H_
