// SPDX-License-Identifier: Apache-2.0
// The default request log hook: spdlog. See ctx/http/request_log.h.

#include "ctx/http/request_log.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ctx::http {

RequestLogger DefaultRequestLogger() {
  // Create spdlog's registry (a function-local static inside libspdlog) now,
  // on the thread that configures the server, rather than on the first
  // worker that logs: workers then start after it exists, which also keeps
  // ThreadSanitizer from misreading the uninstrumented library's one-time
  // initialization as a race.
  spdlog::default_logger_raw();
  return [](const RequestLogRecord& r) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed);
    if (r.trace_id.empty()) {
      spdlog::warn("http {} {} {} request_id={} elapsed_ms={} {}", r.status,
                   r.method, r.path, r.request_id, ms.count(), r.reason);
    } else {
      spdlog::warn(
          "http {} {} {} request_id={} trace={} span={} elapsed_ms={} {}",
          r.status, r.method, r.path, r.request_id, r.trace_id, r.span_id,
          ms.count(), r.reason);
    }
  };
}

}  // namespace ctx::http
