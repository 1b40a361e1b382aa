// SPDX-License-Identifier: Apache-2.0
// ctx/http/server.h: a cpp-httplib server whose handlers get a ctx::Context
// that ends when the client goes away or its time budget runs out.
//
// ctx::http::Server is an httplib::Server (every stock setting and route
// works) plus handlers of the form
// clang-format off
//   void(const ctx::Context&, const httplib::Request&, httplib::Response&)
// clang-format on
// For each request such a handler gets a context derived from the server's
// root context that is
//   - canceled when the client closes or resets its connection while the
//     request is queued or its handler runs (Cause: ClientDisconnected()), or
//     by stop() or the end of Shutdown()'s grace (Cause: ServerStopping());
//   - done at the deadline the request asked for (X-Request-Timeout in ms, or
//     grpc-timeout), capped and defaulted by the server (HeaderPolicy);
//   - carrying the request id (X-Request-Id, validated, generated when
//     missing or invalid, echoed in the response), the session (X-Session-Id
//     or a cookie), the trace context (traceparent, tracestate, baggage;
//     ctx/trace_context.h) and the method, path and peer
//     (ctx/http/request_info.h).
// What the client receives when the context ends first is in ctx/http/status.h
// (504 for a spent deadline, 499 logged for a client gone, 503 on stop); the
// header rules, including every rejected input, in ctx/http/request_headers.h.
//
// clang-format off
//   ctx::http::ServerOptions options;
//   options.headers.max_timeout = std::chrono::seconds(10);
//   ctx::http::Server server(options);
//   server.Get("/work", [](const ctx::Context& c, const httplib::Request&,
//                          httplib::Response& res) {
//     if (!c.Done().WaitFor(std::chrono::milliseconds(50))) {  // the "work"
//       res.set_content("done", "text/plain");
//     }   // else: the bridge answers 504 / 499 / 503 for us
//   });
//   int port = server.bind_to_any_port("127.0.0.1");
//   std::thread t([&] { server.listen_after_bind(); });
//   ...
//   server.Shutdown(std::chrono::seconds(5));  // in-flight requests finish
//   t.join();
// clang-format on
//
// The connection layer is the bridge's own (accept, reading requests,
// keep-alive, disconnect watching, drain); httplib parses the head again,
// routes and writes the response, through its public and protected API.
//   - Framing (RFC 9112). One thread reads every connection without blocking
//     and frames each request whole (head and body, a GET's body included)
//     before a worker sees it: Content-Length on any method, or chunked;
//     both, a repeated or invalid Content-Length, bare LF line ends,
//     obs-fold or a missing Host are answered 400, a request line over the
//     limit 414, headers over the limits 431, a body over the limit 413, a
//     Content-Encoding other than identity 415 (its decoded size could not
//     be bounded), an unknown method or transfer coding 501, and each of
//     those answers (and any 400 httplib writes) closes the connection: no
//     byte after a malformed request is ever read as a request.
//   - Header values reach handlers as sent: httplib's percent-decoding of
//     header values is undone in advance (a line too long once undone is
//     431), and the REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR and LOCAL_PORT
//     fields are httplib's own (a client's lines of those names are dropped).
//   - Range (RFC 9110 14): a GET asking for one range of bytes of a 200
//     response whose size is known gets it as a 206 (clamped to the end; a
//     range starting past the end gets a 416 with "Content-Range: bytes
//     */<size>"), also when the handler set the 200 itself, and counted in
//     the bytes sent (after compression); If-Range must equal the strong
//     ETag or the Last-Modified. Several ranges, in one Range line or in
//     more, anything else, other methods and other statuses get the whole
//     body (httplib would repeat the body once per range, and cut a 404 or a
//     handler's 200 to the range). Handlers see the Range header but an
//     empty req.ranges: the server applies the range after the handler.
//   - Every response httplib writes ends where its framing says: a body in
//     memory is sent with its Content-Length (also a 500 a user's exception
//     handler made), a content provider's bytes are sent (with
//     Content-Length or chunked; what a provider writes past its stated
//     length is dropped, and the connection closes after the response). A
//     provider that returns true without writing is called again only after
//     a pause (1 ms, doubling up to 16 ms), so it cannot spin its worker,
//     and one still writing nothing response_timeout after its first call
//     fails the response (the connection closes).
//   - Limits and deadlines (ServerLimits): a request's head must arrive
//     within head_timeout and its body within body_timeout (else 408 and
//     close); an idle keep-alive connection closes after idle_timeout;
//     beyond max_connections a new connection is answered 503 and closed,
//     and so is one that arrives when the process is out of descriptors
//     (EMFILE/ENFILE: a descriptor held in reserve is used to answer it).
//   - Slow clients cannot starve handlers: a connection takes a worker only
//     with a complete request, and gives it back as soon as the socket takes
//     no more of the response. The server's loop writes the rest as the
//     client reads it (the response's body is moved there, whichever
//     handler set it, plain httplib ones included; other bytes are copied up
//     to 64 KiB; a streamed response beyond that keeps its worker), all
//     within response_timeout, then reads the next request or closes.
//   - Disconnects (the rule, as Go's net/http has it): while a request is
//     queued or its handler runs, a FIN or RST from the client cancels the
//     context (Cause: ClientDisconnected()), for HTTP/1.0 and 1.1 alike; a
//     client that half-closes after sending its request counts as gone, but
//     still gets what the handler set (Go writes it too); when the handler
//     set nothing, nothing is written and the connection closes (499 is
//     only logged, never sent). Pipelined requests are read only after the
//     response, so they never count as a hang-up.
//   - Shutdown(grace) stops accepting, closes connections holding no complete
//     request (half-closing first, and discarding input for at most 1 s, one
//     that received part of a request or input the server has not read: a
//     close could reset the previous response), serves the complete request
//     each other connection holds (one; a context handler's response says
//     Connection: close) and then closes the connection, so requests
//     pipelined behind it go unanswered, for the client to send again as
//     RFC 9112 asks of it,
//     cancels handlers still running after `grace` (Cause: ServerStopping(),
//     answered 503), and shuts every remaining socket down drain_timeout
//     later, so it returns within grace + drain_timeout whatever clients do
//     (handlers that ignore their context can still delay it). stop() is
//     Shutdown without grace and without waiting.
//   - A handler (context or plain) that throws gets its client a plain 500
//     that says nothing of the exception, not httplib's EXCEPTION_WHAT
//     header; a context handler's is logged (ctx/http/request_log.h), and
//     one that throws once its context is done is answered for the context
//     (504, 503 or 499, as if it had returned). set_exception_handler
//     replaces the 500. A content provider, an error or post-routing
//     handler, or a set_logger logger that throws (httplib catches none of
//     those) closes its connection, the response cut wherever it was, and
//     is logged as a 500 "response failed"; what a provider's resource
//     releaser throws is dropped. A handler that threw writes nothing to a
//     client that half-closed (499).
//   - Any response written once a shutdown began says Connection: close.
//   - TCP_NODELAY is on by default.
// httplib's own socket settings (set_keep_alive_*, set_read_timeout,
// set_write_timeout, set_tcp_nodelay, set_socket_options,
// set_address_family) are not used: ServerLimits replaces them (the
// Keep-Alive response header states idle_timeout, in whole seconds, and
// max_requests_per_connection). Its routes,
// handlers, mount points, set_payload_max_length, set_error_handler,
// set_exception_handler, set_logger, set_post_routing_handler (this class's)
// and new_task_queue (the workers) work as usual, except that set_logger's
// Response has an empty body when the body was handed to the loop (see slow
// clients). An "Expect: 100-continue" is answered by the server itself.

