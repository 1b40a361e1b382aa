// SPDX-License-Identifier: Apache-2.0
// The request framing. See request_parser.h for the rules.

#include "request_parser.h"

#include <algorithm>
#include <array>
#include <utility>

#include "ctx/internal/http_syntax.h"

namespace ctx::http::internal {
namespace {

using ::ctx::internal::EqualsIgnoreCase;
using ::ctx::internal::HexDigit;
using ::ctx::internal::IsFieldValue;
using ::ctx::internal::IsToken;
using ::ctx::internal::ParseDecimal;
using ::ctx::internal::TrimOws;

// kMaxChunkLine bounds a chunk-size line (size and extensions).
constexpr size_t kMaxChunkLine = 1024;

// The methods httplib 0.11.4 routes; any other is answered 501 here, so
// httplib never answers 400 to a request we framed.
bool IsKnownMethod(std::string_view m) {
  constexpr std::array<std::string_view, 10> kMethods = {
      "GET",     "HEAD",    "POST",  "PUT",   "DELETE",
      "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI"};
  return std::find(kMethods.begin(), kMethods.end(), m) != kMethods.end();
}

}  // namespace

RequestParser::RequestParser(const ParserLimits& limits) : limits_(limits) {}

RequestParser::State RequestParser::Feed(std::string_view data) {
  if (state_ == State::kError) return state_;
  in_.append(data);
  return Parse();
}

RequestParser::State RequestParser::Parse() {
  if (state_ == State::kIdle || state_ == State::kHead) ParseHead();
  if (state_ == State::kBody) ParseBody();
  // What was parsed now lives in request_ (or was dropped): keep only the
  // unparsed rest, so a body is held once, not also as raw input.
  if (state_ != State::kError && pos_ > 0) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  return state_;
}

void RequestParser::DropRequest() {
  // What is left of the request can never be served now (Fail frees it).
  if (state_ != State::kError) Fail(0, "dropped");
}

ParsedRequest RequestParser::Take() {
  ParsedRequest out = std::move(request_);
  Reset();
  Parse();
  return out;
}

void RequestParser::Reset() {
  state_ = State::kIdle;
  request_ = ParsedRequest();
  head_bytes_ = 0;
  header_count_ = 0;
  seen_request_line_ = false;
  host_count_ = 0;
  connection_line_ = 0;
  has_length_ = false;
  length_ = 0;
  chunked_ = false;
  expect_continue_ = false;
  chunk_ = Chunk::kSize;
  head_ = ForwardedHead();
}

bool RequestParser::WantsContinue() noexcept {
  if (state_ != State::kBody || !expect_continue_) return false;
  expect_continue_ = false;
  return true;
}

RequestParser::State RequestParser::Fail(int status, std::string reason) {
  state_ = State::kError;
  error_status_ = status;
  error_reason_ = std::move(reason);
  DropBody();  // nothing of the request is used any more
  in_.clear();
  in_.shrink_to_fit();
  pos_ = 0;
  return state_;
}

bool RequestParser::GrowBody(size_t n) {
  const size_t ceiling = chunked_ ? limits_.max_body_bytes : length_;
  if (MakeBodyRoom(request_.body, request_.body_memory,
                   limits_.body_budget.get(), n, ceiling)) {
    return true;
  }
  Fail(503, "the server's memory for request bodies is in use");
  return false;
}

void RequestParser::DropBody() {
  request_.body = std::string();
  request_.body_memory.Release();
}

bool RequestParser::NextLine(size_t limit, int too_long,
                             std::string_view& line) {
  const size_t nl = in_.find('\n', pos_);
  const size_t end = nl == std::string::npos ? in_.size() : nl;
  // Checked before the line is complete: no over-long line is ever buffered
  // beyond its limit (+2 for a CRLF still to come).
  if (end - pos_ > limit + 1) {
    Fail(too_long,
         too_long == 414 ? "request line too long" : "header line too long");
    return false;
  }
  if (nl == std::string::npos) return false;
  if (nl == pos_ || in_[nl - 1] != '\r') {
    Fail(400, "line not ended by CRLF");
    return false;
  }
  line = std::string_view(in_).substr(pos_, nl - 1 - pos_);
  if (line.find('\r') != std::string_view::npos) {
    Fail(400, "bare CR");
    return false;
  }
  head_bytes_ += nl + 1 - pos_;
  pos_ = nl + 1;
  return true;
}

RequestParser::State RequestParser::ParseHead() {
  while (state_ == State::kIdle || state_ == State::kHead) {
    if (pos_ < in_.size()) state_ = State::kHead;
    std::string_view line;
    const bool first = !seen_request_line_;
    if (!NextLine(first ? limits_.max_request_line : limits_.max_header_line,
                  first ? 414 : 431, line)) {
      if (state_ == State::kError) return state_;
      if (head_bytes_ + (in_.size() - pos_) > limits_.max_header_bytes) {
        return Fail(431, "request head too large");
      }
      return state_;
    }
    if (head_bytes_ > limits_.max_header_bytes) {
      return Fail(431, "request head too large");
    }
    if (first) {
      // RFC 9112 2.2: empty lines before the request line are ignored; they
      // still count against the head's size.
      if (line.empty()) continue;
      if (!RequestLine(line)) return state_;
      seen_request_line_ = true;
    } else if (line.empty()) {
      return FinishHead();
    } else {
      if (++header_count_ > limits_.max_header_count) {
        return Fail(431, "too many header fields");
      }
      if (!HeaderLine(line)) return state_;
    }
  }
  return state_;
}

bool RequestParser::RequestLine(std::string_view line) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 =
      sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    Fail(400, "malformed request line");
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() ||
      !std::all_of(target.begin(), target.end(),
                   [](char c) { return c > 0x20 && c < 0x7f; })) {
    Fail(400, "malformed request line");
    return false;
  }
  if (version == "HTTP/1.1") {
    request_.http10 = false;
  } else if (version == "HTTP/1.0") {
    request_.http10 = true;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
             HexDigit(version[5]) >= 0 && HexDigit(version[5]) < 10 &&
             version[6] == '.' && HexDigit(version[7]) >= 0 &&
             HexDigit(version[7]) < 10) {
    Fail(505, "HTTP version not supported");
    return false;
  } else {
    Fail(400, "malformed request line");
    return false;
  }
  if (!IsKnownMethod(method)) {
    Fail(501, "method not implemented");
    return false;
  }
  // Absolute form (RFC 9112 3.2.2): route by the path, take the host from
  // the target and ignore the Host field's value.
  std::string_view path = target;
  std::string_view absolute_host;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() &&
        EqualsIgnoreCase(target.substr(0, scheme.size()), scheme)) {
      const std::string_view rest = target.substr(scheme.size());
      const size_t end = std::min(rest.find('/'), rest.find('?'));
      const std::string_view authority = rest.substr(0, end);
      if (authority.empty() || authority.find('@') != std::string_view::npos) {
        Fail(400, "invalid absolute request target");
        return false;
      }
      // Handed on as a Host line, each '%' escaped (ForwardedHead).
      if (ForwardedLineSize("Host", authority) > limits_.max_header_line) {
        Fail(414, "request line too long");
        return false;
      }
      absolute_host = authority;
      path =
          end == std::string_view::npos ? std::string_view() : rest.substr(end);
      break;
    }
  }
  head_.RequestLine(method, path, version, absolute_host);
  return true;
}

