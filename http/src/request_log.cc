// The default request log hook: spdlog. See ctx/http/request_log.h.

#include "ctx/http/request_log.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace ctx::http {

RequestLogger DefaultRequestLogger() {
  return [](const RequestLogRecord& r) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed);
    spdlog::warn("http {} {} {} request_id={} elapsed_ms={} {}", r.status,
                 r.method, r.path, r.request_id, ms.count(), r.reason);
  };
}

}  // namespace ctx::http
