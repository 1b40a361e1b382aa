// SPDX-License-Identifier: Apache-2.0
// Fuzzes session ids: X-Session-Id, and the session cookie found by
// ctx::http::FindCookie in a Cookie header built from the input.

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
  ctx::http::HeaderPolicy policy;
  policy.session_cookie = "sid";

  ctx::http::RequestHeaders from_header = ctx::http::ReadRequestHeaders(
      {{"X-Session-Id", std::string(input)}}, policy);
  CTX_FUZZ_CHECK(from_header.ok());
  CTX_FUZZ_CHECK(from_header.session_id.has_value() ==
                 ctx::IsValidSessionId(input));
  if (from_header.session_id) CTX_FUZZ_CHECK(*from_header.session_id == input);

  // The input as a whole Cookie header.
  const httplib::Headers cookie{{"Cookie", std::string(input)}};
  std::optional<std::string_view> found = ctx::http::FindCookie(cookie, "sid");
  if (found) {
    // A found value is a slice of the header, without surrounding spaces.
    const std::string& header = cookie.begin()->second;
    CTX_FUZZ_CHECK(found->data() >= header.data() &&
                   found->data() + found->size() <=
                       header.data() + header.size());
    // Unquoted values come without surrounding spaces (inside quotes they
    // are kept, and IsValidSessionId then rejects them).
    const bool quoted =
        found->data() > header.data() && found->data()[-1] == '"';
    CTX_FUZZ_CHECK(quoted || found->empty() ||
                   (found->front() != ' ' && found->back() != ' '));
  }
  ctx::http::RequestHeaders from_cookie =
      ctx::http::ReadRequestHeaders(cookie, policy);
  CTX_FUZZ_CHECK(from_cookie.ok());
  if (from_cookie.session_id) {
    CTX_FUZZ_CHECK(ctx::IsValidSessionId(*from_cookie.session_id));
    CTX_FUZZ_CHECK(found && *found == *from_cookie.session_id);
  }
  return 0;
}
