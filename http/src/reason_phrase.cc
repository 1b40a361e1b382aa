// SPDX-License-Identifier: Apache-2.0
// The server's own reason phrases. See reason_phrase.h.

#include "reason_phrase.h"

namespace ctx::http::internal {

std::string_view ReasonPhrase(int status) noexcept {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

}  // namespace ctx::http::internal
