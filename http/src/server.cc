// ctx::http::Server: the connection loop and the handler wrapper. See
// ctx/http/server.h; the disconnect rule is in connection.h.

#include "ctx/http/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <utility>

#include "connection.h"
#include "ctx/propagation.h"
#include "ctx/proxy_headers.h"
#include "disconnect_watcher.h"
#include "socket_stream.h"

namespace ctx::http {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// kStopCheck bounds each keep-alive poll, so a stop made through httplib's own
// (non-virtual) stop() is still noticed, as stock httplib notices it.
constexpr milliseconds kStopCheck(100);

microseconds ToMicros(time_t sec, time_t usec) {
  return std::chrono::seconds(sec) + microseconds(usec);
}

// ReplaceResponse answers for the handler: drops what it set (releasing a
// content provider's resources as httplib would), keeps nothing but the
// request id.
void ReplaceResponse(httplib::Response& res, int status, std::string body,
                     const std::string& request_id) {
  if (res.content_provider_resource_releaser_) {
    res.content_provider_resource_releaser_(false);
  }
  res = httplib::Response();
  res.status = status;
  res.set_header(std::string(kRequestIdHeader), request_id);
  res.set_content(std::move(body), "text/plain");
}

// Reason names the outcome of a done context for the body and the log.
std::string_view Reason(int status) {
  switch (status) {
    case kStatusGatewayTimeout:
      return "deadline exceeded";
    case kStatusClientClosedRequest:
      return "client disconnected";
    default:
      return "server stopping";
  }
}

// HandlerWindow keeps the connection's handler phase open for its scope.
class HandlerWindow {
 public:
  HandlerWindow(internal::Connection* conn, const CancelCauseFunc& cancel,
                bool may_probe)
      : conn_(conn) {
    if (conn_ != nullptr) conn_->BeginHandler(cancel, may_probe);
  }
  ~HandlerWindow() {
    if (conn_ != nullptr) conn_->EndHandler();
  }
  HandlerWindow(const HandlerWindow&) = delete;
  HandlerWindow& operator=(const HandlerWindow&) = delete;

 private:
  internal::Connection* const conn_;
};

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      watcher_(std::make_unique<internal::DisconnectWatcher>()) {}

Server::~Server() = default;

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

void Server::stop() {
  // Stop listening first: a connection registered after StopAll's snapshot
  // then sees svr_sock_ invalid in its loop and closes. This is what
  // httplib::Server::stop does, minus its is_running_ check: a stop that
  // comes after bind but before the accept loop started must not be lost.
  const socket_t listener = svr_sock_.exchange(INVALID_SOCKET);
  if (listener != INVALID_SOCKET) {
    ::shutdown(listener, SHUT_RDWR);
    ::close(listener);
  }
  watcher_->StopAll();
}

void Server::Serve(const ContextHandler& handler, const httplib::Request& req,
                   httplib::Response& res) {
  const TimePoint start = Clock::now();
  RequestHeaders h = ReadRequestHeaders(req.headers, options_.headers);
  const std::string request_id = h.request_id;
  res.set_header(std::string(kRequestIdHeader), request_id);

  auto log = [&](int status, std::string_view reason) {
    if (!options_.logger) return;
    const std::string method = LogSafe(req.method);
    const std::string path = LogSafe(req.path);
    options_.logger(RequestLogRecord{
        .status = status,
        .request_id = request_id,
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
  c = WithValue(c, kRequestIdKey, std::move(h.request_id));
  if (h.session_id) c = WithValue(c, kSessionIdKey, std::move(*h.session_id));
  if (h.trace) c = WithValue(c, kTraceContextKey, std::move(*h.trace));
  if (!h.pass_through.empty())
    c = WithValue(c, kPassThroughKey, std::move(h.pass_through));
  c = WithValue(
      c, kRequestInfoKey,
      RequestInfo{req.method, req.path, req.remote_addr, req.remote_port});

  // A budget of zero (or a root already done) skips the handler.
  if (!c.Done().Ready()) {
    HandlerWindow window(internal::CurrentConnection(), cancel,
                         req.version == "HTTP/1.1");
    handler(c, req, res);
  }
  if (c.Err()) {
    const int status = StatusForDoneContext(c);
    const std::string_view reason = Reason(status);
    log(status, reason);
    ReplaceResponse(res, status, std::string(reason) + "\n", request_id);
    if (status == kStatusGatewayTimeout) {
      res.set_header(std::string(kDeadlineExceededHeader),
                     std::string(kDeadlineExceededValue));
    }
  }
  cancel_deadline();
  cancel();
}

bool Server::process_and_close_socket(socket_t sock) {
  internal::SocketStream stream(
      sock, ToMicros(read_timeout_sec_, read_timeout_usec_),
      ToMicros(write_timeout_sec_, write_timeout_usec_));
  auto conn = std::make_shared<internal::Connection>(sock, stream);
  const uint64_t id = watcher_->Add(conn);
  internal::CurrentConnectionScope current(conn.get());

  // As httplib's own loop: at most keep_alive_max_count_ requests, the last
  // one told to close; stop when the server stops, the peer is silent for
  // the keep-alive timeout, or a request fails or asks to close.
  bool ret = false;
  for (size_t left = std::max<size_t>(keep_alive_max_count_, 1); left > 0;
       --left) {
    if (svr_sock_ == INVALID_SOCKET) break;
    if (!stream.HasBufferedInput()) {
      if (!conn->BeginWait()) break;
      const bool ready = WaitForRequest(sock);
      if (!conn->EndWait() || !ready) break;
    }
    bool connection_closed = false;
    ret = process_request(stream, left == 1, connection_closed, nullptr);
    if (!ret || connection_closed) break;
  }

  conn->Close();
  watcher_->Remove(id, sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

bool Server::WaitForRequest(socket_t sock) {
  const auto deadline =
      Clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
  for (;;) {
    if (svr_sock_ == INVALID_SOCKET) return false;
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return false;
    const auto slice = std::min<Clock::duration>(left, kStopCheck);
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(
        &p, 1,
        static_cast<int>(std::chrono::ceil<milliseconds>(slice).count()));
    if (r > 0) return true;  // data, EOF or error: process_request decides
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace ctx::http
