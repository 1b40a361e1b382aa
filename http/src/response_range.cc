// SPDX-License-Identifier: Apache-2.0
// Serving a request's byte range. See response_range.h.

#include "response_range.h"

#include <limits>
#include <string>

namespace ctx::http::internal {
namespace {

// IfRangeHolds says whether `req`'s If-Range (when it has one) matches `res`:
// a strong ETag, or a Last-Modified date, equal byte for byte.
bool IfRangeHolds(const httplib::Request& req, const httplib::Response& res) {
  if (!req.has_header("If-Range")) return true;
  const std::string want = req.get_header_value("If-Range");
  if (!want.empty() && want.front() == '"') {
    return res.has_header("ETag") && res.get_header_value("ETag") == want;
  }
  // A weak ETag ("W/...") never matches; anything else is read as a date.
  return want.rfind("W/", 0) != 0 && res.has_header("Last-Modified") &&
         res.get_header_value("Last-Modified") == want;
}

// SetOne sets `name` to `value`, replacing every line of that name.
void SetOne(httplib::Response& res, const char* name,
            const std::string& value) {
  res.headers.erase(name);
  res.set_header(name, value);
}

}  // namespace

std::optional<ByteSpan> ResolveRange(const httplib::Range& r, uint64_t size) {
  const auto [first, last] = r;
  if (size == 0) return std::nullopt;
  if (first >= 0) {
    const auto from = static_cast<uint64_t>(first);
    if (from >= size) return std::nullopt;
    if (last < 0) return ByteSpan{from, size - 1};
    const auto to = static_cast<uint64_t>(last);
    if (to < from) return std::nullopt;
    return ByteSpan{from, to < size ? to : size - 1};
  }
  // A suffix: the last `last` bytes, all of them when that is more.
  if (first != -1 || last <= 0) return std::nullopt;
  const auto n = static_cast<uint64_t>(last);
  return ByteSpan{n < size ? size - n : 0, size - 1};
}

std::optional<ByteSpan> ServeRange(const httplib::Request& req,
                                   httplib::Response& res,
                                   const httplib::Ranges& asked) {
  // httplib's static files (mount points) answer any Range with a 206 that
  // it would have cut itself: whole, it is a 200.
  if (!asked.empty() && res.status == 206 && !res.has_header("Content-Range")) {
    res.status = 200;
  }
  if (asked.size() != 1 || res.status != 200 || req.method != "GET")
    return std::nullopt;
  const bool provider = static_cast<bool>(res.content_provider_);
  if (provider &&
      (res.is_chunked_content_provider_ || res.content_length_ == 0 ||
       res.content_length_ >
           static_cast<size_t>(std::numeric_limits<ssize_t>::max()))) {
    // No size to count a range in (httplib's positions are signed).
    return std::nullopt;
  }
  if (!IfRangeHolds(req, res)) return std::nullopt;
  const uint64_t size = provider ? res.content_length_ : res.body.size();
  const std::optional<ByteSpan> span = ResolveRange(asked.front(), size);
  if (!span) {
    res.status = 416;
    res.body.clear();
    res.headers.erase("Content-Encoding");  // of the body no longer sent
    res.content_provider_ = nullptr;  // released as the response is destroyed
    SetOne(res, "Content-Range", "bytes */" + std::to_string(size));
    SetOne(res, "Content-Length", "0");
    return std::nullopt;
  }
  const uint64_t length = span->last - span->first + 1;
  res.status = 206;
  SetOne(res, "Content-Range",
         "bytes " + std::to_string(span->first) + "-" +
             std::to_string(span->last) + "/" + std::to_string(size));
  SetOne(res, "Content-Length", std::to_string(length));
  if (provider) {
    // httplib asks the provider for the request's one range when it writes.
    const_cast<httplib::Request&>(req).ranges = {
        {static_cast<ssize_t>(span->first), static_cast<ssize_t>(span->last)}};
  } else {
    res.body = res.body.substr(span->first, length);
  }
  return span;
}

}  // namespace ctx::http::internal
