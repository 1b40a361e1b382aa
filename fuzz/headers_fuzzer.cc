// SPDX-License-Identifier: Apache-2.0
// Fuzzes whole header sets as the HTTP bridge reads them: the input is split
// into lines, each line into name and value at the first ':', so repeated,
// conflicting and odd headers all occur.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ctx/http/request_headers.h"
#include "ctx/propagation.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  httplib::Headers headers;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest =
        nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace(std::string(line.substr(0, colon)),
                    std::string(line.substr(colon + 1)));
  }

  ctx::http::HeaderPolicy policy;
  policy.default_timeout = std::chrono::seconds(5);
  policy.max_timeout = std::chrono::seconds(60);
  policy.session_cookie = "sid";
  ctx::http::RequestHeaders h = ctx::http::ReadRequestHeaders(headers, policy);

  CTX_FUZZ_CHECK(ctx::IsValidRequestId(h.request_id));
  CTX_FUZZ_CHECK(h.ok() == h.rejected_header.empty());
  if (h.ok()) {
    CTX_FUZZ_CHECK(h.timeout.has_value());  // default or capped
    CTX_FUZZ_CHECK(*h.timeout >= std::chrono::nanoseconds::zero());
    CTX_FUZZ_CHECK(*h.timeout <= std::chrono::seconds(60));
  } else {
    CTX_FUZZ_CHECK(h.rejected_header == ctx::kRequestTimeoutHeader ||
                   h.rejected_header == ctx::kGrpcTimeoutHeader);
    CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(h.error));
  }
  if (h.session_id) CTX_FUZZ_CHECK(ctx::IsValidSessionId(*h.session_id));
  return 0;
}
