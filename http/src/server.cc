// SPDX-License-Identifier: Apache-2.0
// ctx::http::Server: the connection loop and the handler wrapper. See
// ctx/http/server.h; the disconnect rule is in connection.h.

#include "ctx/http/server.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "connection.h"
#include "ctx/propagation.h"
#include "ctx/proxy_headers.h"
#include "ctx/trace_context.h"
#include "handler_answer.h"
#include "provider_pacing.h"
#include "request_stream.h"
#include "response_framing.h"
#include "server_loop.h"

namespace ctx::http {
namespace {

using internal::HandlerResponded;
using internal::kInternalErrorBody;
using internal::LogUnattributed;
using internal::Reason;
using internal::ReplaceResponse;
using internal::WhatOf;

// kServingMark stands in httplib's listening socket while the server serves
// (see listen_after_bind): not INVALID_SOCKET, and no descriptor, should
// anything ever use it as one.
constexpr socket_t kServingMark = std::numeric_limits<socket_t>::max();

// HandlerWindow keeps the connection's handler phase open for its scope.
class HandlerWindow {
 public:
  HandlerWindow(internal::Connection* conn, const CancelCauseFunc& cancel)
      : conn_(conn) {
    if (conn_ != nullptr) conn_->BeginHandler(cancel);
  }
  ~HandlerWindow() {
    if (conn_ != nullptr) conn_->EndHandler();
  }
  HandlerWindow(const HandlerWindow&) = delete;
  HandlerWindow& operator=(const HandlerWindow&) = delete;

 private:
  internal::Connection* const conn_;
};

// IsFramingError says whether a response's status (httplib's or a
// handler's) means the request was malformed or too large: the connection
// then closes.
bool IsFramingError(int status) {
  return status == 400 || status == 408 || status == 411 || status == 413 ||
         status == 414 || status == 431;
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)), served_(WithCancel(Background())) {
  loop_ = std::make_unique<internal::ServerLoop>(
      options_.limits,
      [this](int status, std::string_view reason, const internal::Peer&) {
        LogUnattributed(options_.logger, status, reason);
      },
      // A content provider that never writes would keep its worker, and so
      // listen_after_bind, forever: httplib's provider loops end when a write
      // fails or its listening socket is unset.
      [this] { svr_sock_ = INVALID_SOCKET; });
  // A throwing handler's client gets a plain 500 (httplib's own answer names
  // the exception in an EXCEPTION_WHAT header, and sends what the handler
  // had set). A context handler's request id stays; its log record has the
  // exception (Serve). set_exception_handler replaces this.
  httplib::Server::set_exception_handler([](const httplib::Request&,
                                            httplib::Response& res,
                                            const std::exception_ptr&) {
    ReplaceResponse(res, kStatusInternalServerError,
                    std::string(kInternalErrorBody),
                    res.get_header_value(std::string(kRequestIdHeader)));
  });
  // Runs just before any response is written, whatever handler (a context
  // handler, a plain one, an error handler) or httplib made it.
  httplib::Server::set_post_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        internal::GuardReleaser(res);
        if (post_routing_) post_routing_(req, res);
        internal::GuardReleaser(res);  // one the user's handler set or replaced
        internal::Connection* conn = internal::CurrentConnection();
        if (conn == nullptr) return;  // served by stock httplib
        // A response that only a close can end, one to a request refused as
        // malformed or too large, or one written once a shutdown began, is
        // the connection's last, and says so (httplib said so already when
        // it knew before the handler ran).
        const internal::Framing framing =
            internal::FrameResponse(req, res, conn->ranges);
        if (framing.must_close || IsFramingError(res.status) ||
            (conn->Stopping() && !conn->last_response)) {
          internal::SayClose(res);
          conn->last_response = true;
        }
        // A body the client cannot take at once moves to the tail, not
        // copied (a streamed one is written by its provider, held to its
        // length).
        if (!res.content_provider_) conn->response_body = &res.body;
        conn->provider_body_left = framing.provider_body;
        internal::PaceContentProvider(res, options_.limits.response_timeout);
      });
}

Server& Server::set_post_routing_handler(Handler handler) {
  post_routing_ = std::move(handler);
  return *this;
}

Server::~Server() = default;

bool Server::bind_to_port(const std::string& host, int port, int) {
  return loop_->Bind(host, port) > 0;
}

int Server::bind_to_any_port(const std::string& host, int) {
  return loop_->Bind(host, 0);
}

bool Server::listen(const std::string& host, int port, int socket_flags) {
  return bind_to_port(host, port, socket_flags) && listen_after_bind();
}

bool Server::is_running() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return serving_;
}

