// ctx::http::Client: context headers out, context-bounded waits, clear
// errors. See ctx/http/client.h.

#include "ctx/http/client.h"

#include <string_view>
#include <utility>

#include "client_transport.h"
#include "ctx/clock.h"
#include "ctx/http/status.h"
#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/proxy_headers.h"
#include "ctx/trace_context.h"

namespace ctx::http {
namespace {

// ContextError is the error of a call whose context is done: the context's
// code (kCanceled / kDeadlineExceeded) with its cause's message.
Error ContextError(const Context& c) {
  return Error(c.Err(), Cause(c).message());
}

// SetOnly replaces every header called `name` with one `value`.
void SetOnly(httplib::Headers& headers, std::string_view name,
             const std::string& value) {
  const std::string key(name);
  headers.erase(key);
  headers.emplace(key, value);
}

}  // namespace

bool Result::transport_failed() const noexcept {
  return error_.code().category() == TransportCategory();
}

Client::Client(const std::string& host, int port, ClientOptions options)
    : options_(options),
      impl_(std::make_unique<internal::ContextClientImpl>(host, port)) {}

Client::~Client() = default;

httplib::ClientImpl& Client::httplib_client() noexcept { return *impl_; }

namespace {

// MakeRequest builds a request; a non-empty content_type sets Content-Type.
httplib::Request MakeRequest(std::string method, const std::string& path,
                             const httplib::Headers& headers,
                             const std::string& body = {},
                             const std::string& content_type = {}) {
  httplib::Request req;
  req.method = std::move(method);
  req.path = path;
  req.headers = headers;
  req.body = body;
  if (!content_type.empty()) SetOnly(req.headers, "Content-Type", content_type);
  return req;
}

}  // namespace

Result Client::Get(const Context& c, const std::string& path,
                   const httplib::Headers& headers) {
  return Send(c, MakeRequest("GET", path, headers));
}

Result Client::Head(const Context& c, const std::string& path,
                    const httplib::Headers& headers) {
  return Send(c, MakeRequest("HEAD", path, headers));
}

Result Client::Delete(const Context& c, const std::string& path,
                      const httplib::Headers& headers) {
  return Send(c, MakeRequest("DELETE", path, headers));
}

Result Client::Post(const Context& c, const std::string& path,
                    const std::string& body, const std::string& content_type,
                    const httplib::Headers& headers) {
  return Send(c, MakeRequest("POST", path, headers, body, content_type));
}

Result Client::Put(const Context& c, const std::string& path,
                   const std::string& body, const std::string& content_type,
                   const httplib::Headers& headers) {
  return Send(c, MakeRequest("PUT", path, headers, body, content_type));
}

Result Client::Patch(const Context& c, const std::string& path,
                     const std::string& body, const std::string& content_type,
                     const httplib::Headers& headers) {
  return Send(c, MakeRequest("PATCH", path, headers, body, content_type));
}

Result Client::Send(const Context& c, httplib::Request request) {
  std::lock_guard<std::mutex> lock(mu_);
  return SendLocked(c, request);
}

Result Client::SendLocked(const Context& c, httplib::Request& req) {
  // The context headers, replacing any the caller set.
  std::string request_id;
  if (const std::string* id = c.Value(kRequestIdKey)) {
    request_id = *id;
  } else if (options_.generate_request_id) {
    request_id = NewRequestId();
  }
  if (!request_id.empty()) SetOnly(req.headers, kRequestIdHeader, request_id);
  if (const std::string* session = c.Value(kSessionIdKey)) {
    SetOnly(req.headers, kSessionIdHeader, *session);
  }
  if (const TraceContext* tc = c.Value(kTraceContextKey)) {
    const OutgoingTraceHeaders out = OutgoingTrace(*tc);
    if (!out.traceparent.empty())
      SetOnly(req.headers, kTraceparentHeader, out.traceparent);
    if (!out.tracestate.empty())
      SetOnly(req.headers, kTracestateHeader, std::string(out.tracestate));
    if (!out.baggage.empty())
      SetOnly(req.headers, kBaggageHeader, std::string(out.baggage));
  }
  if (const PassThroughHeaders* pass = c.Value(kPassThroughKey)) {
    for (const PassThroughHeader& h : *pass) {
      if (IsValidPassThroughName(h.name) && IsValidPassThroughValue(h.value))
        SetOnly(req.headers, h.name, h.value);
    }
  }
  if (c.Err()) return Result(nullptr, ContextError(c), std::move(request_id));

  internal::CallLimits limits;
  limits.deadline = c.Deadline();
  if (limits.deadline) {
    const Clock::duration left = *Remaining(c) - options_.deadline_margin;
    SetOnly(req.headers, kRequestTimeoutHeader, FormatRequestTimeout(left));
  }
  if (c.Done().CanBeDone()) limits.abort_fd = c.Done().Fd();

  impl_->set_limits(limits);
  auto res = std::make_unique<httplib::Response>();
  httplib::Error transport = httplib::Error::Success;
  const bool ok = impl_->send(req, *res, transport);
  impl_->set_limits({});

  if (ok && res->get_header_value(std::string(kDeadlineExceededHeader)) ==
                kDeadlineExceededValue) {
    return Result(
        nullptr,
        Error(Errc::kDeadlineExceeded,
              "deadline exceeded downstream (x-ctx-deadline-exceeded)"),
        std::move(request_id));
  }
  if (ok) return Result(std::move(res), Error(), std::move(request_id));
  if (c.Err()) return Result(nullptr, ContextError(c), std::move(request_id));
  // A wait cut short by the deadline can end a moment before the context's
  // timer fires: that is still the deadline.
  if (limits.deadline && Clock::now() >= *limits.deadline) {
    return Result(nullptr, Error(Errc::kDeadlineExceeded),
                  std::move(request_id));
  }
  return Result(nullptr, Error(TransportError(transport)),
                std::move(request_id));
}

}  // namespace ctx::http
