// SPDX-License-Identifier: Apache-2.0
// Fuzzes ctx::ParseRequestTimeout (X-Request-Timeout, milliseconds) and the
// header as the HTTP bridge reads it, alone and next to a grpc-timeout.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ctx/http/request_headers.h"
#include "ctx/propagation.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ctx::ParseResult<std::chrono::milliseconds> r =
      ctx::ParseRequestTimeout(input);
  CTX_FUZZ_CHECK(r.ok() == r.error.empty());
  if (r.ok()) {
    CTX_FUZZ_CHECK(*r.value >= std::chrono::milliseconds::zero());
    for (char c : input) CTX_FUZZ_CHECK(c >= '0' && c <= '9');
    // FormatRequestTimeout takes nanoseconds: round-trip only what converts
    // without overflow (milliseconds beyond ~292 years do not).
    constexpr auto kMaxMs =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::nanoseconds::max());
    if (*r.value < kMaxMs) {
      const std::string formatted = ctx::FormatRequestTimeout(*r.value);
      ctx::ParseResult<std::chrono::milliseconds> again =
          ctx::ParseRequestTimeout(formatted);
      CTX_FUZZ_CHECK(again.ok() && *again.value == *r.value);
    }
  }

  ctx::http::RequestHeaders alone = ctx::http::ReadRequestHeaders(
      {{"X-Request-Timeout", std::string(input)}}, {});
  CTX_FUZZ_CHECK(alone.ok() == r.ok());
  if (alone.ok()) {
    CTX_FUZZ_CHECK(alone.timeout.has_value());
    CTX_FUZZ_CHECK(*alone.timeout >= std::chrono::nanoseconds::zero());
  }

  // With a grpc-timeout of 1 s too, an accepted budget is never above it.
  ctx::http::RequestHeaders both = ctx::http::ReadRequestHeaders(
      {{"X-Request-Timeout", std::string(input)}, {"grpc-timeout", "1S"}}, {});
  CTX_FUZZ_CHECK(both.ok() == r.ok());
  if (both.ok()) CTX_FUZZ_CHECK(*both.timeout <= std::chrono::seconds(1));
  return 0;
}
