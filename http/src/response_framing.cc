// SPDX-License-Identifier: Apache-2.0
// Framing every response httplib writes. See response_framing.h.

#include "response_framing.h"

#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include "response_range.h"

namespace ctx::http::internal {
namespace {

// SetContentLength states `size` as the response's one Content-Length.
void SetContentLength(httplib::Response& res, size_t size) {
  res.headers.erase("Content-Length");
  res.set_header("Content-Length", std::to_string(size));
}

// Unchunk makes a chunked provider's response one of unknown length, and
// takes off what httplib set for its chunks: Transfer-Encoding, and the
// Content-Encoding it would have compressed them with (httplib adds it after
// any the handler set, and compresses only chunks).
void Unchunk(const httplib::Request& req, httplib::Response& res) {
  res.is_chunked_content_provider_ = false;
  res.headers.erase("Transfer-Encoding");
  using httplib::detail::EncodingType;
  const EncodingType type = httplib::detail::encoding_type(req, res);
  if (type == EncodingType::None) return;
  const std::string_view added = type == EncodingType::Gzip ? "gzip" : "br";
  const auto [first, last] = res.headers.equal_range("Content-Encoding");
  if (first != last && std::prev(last)->second == added)
    res.headers.erase(std::prev(last));
}

}  // namespace

Framing FrameResponse(const httplib::Request& req, httplib::Response& res,
                      const httplib::Ranges& asked) {
  if (res.status < 200 || res.status == 204 || res.status == 304) {
    // No body may follow: what was set would be read as the next response.
    // A provider dropped here is released as the response is destroyed.
    res.body.clear();
    res.content_provider_ = nullptr;
    res.headers.erase("Content-Length");
    return {};
  }
  const std::optional<ByteSpan> part = ServeRange(req, res, asked);
  if (res.content_provider_) {
    if (res.is_chunked_content_provider_) {
      if (req.version != "HTTP/1.0") return {};
      // An HTTP/1.0 client cannot read chunked framing (RFC 9112, 7): the
      // provider's bytes go out as they are, and the close ends them.
      Unchunk(req, res);
    }
    // Written until the provider is done, with nothing to say where that
    // is: only the connection's close can end it.
    if (res.content_length_ == 0) return {.must_close = true};
    if (req.method == "HEAD") return {};
    return {.provider_body =
                part ? part->last - part->first + 1 : res.content_length_};
  }
  // A HEAD response may state the length of the body a GET would get.
  if (req.method == "HEAD" && res.has_header("Content-Length")) return {};
  SetContentLength(res, res.body.size());
  return {};
}

void SayClose(httplib::Response& res) {
  res.headers.erase("Keep-Alive");
  res.headers.erase("Connection");
  res.set_header("Connection", "close");
}

}  // namespace ctx::http::internal
