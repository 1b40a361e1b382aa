// SPDX-License-Identifier: Apache-2.0
// ctx::http::Client: context headers out, context-bounded waits, clear
// errors. See ctx/http/client.h.

#include "ctx/http/client.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "client_transport.h"
#include "ctx/clock.h"
#include "ctx/http/status.h"
#include "ctx/internal/margin.h"
#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/proxy_headers.h"
#include "ctx/trace_context.h"
#include "redirect.h"

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
      gate_(std::make_unique<internal::CallGate>()),
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
  std::string request_id = OutgoingRequestId(c);
  if (c.Err()) return Result(nullptr, ContextError(c), std::move(request_id));
  if (gate_->Enter(c)) {
    return Result(nullptr, ContextError(c), std::move(request_id));
  }
  // Leave the gate however the call ends (allocation failures throw).
  struct Exit {
    internal::CallGate& gate;
    ~Exit() { gate.Leave(); }
  } exit{*gate_};
  return SendEntered(c, request, std::move(request_id));
}

std::string Client::OutgoingRequestId(const Context& c) const {
  if (const std::string* id = c.Value(kRequestIdKey);
      id != nullptr && IsValidRequestId(*id)) {
    return *id;
  }
  return options_.generate_request_id ? NewRequestId() : std::string();
}

std::optional<std::chrono::milliseconds> Client::OutgoingBudget(
    Clock::duration remaining) const {
  const Clock::duration proportional = ::ctx::internal::ProportionalMargin(
      remaining, options_.deadline_margin_ratio);
  const Clock::duration margin =
      std::max(Clock::duration::zero(), options_.deadline_margin);
  if (remaining <= Clock::duration::zero() ||
      margin >= remaining - proportional) {
    return std::nullopt;
  }
  const auto budget = std::chrono::floor<std::chrono::milliseconds>(
      remaining - proportional - margin);
  if (budget <= std::chrono::milliseconds::zero()) return std::nullopt;
  return budget;
}

void Client::SetContextHeaders(const Context& c, httplib::Request& req,
                               const std::string& request_id) const {
  // The context headers, replacing any the caller set.
  req.headers.erase(std::string(kRequestIdHeader));
  req.headers.erase(std::string(kSessionIdHeader));
  req.headers.erase(std::string(kRequestTimeoutHeader));
  if (!request_id.empty()) SetOnly(req.headers, kRequestIdHeader, request_id);
  if (const std::string* session = c.Value(kSessionIdKey);
      session != nullptr && IsValidSessionId(*session)) {
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
}

Result Client::SendEntered(const Context& c, httplib::Request& req,
                           std::string request_id) {
  SetContextHeaders(c, req, request_id);
  // A redirect is followed here, not by httplib, so that every hop carries
  // the context: its budget, its abort, and its waits bounded by the
  // deadline (redirect.h says which and how).
  const bool follow = impl_->follows_redirects();
  internal::ContextClientImpl* target = impl_.get();
  std::unique_ptr<internal::ContextClientImpl> elsewhere;
  bool left_origin = false;
  std::string location;  // of the last redirect followed
  for (size_t redirects = 0;; ++redirects) {
    // httplib adds its own headers to what it sends: the next hop starts
    // from the request as it was.
    httplib::Request next;
    if (follow) next = req;
    Hop hop = SendHop(c, *target, req);
    if (!hop.response) {
      return Result(nullptr, std::move(hop.error), std::move(request_id));
    }
    const int status = hop.response->status;
    const std::string to = hop.response->get_header_value("Location");
    if (!follow || !internal::WillFollow(next, *hop.response)) {
      if (!location.empty()) hop.response->location = location;
      return Result(std::move(hop.response), Error(), std::move(request_id));
    }
    if (redirects == internal::kMaxRedirects) {
      return Result(nullptr,
                    Error(TransportError(httplib::Error::ExceedRedirectCount)),
                    std::move(request_id));
    }
    internal::Origin origin;
    std::string path;
    if (Error e = internal::ResolveRedirect(target->origin(), next.path, to,
                                            origin, path)) {
      return Result(nullptr, std::move(e), std::move(request_id));
    }
    const bool home = internal::SameOrigin(origin, impl_->origin());
    left_origin = left_origin || !home;
    internal::RedirectRequest(next, status, std::move(path), left_origin,
                              impl_->via_proxy());
    req = std::move(next);
    location = to;
    if (!home &&
        (!elsewhere || !internal::SameOrigin(origin, elsewhere->origin()))) {
      elsewhere = std::make_unique<internal::ContextClientImpl>(origin.host,
                                                                origin.port);
      elsewhere->CopySettingsFrom(*impl_);
    }
    target = home ? impl_.get() : elsewhere.get();
  }
}

Client::Hop Client::SendHop(const Context& c,
                            internal::ContextClientImpl& target,
                            httplib::Request& req) {
  if (c.Err()) return Hop{nullptr, ContextError(c)};
  std::optional<TimePoint> deadline = c.Deadline();
  if (deadline == TimePoint::max()) deadline.reset();
  internal::CallLimits limits;
  limits.deadline = deadline;
  limits.max_response_bytes = options_.max_response_bytes;
  if (c.Done().CanBeDone()) limits.abort_fd = c.Done().Fd();
  // The budget is measured once the connection is ready: connecting spends
  // some of it.
  bool budget_spent = false;
  if (deadline) {
    limits.before_send = [this, &req, &budget_spent, at = *deadline] {
      const std::optional<std::chrono::milliseconds> budget =
          OutgoingBudget(at - Clock::now());
      if (!budget) {
        budget_spent = true;
        return false;
      }
      SetOnly(req.headers, kRequestTimeoutHeader,
              FormatRequestTimeout(*budget));
      return true;
    };
  }

  auto res = std::make_unique<httplib::Response>();
  httplib::Error transport = httplib::Error::Success;
  Error refused;
  const bool ok = target.Send(req, *res, transport, refused, std::move(limits));

  if (ok && res->get_header_value(std::string(kDeadlineExceededHeader)) ==
                kDeadlineExceededValue) {
    return Hop{nullptr,
               Error(Errc::kDeadlineExceeded,
                     "deadline exceeded downstream (x-ctx-deadline-exceeded)")};
  }
  if (ok) return Hop{std::move(res), Error()};
  if (refused) return Hop{nullptr, refused};
  if (c.Err()) return Hop{nullptr, ContextError(c)};
  // Too little left to send (less than the margin), or a wait cut short by
  // the deadline a moment before the context's timer fires: that is still
  // the deadline.
  if (budget_spent || (deadline && Clock::now() >= *deadline)) {
    return Hop{nullptr, Error(Errc::kDeadlineExceeded)};
  }
  return Hop{nullptr, Error(TransportError(transport))};
}

}  // namespace ctx::http
