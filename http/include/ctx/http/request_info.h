// SPDX-License-Identifier: Apache-2.0
// ctx/http/request_info.h: the values ctx::http::Server puts in every request
// context.
//
// A handler's context carries, besides its deadline and cancellation:
//   ctx::kRequestIdKey   the request id (always valid; see ctx/propagation.h)
//   ctx::kSessionIdKey   the session id, when the request carried a valid one
//   kRequestInfoKey      the method, path and peer of the request
//
//   void Handle(const ctx::Context& c, const httplib::Request& req,
//               httplib::Response& res) {
//     const std::string* id = c.Value(ctx::kRequestIdKey);      // never null
//     const ctx::http::RequestInfo* info = ctx::http::GetRequestInfo(c);
//     spdlog::info("{} {}", *id, info->method);
//   }
//
// The keys are shared with the gRPC bridge, so a ctx::http::Client (or a gRPC
// client) called with a handler's context forwards its request id and session.

#ifndef CTX_HTTP_REQUEST_INFO_H_
#define CTX_HTTP_REQUEST_INFO_H_

#include <ostream>
#include <string>

#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/key.h"

namespace ctx::http {

// RequestInfo describes the request a context was made for. The strings are
// copies of what httplib parsed, so `path` is untrusted text: render it with
// ctx::LogSafe before logging it (operator<< does).
struct RequestInfo {
  std::string method;       // "GET", "POST", ...
  std::string path;         // decoded path, without the query string
  std::string remote_addr;  // peer address as text ("127.0.0.1")
  int remote_port = -1;     // peer port, -1 when unknown
};

// operator<< prints "GET /path from 127.0.0.1:5555", the path log-safe.
CTX_EXPORT std::ostream& operator<<(std::ostream& os, const RequestInfo& info);

// kRequestInfoKey holds the RequestInfo of the request a context serves.
CTX_EXPORT inline constexpr Key<RequestInfo> kRequestInfoKey{"http-request"};

// GetRequestInfo returns the RequestInfo stored in c by ctx::http::Server, or
// nullptr for a context not derived from a request context. The pointer is
// valid as long as c (or a context derived from it) lives. Safe from any
// thread.
[[nodiscard]] inline const RequestInfo* GetRequestInfo(const Context& c) {
  return c.Value(kRequestInfoKey);
}

}  // namespace ctx::http

#endif  // CTX_HTTP_REQUEST_INFO_H_
