// SPDX-License-Identifier: Apache-2.0
// http/src/reason_phrase.h: the reason phrases of the statuses the server
// answers itself, before httplib sees a request. Internal.

#ifndef CTX_HTTP_SRC_REASON_PHRASE_H_
#define CTX_HTTP_SRC_REASON_PHRASE_H_

#include <string_view>

namespace ctx::http::internal {

// ReasonPhrase returns the standard phrase of the statuses the server
// produces itself ("Bad Request", ...), or "Error".
[[nodiscard]] std::string_view ReasonPhrase(int status) noexcept;

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_REASON_PHRASE_H_
