// SPDX-License-Identifier: Apache-2.0
// http/src/redirect.h: how ctx::http::Client follows a redirect: where to, and
// the request it sends there. Internal.
//
// Followed (with httplib_client().set_follow_location(true)): 301, 302, 303,
// 307 and 308 with a Location. 303, and 301 or 302 after a method other than
// GET or HEAD, continue with a GET without a body (as browsers and Go do);
// 307 and 308 repeat the method and body. A Location may be absolute
// (http only), scheme-relative (//host/path) or relative to the request's
// path (RFC 3986 section 5.2, dot segments removed); its fragment is
// dropped. A hop to another host or port sends no credentials: the
// Authorization, Cookie and WWW-Authenticate headers are dropped from then on
// (as Go does), and that host's client gets none of the auth settings. A Host
// the caller set is dropped then too: httplib sends the new host's.

#ifndef CTX_HTTP_SRC_REDIRECT_H_
#define CTX_HTTP_SRC_REDIRECT_H_

#include <httplib.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "ctx/errors.h"

namespace ctx::http::internal {

// kMaxRedirects is how many redirects one call follows (httplib's count).
inline constexpr size_t kMaxRedirects = CPPHTTPLIB_REDIRECT_MAX_COUNT;

// Origin is where a request goes: host (as in a URL, an IPv6 address without
// brackets) and port.
struct Origin {
  std::string host;
  int port = 80;
};

// IsFollowedRedirect says whether a response with `status` is followed.
[[nodiscard]] bool IsFollowedRedirect(int status) noexcept;

// SameOrigin compares hosts without regard to case, and ports.
[[nodiscard]] bool SameOrigin(const Origin& a, const Origin& b) noexcept;

// ResolveRedirect sets `next` and `next_path` to where `location` points,
// seen from a request for `from_path` at `from`. Returns an error, and
// changes nothing, when the Location cannot be followed:
// std::errc::protocol_not_supported for a scheme other than http (the client
// speaks plain HTTP only), else std::errc::invalid_argument (a control byte
// or space, userinfo, no host or a host that is not a name or an address, a
// bad port).
[[nodiscard]] Error ResolveRedirect(const Origin& from,
                                    std::string_view from_path,
                                    std::string_view location, Origin& next,
                                    std::string& next_path);

// RedirectRequest turns `req` (as the caller made it, before httplib added
// its own headers) into the request for the redirect's target `path`:
// `status` decides the method and body; `other_origin` drops the
// credentials.
void RedirectRequest(httplib::Request& req, int status, std::string path,
                     bool other_origin);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_REDIRECT_H_