#ifndef CTX_HTTP_SERVER_H_
#define CTX_HTTP_SERVER_H_

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/http/request_headers.h"
#include "ctx/http/request_info.h"
#include "ctx/http/request_log.h"
#include "ctx/http/status.h"

namespace ctx::http {

namespace internal {
class Connection;
class ServerLoop;
}  // namespace internal

// ContextHandler is a route handler that receives its request's context. It
// runs on an httplib worker thread; the context is valid (and may be copied
// and handed to other threads) for as long as anyone holds it, but it is
// canceled after the handler returns, so work started for the request should
// not outlive the handler.
using ContextHandler = std::function<void(
    const Context&, const httplib::Request&, httplib::Response&)>;

// ServerLimits bounds what one client can make the server hold or wait for.
// Every limit is per request or per connection, except max_connections and
// max_buffered_body_bytes (server-wide); a zero size or duration is taken as
// is (a zero head_timeout answers 408 to any request that does not arrive in
// one read).
struct ServerLimits {
  // max_request_line: longest request line (method, target, version); 414
  // beyond. At most 8190 bytes (httplib's 8 KiB limit counts the CRLF);
  // larger values are capped.
  size_t max_request_line = 8 * 1024;
  // max_header_bytes: the whole head (request line and headers); 431 beyond.
  // A single header line is limited to 8190 bytes (httplib's) as well.
  size_t max_header_bytes = 32 * 1024;
  // max_header_count: header lines per request; 431 beyond.
  size_t max_header_count = 100;
  // max_body_bytes: the body as sent (without chunked framing); 413 beyond.
  // The body is held in memory before the handler runs. A request with a
  // Content-Encoding other than identity is refused (415), so the handler
  // never gets more than this.
  size_t max_body_bytes = 1024 * 1024;
  // max_buffered_body_bytes: the memory the bodies of all connections
  // together may hold while they are read, each body's buffer growing (by
  // doubling) as its bytes arrive (a declared Content-Length takes nothing
  // until sent), and held until its response is made or its connection stops
  // serving. A body whose buffer would pass it is answered 503 and its
  // connection closed, and so is an "Expect: 100-continue" whose declared
  // length does not fit what is left (before the client sends it); one
  // that can never fit gets 413. So clients that send large bodies slowly
  // cannot take all the machine's memory. Nor can they take all of this:
  // small bodies keep a reserve that the bytes of bodies past their first
  // 64 KiB cannot use, max_connections times 64 KiB, at most half of this.
  // So small requests are still served while large ones hold the rest; a
  // large body past that share fails with 503 (body_timeout ends each slow
  // connection; max_connections_per_ip bounds one address's share), and one
  // larger than the share plus 64 KiB gets 413 (with the defaults, 192 MiB
  // and 64 KiB: above max_body_bytes). Once
  // read, a body moves to httplib's Request (which grows its copy by
  // doubling too) and the server's buffer is freed: memory for bodies stays
  // below about three times this.
  size_t max_buffered_body_bytes = 256 * 1024 * 1024;
  // head_timeout: from a request's first byte to the end of its head; 408.
  std::chrono::milliseconds head_timeout{10'000};
  // body_timeout: from the end of the head to the end of the body; 408.
  std::chrono::milliseconds body_timeout{30'000};
  // idle_timeout: how long a connection may wait for its first or next
  // request; then it is closed without an answer.
  std::chrono::milliseconds idle_timeout{5'000};
  // write_timeout: how long one write of a response may wait for the client.
  std::chrono::milliseconds write_timeout{5'000};
  // response_timeout: how long writing one whole response may take, from its
  // first byte; then the connection is closed. A client that reads slowly
  // holds no worker (see slow clients above), except a streamed response
  // (a content provider) beyond 64 KiB unsent, which holds one at most this
  // long and must end within it too.
  std::chrono::milliseconds response_timeout{30'000};
  // max_requests_per_connection: the last one is answered with
  // Connection: close.
  size_t max_requests_per_connection = 1000;
  // max_connections: open connections; one more is answered 503 and closed.
  size_t max_connections = 1024;
  // max_connections_per_ip: open connections from one remote address (as
  // nginx's limit_conn keyed by address); one more is answered 503 and
  // closed. 0 (the default): no limit, since behind a proxy or a NAT many
  // clients share one address.
  size_t max_connections_per_ip = 0;
  // backlog: the listen(2) backlog.
  int backlog = 1024;
  // tcp_nodelay: TCP_NODELAY on every accepted socket.
  bool tcp_nodelay = true;
  // drain_timeout: after a shutdown's grace period, how long responses may
  // still take before every socket is shut down.
  std::chrono::milliseconds drain_timeout{1'000};
};

// ServerOptions configures what a Server adds to httplib. A plain value; the
// Server keeps a copy.
struct ServerOptions {
  // root is the parent of every request context: its values are visible to
  // handlers, and canceling it cancels every request (answered 503).
  Context root;
  // headers sets the timeout default and cap and the session cookie.
  HeaderPolicy headers;
  // logger receives the 400/499/503/504 records; empty: no such logging.
  RequestLogger logger = DefaultRequestLogger();
  // limits bounds requests and connections (see ServerLimits).
  ServerLimits limits;
};

// Server is an httplib::Server with context handlers and its own connection
// layer (see the file comment).
//
// Thread-safety: register routes and change settings before listening;
// stop() and Shutdown() are safe from any thread at any time.
// Lifetime: destroy the server only after listen_after_bind() has returned
// (or was never called).
class CTX_EXPORT Server : public httplib::Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // bind_to_port, bind_to_any_port, listen_after_bind, listen, is_running and
  // stop hide httplib's (non-virtual) functions of the same names and serve
  // through this server's connection layer; called through an
  // httplib::Server reference they would run stock httplib instead.
  // `socket_flags` is accepted for compatibility and ignored.
  //
  // bind_to_port opens the listening socket; false on failure.
  bool bind_to_port(const std::string& host, int port, int socket_flags = 0);
  // bind_to_any_port binds an ephemeral port and returns it, or -1.
  int bind_to_any_port(const std::string& host, int socket_flags = 0);
  // listen_after_bind serves on the calling thread until a shutdown has
  // drained; false when not bound. Returns at once when stop() or Shutdown()
  // came first. Call it once.
  bool listen_after_bind();
  // listen is bind_to_port then listen_after_bind.
  bool listen(const std::string& host, int port, int socket_flags = 0);
  // is_running is true while listen_after_bind serves.
  [[nodiscard]] bool is_running() const;

  // Get, Post, Put, Patch, Delete and Options register a context handler for
  // `pattern`, as the httplib methods of the same names register plain ones
  // (which remain available). Call them before listening.
  using httplib::Server::Delete;
  using httplib::Server::Get;
  using httplib::Server::Options;
  using httplib::Server::Patch;
  using httplib::Server::Post;
  using httplib::Server::Put;
  Server& Get(const std::string& pattern, ContextHandler handler);
  Server& Post(const std::string& pattern, ContextHandler handler);
  Server& Put(const std::string& pattern, ContextHandler handler);
  Server& Patch(const std::string& pattern, ContextHandler handler);
  Server& Delete(const std::string& pattern, ContextHandler handler);
  Server& Options(const std::string& pattern, ContextHandler handler);

  // set_post_routing_handler hides httplib's: `handler` runs just before each
  // response httplib writes, as with httplib (not for the answers the
  // connection layer writes itself: to malformed, refused or late requests,
  // the 503s of a full or stopping server, 100 Continue), and then the server
  // frames the response and takes note of its
  // body (see slow clients). Called through an httplib::Server reference it
  // would replace the server's step: responses then lose that framing, and
  // plain handlers' bodies are copied. Call it before listening.
  Server& set_post_routing_handler(Handler handler);

  // Wrap turns a context handler into a plain httplib handler bound to this
  // server's options, for any other registration point (set_error_handler,
  // a pre-routing hook, ...). The result may be used only while this server
  // lives. On a plain httplib::Server it still builds the context (deadline,
  // ids, values) but cannot see disconnects.
  [[nodiscard]] httplib::Server::Handler Wrap(ContextHandler handler);

  // Shutdown stops the server gracefully (see the file comment) and waits
  // until listen_after_bind has returned: handlers still running `grace` from
  // now are canceled (Cause: ServerStopping()). Returns at once when the
  // server is not serving. Must not be called from a handler (it would wait
  // for itself); use stop() there. A later call may shorten the grace.
  void Shutdown(std::chrono::milliseconds grace);

  // stop is Shutdown with no grace, without waiting: every running handler is
  // canceled at once and queued requests are answered 503;
  // listen_after_bind returns once the handlers have. Safe from any thread,
  // including a handler, any number of times; a stop before
  // listen_after_bind is not lost.
  void stop();

 private:
  friend struct ServerTestPeer;

  // ServeConnection answers the complete requests of `conn` (at least one)
  // on a worker thread, then hands it back to the loop or closes it.
  void ServeConnection(const std::shared_ptr<internal::Connection>& conn);
  // Serve runs one wrapped handler: builds the context, calls `handler`,
  // maps a done context to a status (ctx/http/status.h), logs.
  void Serve(const ContextHandler& handler, const httplib::Request& req,
             httplib::Response& res);

  const ServerOptions options_;
  // post_routing_: the user's post-routing handler, run by the server's own.
  Handler post_routing_;
  // loop_: created in the constructor; its thread is listen_after_bind's.
  std::unique_ptr<internal::ServerLoop> loop_;
  // served_ is canceled when listen_after_bind returns (Shutdown waits on it);
  // serving_ says whether it runs. Both under state_mu_.
  ContextAndCancel served_;
  mutable std::mutex state_mu_;
  bool serving_ = false;  // listen_after_bind runs
};

}  // namespace ctx::http

#endif  // CTX_HTTP_SERVER_H_
