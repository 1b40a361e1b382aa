// SPDX-License-Identifier: Apache-2.0
// http/src/redirect.h: how ctx::http::Client follows a redirect: where to, and
// the request it sends there. Internal.
//
// Followed (with httplib_client().set_follow_location(true)): 301, 302, 303,
// 307 and 308 with a Location; a followed response's body is dropped, and the
// request's response handler, content receiver and progress callback never
// see it. After a 303, 301 or 302 the request goes on without a body, and a
// method other than GET or HEAD becomes GET (as browsers and Go do); 307 and
// 308 repeat the method and body, except a body from a content provider,
// which cannot be replayed: that 307 or 308 is the call's response. A Location
// may be absolute (http only), scheme-relative (//host/path) or relative to the
// request's path (RFC 3986 section 5.2, dot segments removed); its fragment
// is dropped. A hop to another host or port sends no credentials: the
// Authorization, Cookie, Cookie2, WWW-Authenticate, Proxy-Authenticate and
// (without a proxy) Proxy-Authorization headers are dropped from then on,
// from the request and the default headers (as Go does), that host's client
// gets none of the auth settings, and a Host the caller set is dropped too
// (httplib sends the new host's).

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

// WillFollow says whether `res`, the answer to `req`, is followed when
// following is on: a followed status with a Location, and a request whose
// body can be sent again.
[[nodiscard]] bool WillFollow(const httplib::Request& req,
                              const httplib::Response& res);

// DropCredentials removes, from `headers`, what must not reach another
// origin (see the file comment); `via_proxy` keeps Proxy-Authorization.
void DropCredentials(httplib::Headers& headers, bool via_proxy);

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
// credentials (DropCredentials) and a Host.
void RedirectRequest(httplib::Request& req, int status, std::string path,
                     bool other_origin, bool via_proxy);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_REDIRECT_H_