bool RequestParser::HeaderLine(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) {
    // Also catches obs-fold (a line starting with SP or HTAB) and a space
    // before the colon, both of which RFC 9112 tells a server to reject.
    Fail(400, "malformed header line");
    return false;
  }
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = TrimOws(line.substr(colon + 1));
  // CR and LF cannot be here (NextLine); NUL is refused. Other control
  // characters pass, as nginx lets them: they cannot move a line or request
  // boundary, and each header's own validation (a request id's, say) decides.
  if (value.find('\0') != std::string_view::npos) {
    Fail(400, "NUL in a header value");
    return false;
  }
  if (EqualsIgnoreCase(name, "content-length")) {
    if (has_length_) {
      Fail(400, "repeated Content-Length");
      return false;
    }
    if (!ParseDecimal(value, length_)) {
      Fail(400, "invalid Content-Length");
      return false;
    }
    has_length_ = true;
  } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
    if (chunked_) {
      Fail(400, "repeated Transfer-Encoding");
      return false;
    }
    if (!EqualsIgnoreCase(value, "chunked")) {
      Fail(501, "transfer coding not implemented");
      return false;
    }
    chunked_ = true;
  } else if (EqualsIgnoreCase(name, "expect")) {
    // Answered by the connection (WantsContinue), never by httplib.
    if (EqualsIgnoreCase(value, "100-continue")) expect_continue_ = true;
  } else if (EqualsIgnoreCase(name, "content-encoding") &&
             !EqualsIgnoreCase(value, "identity")) {
    // httplib would decode the body with no bound on its decoded size.
    Fail(415, "content coding refused: the decoded size could not be bounded");
    return false;
  } else if (EqualsIgnoreCase(name, "host")) {
    ++host_count_;
  } else if (EqualsIgnoreCase(name, "connection")) {
    // ForwardedHead joins every Connection value into one line, which must
    // fit httplib's limit too.
    constexpr std::string_view kName = "Connection: ";
    connection_line_ +=
        (connection_line_ == 0 ? kName.size() : 2) + EscapedSize(value);
    if (connection_line_ > limits_.max_header_line) {
      Fail(431, "header line too long");
      return false;
    }
  }
  // httplib refuses a longer line, and it gets the value with each '%'
  // escaped (ForwardedHead).
  if (ForwardedLineSize(name, value) > limits_.max_header_line) {
    Fail(431, "header line too long");
    return false;
  }
  // Every accepted line goes on; ForwardedHead drops the framing's own.
  head_.Field(name, value);
  return true;
}