bool Server::listen_after_bind() {
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (serving_) return false;
    serving_ = true;
  }
  // httplib states these in every keep-alive response's Keep-Alive header:
  // make it state ours (set here, so a set_keep_alive_* call cannot make it
  // lie).
  set_keep_alive_timeout(
      static_cast<time_t>(std::chrono::duration_cast<std::chrono::seconds>(
                              options_.limits.idle_timeout)
                              .count()));
  set_keep_alive_max_count(options_.limits.max_requests_per_connection);
  // httplib writes a content provider's response only while its own
  // listening socket is set (its shutdown test); this server never uses that
  // socket, so it marks it as serving while it serves, until a shutdown's
  // drain ends (the loop's Forced step).
  svr_sock_ = kServingMark;
  std::unique_ptr<httplib::TaskQueue> workers(new_task_queue());
  const bool ok = loop_->Run([this, &workers](
                                 std::shared_ptr<internal::Connection> conn) {
    workers->enqueue([this, conn = std::move(conn)] { ServeConnection(conn); });
  });
  // Every connection is closed; the workers may still be returning.
  workers->shutdown();
  svr_sock_ = INVALID_SOCKET;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    serving_ = false;
  }
  served_.cancel();
  return ok;
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  loop_->Shutdown(grace);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (!serving_) return;
  }
  served_.context.Done().Wait();
}

void Server::stop() { loop_->Shutdown(std::chrono::milliseconds(0)); }

void Server::ServeConnection(
    const std::shared_ptr<internal::Connection>& conn) {
  internal::CurrentConnectionScope current(conn.get());
  do {
    internal::RequestStream stream(*conn, conn->parser().Take(),
                                   options_.limits.write_timeout,
                                   options_.limits.response_timeout);
    ++conn->served;
    conn->drop_response = false;
    conn->tail_copied = 0;
    const bool last =
        conn->served >= options_.limits.max_requests_per_connection ||
        conn->Stopping();
    conn->last_response = last;
    conn->ranges.clear();
    conn->provider_body_left = internal::Connection::kNoBodyLimit;
    bool connection_closed = false;
    // httplib would apply the ranges to any response: FrameResponse applies
    // them instead.
    bool ok = false;
    try {
      ok = process_request(stream, last, connection_closed,
                           [&conn](httplib::Request& req) {
                             conn->ranges = std::move(req.ranges);
                             req.ranges.clear();
                           });
    } catch (...) {
      // httplib catches only what a route handler throws. A content
      // provider, an error or post-routing handler, or a logger that throws
      // stops the response anywhere: the connection closes (the exception
      // would otherwise end the worker thread, and the process).
      LogUnattributed(
          options_.logger, kStatusInternalServerError,
          "response failed: " + LogSafe(WhatOf(std::current_exception())));
    }
    conn->response_body = nullptr;  // it was the finished request's
    // Not written whole (httplib returns true when only its head failed).
    if (!ok || stream.failed()) {
      loop_->Close(conn);
      return;
    }
    // last_response: also when the response turned out to need the close
    // (the post-routing step above).
    const bool close_after = conn->last_response || connection_closed;
    if (!conn->tail.empty()) {
      // The client reads slowly: the loop writes the rest, this worker goes.
      loop_->WriteTail(conn, close_after, stream.response_deadline());
      return;
    }
    if (close_after) {
      loop_->CloseAfterResponse(conn);
      return;
    }
  } while (loop_->Resume(conn));
}

Server& Server::Get(const std::string& pattern, ContextHandler handler) {
  httplib::Server::Get(pattern, Wrap(std::move(handler)));
  return *this;
}
Server& Server::Post(const std::string& pattern, ContextHandler handler) {
  httplib::Server::Post(pattern, Wrap(std::move(handler)));
  return *this;
}
Server& Server::Put(const std::string& pattern, ContextHandler handler) {
  httplib::Server::Put(pattern, Wrap(std::move(handler)));
  return *this;
}
Server& Server::Patch(const std::string& pattern, ContextHandler handler) {
  httplib::Server::Patch(pattern, Wrap(std::move(handler)));
  return *this;
}
Server& Server::Delete(const std::string& pattern, ContextHandler handler) {
  httplib::Server::Delete(pattern, Wrap(std::move(handler)));
  return *this;
}
Server& Server::Options(const std::string& pattern, ContextHandler handler) {
  httplib::Server::Options(pattern, Wrap(std::move(handler)));
  return *this;
}

httplib::Server::Handler Server::Wrap(ContextHandler handler) {
  return [this, handler = std::move(handler)](const httplib::Request& req,
                                              httplib::Response& res) {
    Serve(handler, req, res);
  };
}

