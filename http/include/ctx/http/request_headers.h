// SPDX-License-Identifier: Apache-2.0
// ctx/http/request_headers.h: what an inbound HTTP request says about its
// context, read and judged without any I/O.
//
// The HTTP bridge honours three things a caller may send: a time budget
// (X-Request-Timeout in milliseconds, or grpc-timeout in gRPC's syntax), a
// request id (X-Request-Id) and a session (X-Session-Id, or a cookie the server
// names). ReadRequestHeaders applies the server's policy to them and returns
// either the values to build the request context from, or the reason the
// request is rejected with 400. ctx::http::Server calls it for every request;
// it is public for servers built on plain httplib and for the fuzzers.
//
//   ctx::http::HeaderPolicy policy{.max_timeout = std::chrono::seconds(30)};
//   ctx::http::RequestHeaders h = ctx::http::ReadRequestHeaders(req.headers,
//                                                               policy);
//   if (!h.ok()) return Reject400(h.rejected_header, h.error);
//   res.set_header("X-Request-Id", h.request_id);     // always safe to echo
//
// The rules, one line per input (names compare case-insensitively):
//   X-Request-Timeout  ctx::ParseRequestTimeout (digits only, milliseconds).
//                      Empty, signed, fractional, non-numeric or overflowing
//                      values are rejected (400); so is a repeated header.
//                      (Through ctx::http::Server an empty value never
//                      arrives: httplib's parser drops header lines with an
//                      empty value, so "X-Request-Timeout:" counts as absent.)
//   grpc-timeout       ctx::ParseGrpcTimeout (1-8 digits and a unit letter).
//                      Bad digits or units are rejected (400); so is a
//                      repeated header.
//   x-envoy-expected-  read only when the policy trusts it (an Envoy in
//   rq-timeout-ms      front sets it): the X-Request-Timeout rules.
//   several present    the smallest budget wins (each is a claim; the
//                      tightest one is the safe one).
//   neither            the policy's default_timeout, if any.
//   then               capped by the policy's max_timeout, if any. A budget of
//                      zero means it is already spent: the server answers 504
//                      without running the handler; so does a budget below
//                      the policy's min_timeout (it counts as zero).
//   X-Request-Id       ctx::AcceptRequestId: a valid id is used as is; a
//                      missing, invalid (CR, LF, NUL, non-ASCII, longer than
//                      ctx::kMaxIdLength...) or repeated one is replaced by a
//                      fresh id. Never a reason to reject.
//   X-Session-Id       used when present once and valid
//                      (ctx::IsValidSessionId); invalid or repeated: no
//                      session. Never a reason to reject.
//   session cookie     read only when X-Session-Id is absent and the policy
//                      names a cookie: the value of the one cookie with that
//                      name (quotes stripped), used when valid; a name that
//                      appears twice or an invalid value: no session.
//   traceparent,       ctx::AcceptTraceContext with the policy's `trace`: a
//   tracestate,        valid traceparent is kept with its tracestate; absent,
//   baggage            invalid or repeated: a new trace (or none). Baggage is
//                      filtered member by member. Never a reason to reject.
//   pass-through       each header the policy names, kept when it arrived
//                      once with a valid value (ctx::AcceptPassThrough);
//                      else dropped. Never a reason to reject.
//
// Nothing in a RequestHeaders ever holds a rejected input byte: ids are valid
// or generated, and reasons are static strings.

#ifndef CTX_HTTP_REQUEST_HEADERS_H_
#define CTX_HTTP_REQUEST_HEADERS_H_

#include <httplib.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ctx/export.h"
#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/proxy_headers.h"
#include "ctx/trace_context.h"

namespace ctx::http {

// HeaderPolicy is the server side of the header rules above. A value-type
// configuration; copy it freely.
struct HeaderPolicy {
  // default_timeout applies when the request carries no budget; nullopt: such
  // requests have no deadline (unless max_timeout is set).
  std::optional<std::chrono::nanoseconds> default_timeout;
  // max_timeout caps every budget, including a missing one: with it set,
  // every request has a deadline. nullopt: no cap.
  std::optional<std::chrono::nanoseconds> max_timeout;
  // min_timeout: a request whose budget (after default and cap) is smaller is
  // answered 504 at once, without running its handler (it could not finish
  // in time). nullopt (the default): no minimum.
  std::optional<std::chrono::nanoseconds> min_timeout;
  // trust_envoy_timeout: also take Envoy's x-envoy-expected-rq-timeout-ms as a
  // budget (ctx/proxy_headers.h). Only for a server that a trusted Envoy
  // fronts; default false.
  bool trust_envoy_timeout = false;
  // session_cookie names the cookie read when X-Session-Id is absent; empty:
  // cookies are not consulted.
  std::string session_cookie;
  // trace says what a request without a valid traceparent gets (a new trace
  // by default) and whether baggage is kept.
  TracePolicy trace;
  // pass_through names extra headers (B3, vendor headers) to copy into the
  // request's context for ctx::http::Client to send on; build it with
  // ctx::MakePassThroughNames. Default: none.
  PassThroughNames pass_through;
};

// RequestHeaders is what ReadRequestHeaders found.
struct RequestHeaders {
  // timeout is the effective budget (after default and cap), never negative;
  // nullopt means no deadline. Zero means the budget is already spent.
  std::optional<std::chrono::nanoseconds> timeout;
  // request_id is always a valid id (ctx::IsValidRequestId), safe to echo and
  // to log.
  std::string request_id;
  // request_id_source says whether request_id came from the caller, was
  // generated for a missing one, or replaced an invalid or repeated one.
  IdSource request_id_source = IdSource::kGenerated;
  // session_id is set when the request carried a valid session id.
  std::optional<std::string> session_id;
  // trace is the request's trace context (see ctx::AcceptTraceContext);
  // nullopt only when the policy starts no trace. trace_source says where it
  // came from.
  std::optional<TraceContext> trace;
  TraceSource trace_source = TraceSource::kNone;
  // pass_through holds the policy's pass-through headers the request carried.
  PassThroughHeaders pass_through;
  // rejected_header names the header that made the request invalid (a static
  // string), empty when the request is acceptable.
  std::string_view rejected_header;
  // error is the static, log-safe reason for rejecting the request with 400;
  // empty when the request is acceptable.
  std::string_view error;

  // ok reports whether the request may proceed (error is empty).
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

// ReadRequestHeaders applies `policy` to `headers` by the rules in the file
// comment. It never throws on bad input (only std::bad_alloc can escape), never
// asserts, and costs one getrandom(2) call when it has to generate a request
// id. Safe to call from any thread.
[[nodiscard]] CTX_EXPORT RequestHeaders
ReadRequestHeaders(const httplib::Headers& headers, const HeaderPolicy& policy);

// FindCookie returns the value of the cookie called `name` across all Cookie
// headers (RFC 6265 syntax: `a=b; c="d"`, surrounding quotes stripped), or
// nullopt when it is absent or appears more than once. The value is untrusted:
// validate it before use. Exposed for the fuzzers and tests.
[[nodiscard]] CTX_EXPORT std::optional<std::string_view> FindCookie(
    const httplib::Headers& headers, std::string_view name);

}  // namespace ctx::http

#endif  // CTX_HTTP_REQUEST_HEADERS_H_
