// SPDX-License-Identifier: Apache-2.0
// Reading the context headers of an inbound request. See
// ctx/http/request_headers.h for the rules.

#include "ctx/http/request_headers.h"

#include <algorithm>
#include <string>
#include <vector>

#include "ctx/internal/http_syntax.h"

namespace ctx::http {
namespace {

using std::chrono::nanoseconds;

// HeaderNames holds the header names as std::string: httplib::Headers is a
// std::multimap keyed by std::string, so lookups need one. Built once, on
// first use (safe even from other translation units' static initializers).
struct HeaderNames {
  const std::string request_timeout{kRequestTimeoutHeader};
  const std::string grpc_timeout{kGrpcTimeoutHeader};
  const std::string envoy_timeout{kEnvoyTimeoutHeader};
  const std::string request_id{kRequestIdHeader};
  const std::string session_id{kSessionIdHeader};
  const std::string traceparent{kTraceparentHeader};
  const std::string tracestate{kTracestateHeader};
  const std::string baggage{kBaggageHeader};
};
const HeaderNames& Names() {
  static const HeaderNames names;
  return names;
}

// Single is the value of a header that may appear at most once.
struct Single {
  bool present = false;
  bool repeated = false;
  std::string_view value;
};

Single FindSingle(const httplib::Headers& headers, const std::string& name) {
  Single s;
  auto [first, last] = headers.equal_range(name);
  if (first == last) return s;
  s.present = true;
  s.value = first->second;
  s.repeated = std::next(first) != last;
  return s;
}

// AllValues returns every value of the header `name`, in arrival order (no
// allocation when there is none).
std::vector<std::string_view> AllValues(const httplib::Headers& headers,
                                        const std::string& name) {
  std::vector<std::string_view> values;
  auto [first, last] = headers.equal_range(name);
  for (auto it = first; it != last; ++it) values.push_back(it->second);
  return values;
}

// ReadMillisBudget reads a present milliseconds budget header
// (X-Request-Timeout, or Envoy's) into `budget`; false, with the rejection
// set in `out`, when it is repeated or malformed.
bool ReadMillisBudget(const Single& s, std::string_view name,
                      RequestHeaders& out, nanoseconds& budget) {
  if (s.repeated) {
    out.rejected_header = name;
    out.error = "repeated header";
    return false;
  }
  ParseResult<std::chrono::milliseconds> parsed = ParseRequestTimeout(s.value);
  if (!parsed) {
    out.rejected_header = name;
    out.error = parsed.error;
    return false;
  }
  // Every int64 millisecond count the parser accepts fits in nanoseconds
  // only up to ~292 years; saturate beyond that instead of overflowing.
  constexpr auto kMaxMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(nanoseconds::max());
  budget =
      *parsed.value >= kMaxMs ? nanoseconds::max() : nanoseconds(*parsed.value);
  return true;
}

}  // namespace

std::optional<std::string_view> FindCookie(const httplib::Headers& headers,
                                           std::string_view name) {
  if (name.empty()) return std::nullopt;
  std::optional<std::string_view> found;
  auto [first, last] = headers.equal_range("Cookie");
  for (auto it = first; it != last; ++it) {
    std::string_view rest = it->second;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view()
                                            : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;  // not a name=value pair
      if (ctx::internal::TrimOws(pair.substr(0, eq)) != name) continue;
      // The same name twice is ambiguous: trust neither.
      if (found) return std::nullopt;
      std::string_view value = ctx::internal::TrimOws(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      found = value;
    }
  }
  return found;
}

RequestHeaders ReadRequestHeaders(const httplib::Headers& headers,
                                  const HeaderPolicy& policy) {
  RequestHeaders out;

  // The request id first: even a rejected request echoes one.
  const Single id = FindSingle(headers, Names().request_id);
  if (id.repeated) {
    out.request_id = NewRequestId();
    out.request_id_source = IdSource::kReplaced;
  } else {
    AcceptedId accepted = AcceptRequestId(
        id.present ? std::optional<std::string_view>(id.value) : std::nullopt);
    out.request_id = std::move(accepted.id);
    out.request_id_source = accepted.source;
  }

  // The budget: each syntax parsed on its own, the smaller one wins.
  std::optional<nanoseconds> budget;
  const Single ms = FindSingle(headers, Names().request_timeout);
  if (ms.present) {
    nanoseconds b;
    if (!ReadMillisBudget(ms, kRequestTimeoutHeader, out, b)) return out;
    budget = b;
  }
  const Single grpc = FindSingle(headers, Names().grpc_timeout);
  if (grpc.present) {
    if (grpc.repeated) {
      out.rejected_header = kGrpcTimeoutHeader;
      out.error = "repeated header";
      return out;
    }
    ParseResult<nanoseconds> parsed = ParseGrpcTimeout(grpc.value);
    if (!parsed) {
      out.rejected_header = kGrpcTimeoutHeader;
      out.error = parsed.error;
      return out;
    }
    budget = budget ? std::min(*budget, *parsed.value) : *parsed.value;
  }
  if (policy.trust_envoy_timeout) {
    const Single envoy = FindSingle(headers, Names().envoy_timeout);
    if (envoy.present) {
      nanoseconds b;
      if (!ReadMillisBudget(envoy, kEnvoyTimeoutHeader, out, b)) return out;
      budget = budget ? std::min(*budget, b) : b;
    }
  }
  if (!budget) budget = policy.default_timeout;
  if (policy.max_timeout) {
    budget =
        budget ? std::min(*budget, *policy.max_timeout) : *policy.max_timeout;
  }
  if (budget && *budget < nanoseconds::zero()) budget = nanoseconds::zero();
  // Below the minimum: spent already, as far as this server is concerned.
  if (budget && policy.min_timeout && *budget < *policy.min_timeout)
    budget = nanoseconds::zero();
  out.timeout = budget;

  // The session: the header decides when present; the cookie only otherwise.
  const Single session = FindSingle(headers, Names().session_id);
  if (session.present) {
    if (!session.repeated && IsValidSessionId(session.value)) {
      out.session_id.emplace(session.value);
    }
  } else if (!policy.session_cookie.empty()) {
    std::optional<std::string_view> cookie =
        FindCookie(headers, policy.session_cookie);
    if (cookie && IsValidSessionId(*cookie)) out.session_id.emplace(*cookie);
  }

  const std::vector<std::string_view> traceparent =
      AllValues(headers, Names().traceparent);
  const std::vector<std::string_view> tracestate =
      AllValues(headers, Names().tracestate);
  const std::vector<std::string_view> baggage =
      AllValues(headers, Names().baggage);
  AcceptedTrace trace = AcceptTraceContext({.traceparent = traceparent,
                                            .tracestate = tracestate,
                                            .baggage = baggage},
                                           policy.trace);
  out.trace = std::move(trace.context);
  out.trace_source = trace.source;

  for (const std::string& name : policy.pass_through) {
    if (!IsValidPassThroughName(name)) continue;  // set without the maker
    const std::vector<std::string_view> values = AllValues(headers, name);
    AcceptPassThrough(name, values, out.pass_through);
  }
  return out;
}

}  // namespace ctx::http
