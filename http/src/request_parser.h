// SPDX-License-Identifier: Apache-2.0
// http/src/request_parser.h: the server's HTTP/1.x request framing (RFC 9112),
// fed bytes as they arrive, with limits. Internal.
//
// The parser decides where each request ends, before httplib sees any of it,
// so the two can never disagree about framing (request smuggling needs such
// a disagreement). It accepts only what httplib parses the same way:
//   - every line ends in CRLF (a bare LF or CR is rejected), the request line
//     is `method SP target SP HTTP/1.0|HTTP/1.1`, a header line is
//     `token ":" OWS value OWS` (no space before the colon, no obs-fold, no
//     NUL in the value; other control characters pass, as in nginx);
//   - the body is framed by one Content-Length (digits only) on any method, or
//     by `Transfer-Encoding: chunked` on HTTP/1.1; both at once, a repeated or
//     invalid Content-Length, a repeated Transfer-Encoding, or chunked on
//     HTTP/1.0 are rejected (400); any other coding is not implemented (501);
//   - an HTTP/1.1 request carries exactly one Host (400);
//   - a Content-Encoding other than `identity` is refused (415): httplib
//     would decode the body with no bound on its decoded size;
//   - an absolute-form target (`http://host/path`, RFC 9112 3.2.2) with
//     userinfo or no host is rejected (400).
// The body is read whole (a GET's included) and decoded; the head handed on
// is built by ForwardedHead (forwarded_head.h) from the accepted lines. Bytes
// that follow a complete request stay buffered: they are the next request.
//
// After an error the parser stops: the connection must be closed, and no byte
// after the error is ever parsed.

#ifndef CTX_HTTP_SRC_REQUEST_PARSER_H_
#define CTX_HTTP_SRC_REQUEST_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "body_budget.h"
#include "forwarded_head.h"

namespace ctx::http::internal {

// ParserLimits bounds one request (see ServerLimits in ctx/http/server.h).
struct ParserLimits {
  size_t max_request_line = 8 * 1024;   // beyond: 414
  size_t max_header_line = 8 * 1024;    // one header line; beyond: 431
  size_t max_header_bytes = 32 * 1024;  // request line + headers; 431
  size_t max_header_count = 100;        // 431
  size_t max_body_bytes = 1024 * 1024;  // body without chunk framing; 413
  // body_budget: the memory all of the server's bodies may hold at once; a
  // body whose room would pass what it may use of it is refused (503), and
  // so is an "Expect: 100-continue" whose declared length does not fit.
  // Null: no such budget.
  std::shared_ptr<BodyBudget> body_budget;
};

// ParsedRequest is one complete request, normalized for httplib.
struct ParsedRequest {
  std::string head;  // as ForwardedHead builds it, ending with the empty line
  std::string body;  // the decoded body
  BodyReservation body_memory;  // the body's room, held of the budget
  bool http10 = false;
};

// RequestParser frames the requests of one connection.
//
// Thread-safety: none; one thread at a time (the connection's owner).
class RequestParser {
 public:
  enum class State {
    kIdle,      // no byte of the next request yet
    kHead,      // inside the request line or headers
    kBody,      // head complete, body incomplete
    kComplete,  // a request is ready: Take() it
    kError,     // rejected: error_status() and error_reason() say why
  };

  explicit RequestParser(const ParserLimits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Feed appends `data` and parses as far as the input allows; returns the
  // state. In kComplete and kError the input is only kept (kComplete) or
  // dropped (kError).
  State Feed(std::string_view data);
  [[nodiscard]] State state() const noexcept { return state_; }

  // Take returns the complete request (kComplete only) and parses what input
  // is left (a pipelined request), so state() may be anything after it.
  ParsedRequest Take();

  // DropRequest frees the body of the request being parsed, or complete and
  // not taken, and gives its room back: the connection will serve no more
  // requests (it lingers, or closes). The parser then stays in kError (with
  // error_status() 0): nothing more is parsed or taken.
  void DropRequest();

  // WantsContinue is true once per request whose head asked for
  // "Expect: 100-continue" (HTTP/1.1) while its body has not fully arrived;
  // the caller sends the interim response.
  [[nodiscard]] bool WantsContinue() noexcept;

  // buffered_input is the input held but not yet parsed (the start of a line
  // or a pipelined request); parsed bytes are never held twice.
  [[nodiscard]] size_t buffered_input() const noexcept { return in_.size(); }

  [[nodiscard]] int error_status() const noexcept { return error_status_; }
  [[nodiscard]] const std::string& error_reason() const noexcept {
    return error_reason_;
  }

 private:
  enum class Chunk { kSize, kData, kDataEnd, kTrailer };

  State Parse();
  State ParseHead();
  State ParseBody();
  State ParseChunked();
  bool RequestLine(std::string_view line);
  bool HeaderLine(std::string_view line);
  State FinishHead();
  State Complete();
  State Fail(int status, std::string reason);
  // GrowBody makes room in the body for n more bytes (MakeBodyRoom, up to
  // the declared length, or max_body_bytes when chunked), or fails the
  // request (503) and returns false.
  bool GrowBody(size_t n);
  // DropBody frees the body and gives its room back to the budget.
  void DropBody();
  // NextLine finds the next CRLF-terminated line at pos_ no longer than
  // `limit` bytes (CRLF excluded). Returns false when more input is needed;
  // on a bare LF or an over-long line it fails with 400 or `too_long`.
  bool NextLine(size_t limit, int too_long, std::string_view& line);
  void Reset();

  const ParserLimits limits_;
  State state_ = State::kIdle;
  std::string in_;  // unparsed input; [0, pos_) is parsed, dropped by Parse
  size_t pos_ = 0;

  // The request being parsed; reset by Take.
  ParsedRequest request_;
  size_t head_bytes_ = 0;  // head (and trailer) bytes so far
  size_t header_count_ = 0;
  bool seen_request_line_ = false;
  int host_count_ = 0;
  size_t connection_line_ = 0;  // the joined Connection line, as handed on
  bool has_length_ = false;
  uint64_t length_ = 0;  // Content-Length, or the current chunk's size
  bool chunked_ = false;
  bool expect_continue_ = false;
  Chunk chunk_ = Chunk::kSize;
  ForwardedHead head_;  // request_.head until Complete

  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_REQUEST_PARSER_H_