RequestParser::State RequestParser::FinishHead() {
  if (has_length_ && chunked_) {
    return Fail(400, "both Content-Length and Transfer-Encoding");
  }
  if (chunked_ && request_.http10) {
    return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (request_.http10 ? host_count_ > 1 : host_count_ != 1) {
    return Fail(400, host_count_ == 0 ? "missing Host" : "repeated Host");
  }
  if (has_length_ && length_ > limits_.max_body_bytes) {
    return Fail(413, "body too large");
  }
  if (request_.http10) expect_continue_ = false;  // 1xx is HTTP/1.1 only
  if (!chunked_ && length_ == 0) {
    expect_continue_ = false;
    return Complete();
  }
  // A client that asks before sending (Expect: 100-continue) is told now
  // when its body would not fit what the server's bodies hold.
  if (expect_continue_ && has_length_ && limits_.body_budget &&
      !limits_.body_budget->Fits(length_)) {
    return Fail(503, "the server's memory for request bodies is in use");
  }
  // The body's memory grows as its bytes arrive (GrowBody), so a declared
  // length costs nothing until sent.
  state_ = State::kBody;
  return state_;
}

RequestParser::State RequestParser::ParseBody() {
  if (chunked_) return ParseChunked();
  const size_t n =
      std::min<uint64_t>(in_.size() - pos_, length_ - request_.body.size());
  if (!GrowBody(n)) return state_;
  request_.body.append(in_, pos_, n);
  pos_ += n;
  if (request_.body.size() == length_) return Complete();
  return state_;
}

RequestParser::State RequestParser::ParseChunked() {
  for (;;) {
    switch (chunk_) {
      case Chunk::kSize: {
        const size_t nl = in_.find('\n', pos_);
        const size_t end = nl == std::string::npos ? in_.size() : nl;
        if (end - pos_ > kMaxChunkLine) return Fail(400, "chunk line too long");
        if (nl == std::string::npos) return state_;
        if (nl == pos_ || in_[nl - 1] != '\r') {
          return Fail(400, "chunk line not ended by CRLF");
        }
        const std::string_view line =
            std::string_view(in_).substr(pos_, nl - 1 - pos_);
        uint64_t size = 0;
        size_t i = 0;
        for (; i < line.size() && HexDigit(line[i]) >= 0; ++i) {
          if (i == 15) return Fail(400, "chunk size too large");
          size = size * 16 + static_cast<uint64_t>(HexDigit(line[i]));
        }
        if (i == 0) return Fail(400, "invalid chunk size");
        const std::string_view ext = line.substr(i);
        // Only a chunk extension (';' after optional whitespace) may follow
        // the size: "5 " with nothing after the space is invalid too.
        const std::string_view rest = TrimOws(ext);
        if (!ext.empty() && (rest.empty() || rest.front() != ';')) {
          return Fail(400, "invalid chunk size");
        }
        if (!IsFieldValue(ext)) {
          return Fail(400, "control character in a chunk extension");
        }
        pos_ = nl + 1;
        if (size == 0) {
          chunk_ = Chunk::kTrailer;
          break;
        }
        if (size > limits_.max_body_bytes - request_.body.size()) {
          return Fail(413, "body too large");
        }
        length_ = size;
        chunk_ = Chunk::kData;
        break;
      }
      case Chunk::kData: {
        const size_t n = std::min<uint64_t>(in_.size() - pos_, length_);
        if (!GrowBody(n)) return state_;
        request_.body.append(in_, pos_, n);
        pos_ += n;
        length_ -= n;
        if (length_ > 0) return state_;
        chunk_ = Chunk::kDataEnd;
        break;
      }
      case Chunk::kDataEnd:
        if (in_.size() - pos_ < 2) return state_;
        if (in_.compare(pos_, 2, "\r\n") != 0) {
          return Fail(400, "chunk data not ended by CRLF");
        }
        pos_ += 2;
        chunk_ = Chunk::kSize;
        break;
      case Chunk::kTrailer: {
        // Trailer fields are read and dropped; they count as head bytes.
        std::string_view line;
        if (!NextLine(limits_.max_header_line, 431, line)) {
          if (state_ == State::kError) return state_;
          if (head_bytes_ + (in_.size() - pos_) > limits_.max_header_bytes) {
            return Fail(431, "trailer too large");
          }
          return state_;
        }
        if (head_bytes_ > limits_.max_header_bytes) {
          return Fail(431, "trailer too large");
        }
        if (line.empty()) return Complete();
        if (line.find(':') == std::string_view::npos) {
          return Fail(400, "malformed trailer line");
        }
        break;
      }
    }
  }
}

RequestParser::State RequestParser::Complete() {
  request_.head = head_.Finish(request_.body.size());
  expect_continue_ = false;
  state_ = State::kComplete;
  return state_;
}

}  // namespace ctx::http::internal
