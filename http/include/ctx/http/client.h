// SPDX-License-Identifier: Apache-2.0
// ctx/http/client.h: an HTTP client whose calls carry a ctx::Context.
//
// Each call takes a context and
//   - sends what is left of its deadline as X-Request-Timeout: whole
//     milliseconds, rounded down, less a margin (ClientOptions), measured
//     once the connection is ready, so the server never gets more time than
//     the caller has left. Too little left for the margin fails the call
//     with ctx::Errc::kDeadlineExceeded before anything is sent;
//   - bounds every wait (connect, send, receive) by the context's deadline
//     alone: httplib's connection/read/write timeouts apply only to calls
//     whose context has no deadline, so they neither cut a longer budget
//     short nor outlive a shorter one;
//   - sends its request id (ctx::kRequestIdKey; a fresh one when the context
//     has none or holds one that fails ctx::IsValidRequestId) and session
//     (ctx::kSessionIdKey, only when ctx::IsValidSessionId), trace context
//     (ctx::kTraceContextKey, as ctx::OutgoingTrace renders it: same trace id,
//     a new span id per call) and pass-through headers (ctx::kPassThroughKey).
//     X-Request-Timeout, X-Request-Id and X-Session-Id come from the context
//     only: any the caller passed are dropped;
//   - sends nothing that could split a header or the request line: a method
//     that is not a token, a path with a control byte, a header name that is
//     not a token or a value with a control byte other than tab (in the
//     call's headers, httplib's default headers, host, bearer token or
//     digest user name) fails the call with std::errc::invalid_argument
//     before connecting;
//   - frames the request itself: a call or default header named
//     Content-Length, Transfer-Encoding, Trailer, Connection, Keep-Alive, TE,
//     Upgrade, Proxy-Connection or Expect (any case) fails the call with
//     std::errc::invalid_argument before connecting (Host is allowed);
//   - ends as soon as the context is done, whatever it is waiting for (the
//     connection, the server, or another call on the same Client), with an
//     error that says which: ctx::Errc::kCanceled,
//     ctx::Errc::kDeadlineExceeded, or an httplib transport failure
//     (TransportCategory(), see ctx/http/status.h). A response with any
//     status is a success at this level;
//   - hands over the response body as received (Content-Encoding is not
//     decoded, since the client did not ask for compression), up to
//     ClientOptions::max_response_bytes: a larger one fails the call with
//     std::errc::message_size. Response header values arrive as sent
//     (httplib's percent-decoding of them is undone in advance: a Location of
//     /a%20b reads "/a%20b"; a line that, with each '%' written as "%25",
//     passes httplib's 8 KiB line limit fails the call).
//
//   ctx::http::Client client("127.0.0.1", 8080);
//   auto [c, cancel] = ctx::WithTimeout(parent, std::chrono::seconds(2));
//   ctx::http::Result r = client.Get(c, "/work");
//   if (!r) {
//     if (r.error() == ctx::Errc::kDeadlineExceeded) { ... }
//     spdlog::warn("call {} failed: {}", r.request_id(), r.error().message());
//   } else if (r->status == 200) {
//     Use(r->body);
//   }
//
// Aborting: every wait polls the context's Done().Fd() next to the socket, so
// the thread making the call sees the cancel itself (no other thread touches
// its socket). The call returns within one wake-up of the cancel, and the
// connection it was using is closed (never reused half-read). A context
// whose descriptor cannot be created (out of fds) is still bounded by its
// deadline: each wait lasts at most what was left when the request was sent.
// Plain http only: through a proxy or a bound interface the connect step is
// httplib's own, which cannot be interrupted (it still ends by the deadline).
// A kept-alive connection that holds unread bytes when a call starts or ends
// (a response nobody asked for) is closed, so no call gets another's answer.

#ifndef CTX_HTTP_CLIENT_H_
#define CTX_HTTP_CLIENT_H_

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "ctx/context.h"
#include "ctx/errors.h"
#include "ctx/export.h"

namespace ctx::http {

namespace internal {
class CallGate;
class ContextClientImpl;
}  // namespace internal

// ClientOptions configures what a Client adds to httplib's client.
struct ClientOptions {
  // deadline_margin and deadline_margin_ratio shorten the budget sent as
  // X-Request-Timeout to remaining - deadline_margin - remaining *
  // deadline_margin_ratio (then rounded down to whole milliseconds), so the
  // server gives up and answers before the caller's deadline passes (network
  // and scheduling time). As ctx::grpc::ClientOptions; defaults: 1 ms and
  // 0.5 %. The ratio is clamped to [0, 1], a negative margin counts as zero.
  std::chrono::nanoseconds deadline_margin = std::chrono::milliseconds(1);
  double deadline_margin_ratio = 0.005;
  // generate_request_id sends a fresh request id when the context carries
  // none, or one that fails ctx::IsValidRequestId (the default); false sends
  // no X-Request-Id then.
  bool generate_request_id = true;
  // max_response_bytes bounds the response body a call keeps (or hands to a
  // content receiver), as received: the client does not decode
  // Content-Encoding. A body that would pass it, or a Content-Length that
  // announces more, fails the call with std::errc::message_size as soon as
  // that is known, and the connection is closed. The rest of a response is
  // bounded too: one that takes more than max_response_bytes + 1 MiB from the
  // socket (an endless head line, endless headers) fails the same way. 0
  // means no limit; default 64 MiB (gRPC's default cap on a received
  // message).
  size_t max_response_bytes = size_t{64} << 20;
};

// Result is the outcome of one call: a response, or an error. Move-only.
class CTX_EXPORT Result {
 public:
  // ok reports whether a response arrived (of any status).
  [[nodiscard]] bool ok() const noexcept { return response_ != nullptr; }
  explicit operator bool() const noexcept { return ok(); }

