// ctx/http/server.h: a cpp-httplib server whose handlers get a ctx::Context
// that ends when the client goes away or its time budget runs out.
//
// ctx::http::Server is an httplib::Server (every stock setting and route
// works) plus handlers of the form
//   void(const ctx::Context&, const httplib::Request&, httplib::Response&)
// For each request such a handler gets a context derived from the server's
// root context that is
//   - canceled when the client closes or resets its connection while the
//     handler runs (Cause: ClientDisconnected()), or when stop() is called
//     (Cause: ServerStopping());
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
//   server.stop();  // cancels in-flight requests; listen_after_bind returns
//   t.join();
//
// Disconnect detection. One watcher thread per server watches every open
// connection with epoll. A reset (RST) cancels the running request at once.
// A FIN alone is ambiguous (a client that closed and one that only
// half-closed after sending both send it), so during a handler the server then
// sends one interim "100 Continue" response, which every HTTP/1.1 client must
// skip: a half-closed client keeps waiting and gets its answer, a closed
// socket answers with RST and the request is canceled, typically within a
// millisecond. HTTP/1.0 requests never get the probe, so for them only a
// reset cancels. Pipelined requests and idle keep-alive connections are never
// mistaken for a disconnect (unread input is not an event). The window covers
// the wrapped handler only: content providers that httplib runs after the
// handler returns see no context.
//
// Compared with stock httplib 0.11.4, the connection loop is our own (around
// httplib's own request processing). Keep-alive count and timeout, read and
// write timeouts, and routing are httplib's. Two httplib bugs are fixed on the
// way: a pipelined request that arrives with the previous one is served
// instead of dropped, and a client that half-closes gets its response
// (httplib's stream refuses to write once it sees EOF).

#ifndef CTX_HTTP_SERVER_H_
#define CTX_HTTP_SERVER_H_

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>

#include "ctx/context.h"
#include "ctx/http/request_headers.h"
#include "ctx/http/request_info.h"
#include "ctx/http/request_log.h"
#include "ctx/http/status.h"

namespace ctx::http {

namespace internal {
class DisconnectWatcher;
}  // namespace internal

// ContextHandler is a route handler that receives its request's context. It
// runs on an httplib worker thread; the context is valid (and may be copied
// and handed to other threads) for as long as anyone holds it, but it is
// canceled after the handler returns, so work started for the request should
// not outlive the handler.
using ContextHandler = std::function<void(
    const Context&, const httplib::Request&, httplib::Response&)>;

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
};

// Server is an httplib::Server with context handlers and disconnect
// detection.
//
// Thread-safety: as httplib::Server. Register routes and change settings
// before listening; stop() is safe from any thread at any time.
// Lifetime: destroy the server only after listen() has returned (as with
// httplib); the destructor joins the watcher thread.
class Server : public httplib::Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

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

  // Wrap turns a context handler into a plain httplib handler bound to this
  // server's options, for any other registration point (set_error_handler,
  // a pre-routing hook, ...). The result may be used only while this server
  // lives. On a plain httplib::Server it still builds the context (deadline,
  // ids, values) but cannot see disconnects.
  [[nodiscard]] httplib::Server::Handler Wrap(ContextHandler handler);

  // stop stops listening, as httplib::Server::stop does, and also cancels the
  // context of every request whose handler is running (Cause:
  // ServerStopping()) and closes idle keep-alive connections. It does not wait
  // for handlers to return; listen() returns once they have. Safe from any
  // thread, including from a handler, any number of times. Unlike httplib's,
  // a stop between bind and listen is not lost: listen then returns at once.
  // It hides, and does
  // not override, httplib's non-virtual stop(): calling that one through an
  // httplib::Server reference stops listening without canceling, and idle
  // connections then close within about 100 ms.
  void stop();

 private:
  friend struct ServerTestPeer;

  // process_and_close_socket serves one accepted connection: our keep-alive
  // loop around httplib's process_request, with the connection registered
  // for disconnect detection. Runs on an httplib worker thread.
  bool process_and_close_socket(socket_t sock) override;
  // Serve runs one wrapped handler: builds the context, calls `handler`,
  // maps a done context to a status (ctx/http/status.h), logs.
  void Serve(const ContextHandler& handler, const httplib::Request& req,
             httplib::Response& res);
  // WaitForRequest is the keep-alive wait: true when the next request's
  // first bytes (or EOF) arrived within the keep-alive timeout.
  bool WaitForRequest(socket_t sock);

  const ServerOptions options_;
  // watcher_: created in the constructor, destroyed (thread joined) in the
  // destructor.
  std::unique_ptr<internal::DisconnectWatcher> watcher_;
};

}  // namespace ctx::http

#endif  // CTX_HTTP_SERVER_H_
