// SPDX-License-Identifier: Apache-2.0
// examples/demo/service_log.h: how each demo service sets up spdlog.
//
// One line per event on stdout, flushed at once (so `docker logs`, a pipe or a
// file sees it immediately), in one format all three services share:
//
//   12:00:00.123456 inventory info    [req=4bf9... left=245ms] reserve east ...
//
// The bracketed prefix comes from ctx::log (ctx/log/log.h); lines written
// outside a request (startup, shutdown) have none.

#ifndef CTX_EXAMPLES_DEMO_SERVICE_LOG_H_
#define CTX_EXAMPLES_DEMO_SERVICE_LOG_H_

#include <string>

namespace demo {

// SetUpLogging makes a stdout logger named `service` spdlog's default logger,
// with the format above. Call it first in main, before other threads start.
void SetUpLogging(const std::string& service);

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_SERVICE_LOG_H_
