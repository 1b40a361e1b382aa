// SPDX-License-Identifier: Apache-2.0
// ctx/proxy_headers.h: the headers ctx shares with proxies and meshes (not in
// Go). No transport code here.
//
// Two conventions, both optional:
//   - kEnvoyTimeoutHeader: Envoy tells the service it routes to how long it
//     will wait for the answer (its route timeout, in milliseconds, the
//     syntax of ctx::ParseRequestTimeout). A server that sits behind a
//     trusted Envoy may take it as one more budget: the smallest budget wins,
//     and the server's cap still applies. Off by default in both bridges (a
//     client could otherwise send it itself).
//   - kDeadlineExceededHeader: a response (HTTP header; gRPC trailing
//     metadata) that failed because its time budget ran out carries
//     "x-ctx-deadline-exceeded: 1" next to its status (HTTP 504, gRPC
//     DEADLINE_EXCEEDED), so that callers and proxies can tell a spent budget
//     from a transient failure and not retry it. ctx::http::Client reports
//     such a response as ctx::Errc::kDeadlineExceeded.
//
// Main names: kEnvoyTimeoutHeader, kDeadlineExceededHeader,
// kDeadlineExceededValue.

#ifndef CTX_PROXY_HEADERS_H_
#define CTX_PROXY_HEADERS_H_

#include <string_view>

namespace ctx {

// kEnvoyTimeoutHeader carries Envoy's expected request timeout (milliseconds).
inline constexpr std::string_view kEnvoyTimeoutHeader =
    "x-envoy-expected-rq-timeout-ms";

// kDeadlineExceededHeader marks a response that failed because its budget ran
// out; its value is kDeadlineExceededValue.
inline constexpr std::string_view kDeadlineExceededHeader =
    "x-ctx-deadline-exceeded";
inline constexpr std::string_view kDeadlineExceededValue = "1";

}  // namespace ctx

#endif  // CTX_PROXY_HEADERS_H_
