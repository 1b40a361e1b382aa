// SPDX-License-Identifier: Apache-2.0
// Fuzzes request-id validation and acceptance, the X-Request-Id header as the
// HTTP bridge reads it, and LogSafe (how a rejected id may appear in a log).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ctx/http/request_headers.h"
#include "ctx/propagation.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool valid = ctx::IsValidRequestId(input);
  if (valid) {
    CTX_FUZZ_CHECK(size >= 1 && size <= ctx::kMaxIdLength);
    CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(input));
  }

  ctx::AcceptedId accepted = ctx::AcceptRequestId(input);
  CTX_FUZZ_CHECK(ctx::IsValidRequestId(accepted.id));
  CTX_FUZZ_CHECK((accepted.source == ctx::IdSource::kIncoming) == valid);
  if (valid) CTX_FUZZ_CHECK(accepted.id == input);

  ctx::http::RequestHeaders h =
      ctx::http::ReadRequestHeaders({{"X-Request-Id", std::string(input)}}, {});
  CTX_FUZZ_CHECK(h.ok());  // an id never rejects a request
  CTX_FUZZ_CHECK(ctx::IsValidRequestId(h.request_id));
  CTX_FUZZ_CHECK((h.request_id == input) == valid);

  const std::string safe = ctx::LogSafe(input);
  CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(safe));
  CTX_FUZZ_CHECK(safe.size() <= 4 * ctx::kLogSafeDefaultMax + 32);
  for (unsigned char c : safe) CTX_FUZZ_CHECK(c < 0x80);
  return 0;
}