void Server::Serve(const ContextHandler& handler, const httplib::Request& req,
                   httplib::Response& res) {
  const TimePoint start = Clock::now();
  RequestHeaders h = ReadRequestHeaders(req.headers, options_.headers);
  const std::string request_id = h.request_id;
  res.set_header(std::string(kRequestIdHeader), request_id);

  // The ids are copied (the trace context moves into the request's context)
  // and written as hex only when a line is logged.
  std::optional<std::pair<TraceId, SpanId>> trace_ids;
  if (h.trace) trace_ids.emplace(h.trace->trace_id, h.trace->parent_id);
  auto log = [&](int status, std::string_view reason) {
    if (!options_.logger) return;
    const std::string method = LogSafe(req.method);
    const std::string path = LogSafe(req.path);
    const std::string trace_id = trace_ids ? trace_ids->first.ToHex() : "";
    const std::string span_id = trace_ids ? trace_ids->second.ToHex() : "";
    options_.logger(RequestLogRecord{
        .status = status,
        .request_id = request_id,
        .trace_id = trace_id,
        .span_id = span_id,
        .method = method,
        .path = path,
        .reason = reason,
        .elapsed = Clock::now() - start,
    });
  };

  if (!h.ok()) {
    std::string reason = "bad ";
    reason.append(h.rejected_header).append(": ").append(h.error);
    log(kStatusBadRequest, reason);
    ReplaceResponse(res, kStatusBadRequest, reason + "\n", request_id);
    return;
  }

  // The context: cancelable (disconnect, stop) -> deadline -> values.
  auto [cancelable, cancel] = WithCancelCause(options_.root);
  Context c = cancelable;
  CancelFunc cancel_deadline;
  if (h.timeout) {
    auto [with_deadline, cancel_timer] = WithTimeout(c, *h.timeout);
    c = std::move(with_deadline);
    cancel_deadline = std::move(cancel_timer);
  }
  // The request's values share one node (one allocation).
  using ::ctx::internal::OptionalValue;
  std::optional<PassThroughHeaders> pass_through;
  if (!h.pass_through.empty()) pass_through = std::move(h.pass_through);
  c = ::ctx::internal::WithValues(
      std::move(c),
      OptionalValue<std::string>{&kRequestIdKey, std::move(h.request_id)},
      OptionalValue<std::string>{&kSessionIdKey, std::move(h.session_id)},
      OptionalValue<TraceContext>{&kTraceContextKey, std::move(h.trace)},
      OptionalValue<PassThroughHeaders>{&kPassThroughKey,
                                        std::move(pass_through)},
      OptionalValue<RequestInfo>{
          &kRequestInfoKey,
          RequestInfo{req.method, req.path, req.remote_addr, req.remote_port}});

  // A budget of zero (or a root already done) skips the handler.
  bool threw = false;
  if (!c.Done().Ready()) {
    HandlerWindow window(internal::CurrentConnection(), cancel);
    try {
      handler(c, req, res);
    } catch (...) {
      threw = true;
      // A handler that gave up by throwing once its context ended is
      // answered as one that returned (504, 503 or 499, below). Else the
      // exception handler answers 500; the request is over, and so is its
      // context: its deadline's timer would stay armed until it fired.
      if (!c.Err()) {
        cancel_deadline();
        cancel();
        log(kStatusInternalServerError,
            LogSafe(WhatOf(std::current_exception())));
        throw;
      }
    }
  }
  if (c.Err()) {
    const int status = StatusForDoneContext(c);
    const std::string_view reason = Reason(status);
    log(status, reason);
    internal::Connection* conn = internal::CurrentConnection();
    if (status == kStatusClientClosedRequest && conn != nullptr) {
      // 499 is for the log only. A client that half-closed may still read:
      // what the handler set is written (as Go does); when it set nothing,
      // or threw (what it set is half built, and its provider may refer to
      // what the throw unwound), no response is written and the connection
      // closes.
      if (threw) ReplaceResponse(res, status, "", request_id);
      if (threw || !HandlerResponded(res)) conn->drop_response = true;
    } else {
      ReplaceResponse(res, status, std::string(reason) + "\n", request_id);
    }
    if (status == kStatusGatewayTimeout) {
      res.set_header(std::string(kDeadlineExceededHeader),
                     std::string(kDeadlineExceededValue));
    }
  }
  // The body moves to the tail (as the post-routing step also arranges,
  // unless a post-routing handler set through an httplib::Server reference
  // replaced that step).
  if (internal::Connection* conn = internal::CurrentConnection();
      conn != nullptr && !res.content_provider_) {
    conn->response_body = &res.body;
  }
  cancel_deadline();
  cancel();
}

}  // namespace ctx::http
