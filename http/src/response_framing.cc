// SPDX-License-Identifier: Apache-2.0
// Framing every response httplib writes. See response_framing.h.

#include "response_framing.h"

#include <sys/types.h>

#include <string>

namespace ctx::http::internal {
namespace {

// RangeFits says whether httplib can serve the range `r` (first and last
// byte, -1 where absent) of a `length`-byte provider as asked.
bool RangeFits(const httplib::Range& r, size_t length) {
  const auto len = static_cast<ssize_t>(length);
  const auto [first, last] = r;
  if (first >= 0) {
    return first < len && (last == -1 || (first <= last && last < len));
  }
  // A suffix: the last `last` bytes, all of them when that is more.
  return first == -1 && last > 0 && len > 0;
}

// SetContentLength states `size` as the response's one Content-Length.
void SetContentLength(httplib::Response& res, size_t size) {
  res.headers.erase("Content-Length");
  res.set_header("Content-Length", std::to_string(size));
}

}  // namespace

bool FrameResponse(const httplib::Request& req, httplib::Response& res) {
  if (res.status < 200 || res.status == 204 || res.status == 304) {
    // No body may follow: what was set would be read as the next response.
    // A provider dropped here is released as the response is destroyed.
    res.body.clear();
    res.content_provider_ = nullptr;
    res.headers.erase("Content-Length");
    return false;
  }
  if (res.content_provider_) {
    if (res.is_chunked_content_provider_) return false;
    if (res.content_length_ == 0) {
      // Written until the provider is done, with nothing to say where that
      // is: only the connection's close can end it.
      res.headers.erase("Keep-Alive");
      res.headers.erase("Connection");
      res.set_header("Connection", "close");
      return true;
    }
    if (!req.ranges.empty() &&
        !(req.ranges.size() == 1 &&
          RangeFits(req.ranges.front(), res.content_length_))) {
      // Served whole: httplib reads the ranges again when it calls the
      // provider. The object is httplib's own, not const (see the header).
      const_cast<httplib::Request&>(req).ranges.clear();
      if (res.status == 206) res.status = 200;
      res.headers.erase("Content-Range");
      SetContentLength(res, res.content_length_);
    }
    return false;
  }
  // A HEAD response may state the length of the body a GET would get.
  if (req.method == "HEAD" && res.has_header("Content-Length")) return false;
  SetContentLength(res, res.body.size());
  return false;
}

}  // namespace ctx::http::internal