  // response returns the response. Only when ok().
  [[nodiscard]] const httplib::Response& response() const { return *response_; }
  const httplib::Response& operator*() const { return *response_; }
  const httplib::Response* operator->() const { return response_.get(); }

  // error says why there is no response: ctx::Errc::kCanceled or
  // kDeadlineExceeded (the message is the context's cause, e.g. "client
  // disconnected"), std::errc::invalid_argument (the request holds bytes
  // that cannot be sent safely; the message says where, without them),
  // std::errc::message_size (the response body passes
  // ClientOptions::max_response_bytes), or a TransportCategory() code.
  // Default (false) when ok().
  [[nodiscard]] const Error& error() const noexcept { return error_; }
  // canceled, deadline_exceeded and transport_failed classify error().
  [[nodiscard]] bool canceled() const noexcept {
    return error_ == Errc::kCanceled;
  }
  [[nodiscard]] bool deadline_exceeded() const noexcept {
    return error_ == Errc::kDeadlineExceeded;
  }
  [[nodiscard]] bool transport_failed() const noexcept;

  // request_id is the X-Request-Id the call sent (empty when none was sent).
  [[nodiscard]] const std::string& request_id() const noexcept {
    return request_id_;
  }

 private:
  friend class Client;
  Result(std::unique_ptr<httplib::Response> response, Error error,
         std::string request_id)
      : response_(std::move(response)),
        error_(std::move(error)),
        request_id_(std::move(request_id)) {}

  std::unique_ptr<httplib::Response> response_;
  Error error_;
  std::string request_id_;
};

// Client makes context-aware calls to one host over plain HTTP.
//
// Thread-safety: calls may come from any thread; they are serialized (one
// connection, as httplib::Client), in arrival order. A call waiting for
// another still ends when its own context is done. Use one Client per
// concurrent caller for parallel calls.
// Lifetime: a call holds nothing after it returns; destroy the Client when no
// call is running.
class CTX_EXPORT Client {
 public:
  Client(const std::string& host, int port, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Get, Head, Delete, Post, Put and Patch make one call each, as described
  // in the file comment. `headers` are sent as given, except the context
  // headers the client sets itself. A context already done returns its error
  // at once, without waiting for another call or connecting.
  Result Get(const Context& c, const std::string& path,
             const httplib::Headers& headers = {});
  Result Head(const Context& c, const std::string& path,
              const httplib::Headers& headers = {});
  Result Delete(const Context& c, const std::string& path,
                const httplib::Headers& headers = {});
  Result Post(const Context& c, const std::string& path,
              const std::string& body, const std::string& content_type,
              const httplib::Headers& headers = {});
  Result Put(const Context& c, const std::string& path, const std::string& body,
             const std::string& content_type,
             const httplib::Headers& headers = {});
  Result Patch(const Context& c, const std::string& path,
               const std::string& body, const std::string& content_type,
               const httplib::Headers& headers = {});
  // Send makes a call from a prepared request (method, path, headers, body).
  Result Send(const Context& c, httplib::Request request);

  // httplib_client returns the underlying client for httplib's settings
  // (keep-alive, default headers, timeouts for calls without a deadline,
  // ...). Change settings only while no call runs. Calls made directly on it
  // bypass the context handling and the checks above. With
  // set_follow_location(true), the Client follows 301, 302, 303, 307 and 308
  // itself, up to 20 in a call, each hop within the call's context (its
  // budget, abort and deadline) and checked as the first; a followed
  // response's body reaches no receiver or handler of the caller's. To
  // another host or port it sends no credentials (Authorization, Cookie,
  // auth settings, ...) and no Host the caller set. After a 303, 301 or 302,
  // a method other than GET or HEAD continues as a GET without a body; a
  // 307 or 308 after a body from a content provider is not followed. A
  // Location that is not http, or is malformed, fails the call
  // (std::errc::protocol_not_supported, std::errc::invalid_argument), one
  // redirect too many too (a TransportCategory() code). Looking up a host's
  // name (getaddrinfo) is not interrupted by the context. With
  // set_decompress(true), httplib decodes Content-Encoding again and
  // max_response_bytes then counts decoded bytes.
  [[nodiscard]] httplib::ClientImpl& httplib_client() noexcept;

 private:
  // Hop is the outcome of one request of a call (a redirect makes more): a
  // response, or why there is none.
  struct Hop {
    std::unique_ptr<httplib::Response> response;
    Error error;
  };
  // SendEntered makes the call once this caller holds the gate, following
  // redirects when httplib_client() is set to.
  Result SendEntered(const Context& c, httplib::Request& request,
                     std::string request_id);
  // SetContextHeaders puts the context's headers on `request`.
  void SetContextHeaders(const Context& c, httplib::Request& request,
                         const std::string& request_id) const;
  // SendHop sends `request` through `target` within the context.
  Hop SendHop(const Context& c, internal::ContextClientImpl& target,
              httplib::Request& request);
  // OutgoingRequestId is the id to send (empty: none), see the file comment.
  [[nodiscard]] std::string OutgoingRequestId(const Context& c) const;
  // OutgoingBudget is the X-Request-Timeout for `remaining`, or nullopt when
  // nothing is left once the margin is taken.
  [[nodiscard]] std::optional<std::chrono::milliseconds> OutgoingBudget(
      Clock::duration remaining) const;

  const ClientOptions options_;
  std::unique_ptr<internal::CallGate> gate_;  // serializes calls
  std::unique_ptr<internal::ContextClientImpl> impl_;
};

}  // namespace ctx::http

#endif  // CTX_HTTP_CLIENT_H_
