// SPDX-License-Identifier: Apache-2.0
// http/src/client_transport.h: httplib's client with waits that end when a
// context is done, the check that keeps unsafe bytes off the wire, and the
// gate that serializes a Client's calls. Internal.
//
// httplib::ClientImpl lets a subclass replace how a socket is connected
// (create_and_connect_socket, protected virtual) and how a connected socket is
// read and written (process_socket, a private virtual: overridable, not
// callable). We replace both so every wait also polls the call's abort
// descriptor (the context's Done().Fd()) and is bounded by the call's
// deadline. The thread making the call is the only one that touches its
// socket: cancellation needs no cross-thread shutdown and cannot hit a
// descriptor httplib already closed and the process reused.

#ifndef CTX_HTTP_SRC_CLIENT_TRANSPORT_H_
#define CTX_HTTP_SRC_CLIENT_TRANSPORT_H_

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>

#include "ctx/context.h"
#include "ctx/errors.h"
#include "mutex.h"
#include "redirect.h"

namespace ctx::http::internal {

// kMaxResponseHeadBytes is what a response may take beyond its body limit
// (its head, and the chunk framing of its body): httplib reads a head line and
// the list of headers without a bound of its own.
inline constexpr uint64_t kMaxResponseHeadBytes = uint64_t{1} << 20;

// CallLimits is what one call may wait for, and its last step before sending.
struct CallLimits {
  // abort_fd (-1: none) ends every wait once readable.
  int abort_fd = -1;
  // deadline, when set, bounds every wait (connect, send, receive) instead of
  // httplib's connection/read/write timeouts, which apply to calls without
  // one.
  std::optional<TimePoint> deadline;
  // before_send runs once the connection is ready, right before the request
  // is written; false ends the call with nothing sent.
  std::function<bool()> before_send;
  // max_response_bytes (0: no limit) bounds the response body the call reads,
  // and, with kMaxResponseHeadBytes more, all it reads of a response.
  size_t max_response_bytes = 0;
};

class ContextClientImpl final : public httplib::ClientImpl {
 public:
  // ContextClientImpl connects to host:port. It does not decode response
  // bodies (set_decompress(false)): a client that did not ask for a
  // compressed answer hands over what arrived, Content-Encoding included.
  ContextClientImpl(const std::string& host, int port)
      : httplib::ClientImpl(host, port) {
    set_decompress(false);
  }

  // Send sends `req` within `limits`, as httplib's send. It first checks the
  // request and the client's own header settings: the method must be an
  // HTTP token, the path must hold no control bytes (nor spaces when URL
  // encoding is off: httplib then sends it as is), every header name must be
  // a token and every value free of control bytes other than tab, and no
  // header may be one httplib frames the request with (Content-Length,
  // Transfer-Encoding, Connection, ...: ctx::internal::FramingHeader). On
  // failure `refused` is std::errc::invalid_argument with a message that says
  // why (it quotes only header names that passed the token check, so it can be
  // logged as is), error is Error::Unknown and nothing is sent. It also drops
  // a kept-alive connection that holds unread bytes: a response nobody asked
  // for must not answer this call. A response body (as received: the client
  // does not decode Content-Encoding) that would pass
  // limits.max_response_bytes, or whose Content-Length announces more, ends
  // the read as soon as that is known: `refused` is then
  // std::errc::message_size and the connection is closed. A content receiver
  // or response handler set on `req` still runs. The caller serializes calls.
  // httplib's own following of redirects (set_follow_location) is off
  // during Send: ctx::http::Client follows them (redirect.h). `req` is left
  // with httplib's additions (Host, Content-Length, ...): send a copy made
  // before to another place.
  bool Send(httplib::Request& req, httplib::Response& res,
            httplib::Error& error, Error& refused, CallLimits limits);

  // follows_redirects is httplib's set_follow_location setting.
  [[nodiscard]] bool follows_redirects() const noexcept {
    return follow_location_;
  }
  // origin is the host and port this client connects to.
  [[nodiscard]] Origin origin() const { return Origin{host_, port_}; }
  // CopySettingsFrom takes `other`'s settings (httplib's copy_settings, the
  // default headers and the host map too), for a redirect to another host:
  // without its credentials (basic, bearer and digest auth, and the default
  // headers DropCredentials drops) or a default Host. The proxy's own auth
  // settings stay when there is a proxy (they go to it), else they go too.
  void CopySettingsFrom(const ContextClientImpl& other);
  // via_proxy says whether calls go through a proxy.
  [[nodiscard]] bool via_proxy() const noexcept { return !proxy_host_.empty(); }

 protected:
  bool create_and_connect_socket(Socket& socket,
                                 httplib::Error& error) override;

 private:
  bool process_socket(const Socket& socket,
                      std::function<bool(httplib::Stream&)> callback) override;

  // CheckSettings checks what httplib adds from its settings (default
  // headers, the Host value, bearer tokens) as Send checks the request.
  [[nodiscard]] std::string CheckSettings() const;
  // DropIfUnread closes the kept-alive connection when the last call left
  // bytes unread in its stream or, with `check_socket`, when the socket has
  // input waiting (a stray response, EOF).
  void DropIfUnread(bool check_socket);
  // Timeout returns the wait limit for a step whose httplib setting is
  // `configured`: what is left of the deadline when there is one.
  std::chrono::microseconds Timeout(std::chrono::microseconds configured) const;

  // Written by the calling thread, between and during its own calls.
  CallLimits limits_;
  bool unread_input_ = false;  // the last response left bytes unread
  bool read_limited_ = false;  // a response passed kMaxResponseHeadBytes
};

// CallGate lets one call at a time through, in arrival order; a waiting call
// gives up when its context is done.
//
// Thread-safety: Enter and Leave may be called from any thread; each Enter
// that returned no error is matched by one Leave.
class CallGate {
 public:
  CallGate() = default;
  CallGate(const CallGate&) = delete;
  CallGate& operator=(const CallGate&) = delete;

  // Enter waits until the gate is free or `c` is done, and returns c.Err()
  // in the second case (then the caller did not enter). A free gate is
  // entered even when `c` is done: the caller checks its context next.
  [[nodiscard]] std::error_code Enter(const Context& c) CTX_LOCKS_EXCLUDED(mu_);
  // Leave hands the gate to the longest waiting call, or frees it.
  void Leave() CTX_LOCKS_EXCLUDED(mu_);

 private:
  // Waiter is one waiting call: Leave cancels `wake`, a child of the call's
  // context, so the call wakes when either its turn comes or its context
  // ends.
  struct Waiter {
    CancelFunc wake;
    bool entered = false;  // under mu_: Leave handed the gate over
  };

  Mutex mu_;
  bool busy_ CTX_GUARDED_BY(mu_) = false;
  std::list<Waiter*> waiters_ CTX_GUARDED_BY(mu_);  // oldest first
};

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_CLIENT_TRANSPORT_H_
