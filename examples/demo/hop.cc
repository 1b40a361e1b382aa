// SPDX-License-Identifier: Apache-2.0
#include "hop.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "ctx/clock.h"
#include "ctx/propagation.h"

namespace demo {

int64_t LeftMs(const ctx::Context& c) {
  const std::optional<ctx::Clock::duration> left = ctx::Remaining(c);
  if (!left) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*left).count();
}

int64_t MillisecondsSince(ctx::TimePoint start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             ctx::Clock::now() - start)
      .count();
}

ctxdemo::Hop MakeHop(const ctx::Context& c, const std::string& service) {
  ctxdemo::Hop hop;
  hop.set_service(service);
  if (const std::string* id = c.Value(ctx::kRequestIdKey)) {
    hop.set_request_id(*id);
  }
  // In the field's range: -1 (no deadline), else 0 (already spent) to
  // INT32_MAX.
  const std::optional<ctx::Clock::duration> left = ctx::Remaining(c);
  hop.set_left_ms(
      left ? static_cast<int32_t>(std::clamp<int64_t>(
                 std::chrono::duration_cast<std::chrono::milliseconds>(*left)
                     .count(),
                 0, INT32_MAX))
           : -1);
  return hop;
}

}  // namespace demo
