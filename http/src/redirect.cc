// SPDX-License-Identifier: Apache-2.0
// Following a redirect. See redirect.h.

#include "redirect.h"

#include <system_error>
#include <utility>
#include <vector>

#include "ctx/internal/http_syntax.h"

namespace ctx::http::internal {
namespace {

using ::ctx::internal::EqualsIgnoreCase;
using ::ctx::internal::HexDigit;
using ::ctx::internal::IsControl;
using ::ctx::internal::ParseDecimal;
using ::ctx::internal::TrimOws;

Error Invalid(std::string why) {
  return Error(std::errc::invalid_argument, "redirect: " + std::move(why));
}

bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// SchemeLength is the length of the scheme `ref` starts with (RFC 3986:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"), 0 when none.
size_t SchemeLength(std::string_view ref) {
  if (ref.empty() || !IsAlpha(ref[0])) return 0;
  for (size_t i = 1; i < ref.size(); ++i) {
    const char c = ref[i];
    if (c == ':') return i;
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') {
      return 0;
    }
  }
  return 0;
}

// IsHostName accepts a registered name or an IPv4 address (letters, digits,
// '-', '.', '_', '~').
bool IsHostName(std::string_view h) {
  if (h.empty()) return false;
  for (const char c : h) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '-' && c != '.' && c != '_' &&
        c != '~') {
      return false;
    }
  }
  return true;
}

bool IsIpv6Literal(std::string_view h) {
  if (h.empty()) return false;
  for (const char c : h) {
    if (HexDigit(c) < 0 && c != ':' && c != '.') return false;
  }
  return true;
}

// RemoveDotSegments resolves "." and ".." in `path` (which starts with '/'),
// as RFC 3986 section 5.2.4 does.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  for (size_t i = 1;;) {
    const size_t slash = path.find('/', i);
    const bool last = slash == std::string_view::npos;
    const std::string_view s = path.substr(i, last ? path.npos : slash - i);
    trailing_slash = false;
    if (s == ".") {
      trailing_slash = last;
    } else if (s == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = last;
    } else {
      segments.push_back(s);
    }
    if (last) break;
    i = slash + 1;
  }
  std::string out;
  for (const std::string_view s : segments) {
    out += '/';
    out += s;
  }
  if (trailing_slash || out.empty()) out += '/';
  return out;
}

// WithoutDotSegments removes the dot segments of a path that may carry a
// query (left as it is).
std::string WithoutDotSegments(std::string_view path_and_query) {
  const size_t q = path_and_query.find('?');
  std::string out = RemoveDotSegments(path_and_query.substr(0, q));
  if (q != std::string_view::npos) out += path_and_query.substr(q);
  return out;
}

// ParseAuthority reads `authority` (host, [IPv6] or host:port) into `o`.
Error ParseAuthority(std::string_view authority, Origin& o) {
  if (authority.find('@') != std::string_view::npos) {
    return Invalid("the Location holds userinfo");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Invalid("the Location's IPv6 host is not closed");
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return Invalid("the Location's host is followed by junk");
    }
    if (!after.empty()) port = after.substr(1);
    if (!IsIpv6Literal(host)) {
      return Invalid("the Location's IPv6 host is not an address");
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!IsHostName(host)) {
      return Invalid("the Location has no host, or one that is not a name");
    }
  }
  o.host = std::string(host);
  o.port = 80;
  if (!port.empty()) {
    uint64_t value = 0;
    if (port.size() > 5 || !ParseDecimal(port, value) || value == 0 ||
        value > 65535) {
      return Invalid("the Location's port is not a port");
    }
    o.port = static_cast<int>(value);
  }
  return Error();
}

}  // namespace

bool WillFollow(const httplib::Request& req, const httplib::Response& res) {
  const int s = res.status;
  if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) return false;
  if ((s == 307 || s == 308) && req.content_provider_) return false;
  return !res.get_header_value("Location").empty();
}

void DropCredentials(httplib::Headers& headers, bool via_proxy) {
  for (const char* name : {"Authorization", "Cookie", "Cookie2",
                           "WWW-Authenticate", "Proxy-Authenticate"}) {
    headers.erase(name);
  }
  if (!via_proxy) headers.erase("Proxy-Authorization");
}

bool SameOrigin(const Origin& a, const Origin& b) noexcept {
  return a.port == b.port && EqualsIgnoreCase(a.host, b.host);
}

Error ResolveRedirect(const Origin& from, std::string_view from_path,
                      std::string_view location, Origin& next,
                      std::string& next_path) {
  std::string_view ref = TrimOws(location);
  for (const char c : ref) {
    if (IsControl(c) || c == ' ') {
      return Invalid("the Location holds a space or a control character");
    }
  }
  ref = ref.substr(0, ref.find('#'));
  if (const size_t n = SchemeLength(ref); n != 0) {
    const std::string_view scheme = ref.substr(0, n);
    if (!EqualsIgnoreCase(scheme, "http")) {
      return Error(std::errc::protocol_not_supported,
                   "redirect: to a scheme other than http (the client speaks "
                   "plain HTTP only)");
    }
    ref.remove_prefix(n + 1);
    if (!ref.starts_with("//"))
      return Invalid("an http: Location without a host");
  }
  Origin origin = from;
  std::string path;
  if (ref.starts_with("//")) {
    ref.remove_prefix(2);
    const size_t end = ref.find_first_of("/?");
    if (Error e = ParseAuthority(ref.substr(0, end), origin)) return e;
    ref = end == std::string_view::npos ? std::string_view() : ref.substr(end);
    path = ref.starts_with('/') ? std::string(ref) : "/" + std::string(ref);
  } else {
    // Relative to the request's own path (without its query).
    const std::string_view base = from_path.substr(0, from_path.find('?'));
    if (ref.starts_with('/')) {
      path = std::string(ref);
    } else if (ref.empty()) {
      path = std::string(from_path);
    } else if (ref.starts_with('?')) {
      path = std::string(base) + std::string(ref);
    } else {
      const size_t slash = base.rfind('/');
      path = slash == std::string_view::npos
                 ? "/" + std::string(ref)
                 : std::string(base.substr(0, slash + 1)) + std::string(ref);
    }
    if (!path.starts_with('/')) path.insert(0, 1, '/');
  }
  next = std::move(origin);
  next_path = WithoutDotSegments(path);
  return Error();
}

void RedirectRequest(httplib::Request& req, int status, std::string path,
                     bool other_origin, bool via_proxy) {
  req.path = std::move(path);
  if (status == 301 || status == 302 || status == 303) {
    if (req.method != "GET" && req.method != "HEAD") req.method = "GET";
    req.body.clear();
    req.content_provider_ = nullptr;
    req.content_length_ = 0;
    req.is_chunked_content_provider_ = false;
    req.headers.erase("Content-Type");
  }
  if (other_origin) {
    DropCredentials(req.headers, via_proxy);
    req.headers.erase("Host");
  }
}

}  // namespace ctx::http::internal
