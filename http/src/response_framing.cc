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
// takes off the Content-Encoding httplib set to compress its chunks (added
// after any the handler set; it compresses only chunks). Its
// Transfer-Encoding is the caller's to take off.
void Unchunk(const httplib::Request& req, httplib::Response& res) {
  res.is_chunked_content_provider_ = false;
  // httplib sets both headers together (apply_ranges): without its chunked
  // last, the Content-Encoding is the handler's.
  const auto te = res.headers.equal_range("Transfer-Encoding");
  if (te.first == te.second || std::prev(te.second)->second != "chunked")
    return;
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
    res.headers.erase("Transfer-Encoding");
    // A handler's 1xx is no final response: a client would go on waiting
    // for one, and read the next request's as it. Only the close ends it.
    return {.must_close = res.status < 200};
  }
  const std::optional<ByteSpan> part = ServeRange(req, res, asked);
  if (res.content_provider_) {
    if (res.is_chunked_content_provider_) {
      if (req.version != "HTTP/1.0") {
        // Its chunks say where it ends, and only they: one Transfer-Encoding
        // (a handler's would add to or contradict httplib's), no length.
        res.headers.erase("Content-Length");
        res.headers.erase("Transfer-Encoding");
        res.set_header("Transfer-Encoding", "chunked");
        return {};
      }
      // An HTTP/1.0 client cannot read chunked framing (RFC 9112, 7): the
      // provider's bytes go out as they are, and the close ends them.
      Unchunk(req, res);
    }
    // The server frames the response: a Transfer-Encoding a handler set
    // would contradict it.
    res.headers.erase("Transfer-Encoding");
    if (res.content_length_ == 0) {
      // Written until the provider is done, with nothing to say where that
      // is: only the connection's close can end it.
      res.headers.erase("Content-Length");
      return {.must_close = true};
    }
    const uint64_t length =
        part ? part->last - part->first + 1 : res.content_length_;
    // One length: httplib adds its own after any the handler set.
    SetContentLength(res, length);
    if (req.method == "HEAD") return {};
    return {.provider_body = length};
  }
  res.headers.erase("Transfer-Encoding");
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
