// SPDX-License-Identifier: Apache-2.0
// Fuzzes ctx::ParseGrpcTimeout and its round trip through FormatGrpcTimeout,
// and the grpc-timeout header as the HTTP bridge reads it.

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
  ctx::ParseResult<std::chrono::nanoseconds> r = ctx::ParseGrpcTimeout(input);
  CTX_FUZZ_CHECK(r.ok() == r.error.empty());
  if (r.ok()) {
    CTX_FUZZ_CHECK(*r.value >= std::chrono::nanoseconds::zero());
    CTX_FUZZ_CHECK(size >= 2 && size <= 9);
    // Formatting never shortens a budget, and what we format we accept.
    const std::string formatted = ctx::FormatGrpcTimeout(*r.value);
    ctx::ParseResult<std::chrono::nanoseconds> again =
        ctx::ParseGrpcTimeout(formatted);
    CTX_FUZZ_CHECK(again.ok());
    CTX_FUZZ_CHECK(*again.value >= *r.value);
  }

  ctx::http::HeaderPolicy policy;
  policy.max_timeout = std::chrono::seconds(30);
  ctx::http::RequestHeaders h = ctx::http::ReadRequestHeaders(
      {{"grpc-timeout", std::string(input)}}, policy);
  CTX_FUZZ_CHECK(h.ok() == r.ok());
  if (h.ok()) {
    CTX_FUZZ_CHECK(h.timeout.has_value());
    CTX_FUZZ_CHECK(*h.timeout >= std::chrono::nanoseconds::zero());
    CTX_FUZZ_CHECK(*h.timeout <= std::chrono::seconds(30));
  } else {
    CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(h.error));
  }
  return 0;
}
