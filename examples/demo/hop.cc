#include "hop.h"

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
  hop.set_left_ms(LeftMs(c));
  return hop;
}

}  // namespace demo
