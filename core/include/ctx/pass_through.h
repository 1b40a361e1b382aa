// SPDX-License-Identifier: Apache-2.0
// ctx/pass_through.h: headers a service passes on unchanged, from the request
// it serves to the calls it makes (not in Go). No transport code here.
//
// A mesh or a tracing vendor may add headers of its own that every hop must
// forward (Zipkin's B3 headers, `x-b3-traceid`, `b3`; `x-ot-span-context`;
// `uber-trace-id`; `x-datadog-trace-id`...). Both bridges take a list of such
// names: the server side copies the ones a request carried into its context
// (kPassThroughKey), and the clients send them with every outgoing call.
//
// What arrives is untrusted, so the request id's safety rules apply: a value
// is kept only when it arrived exactly once and passes IsValidPassThroughValue
// (no control bytes, no non-ASCII, bounded); anything else is dropped, never
// copied, never a reason to reject the request.
//
//   ctx::PassThroughNames names = ctx::MakePassThroughNames({"x-b3-traceid"});
//   // server side, per request:   (values: every value of the header)
//   ctx::PassThroughHeaders kept;
//   ctx::AcceptPassThrough(names[0], values, kept);
//   c = ctx::WithValue(c, ctx::kPassThroughKey, std::move(kept));
//   // client side, per call:
//   if (auto* h = c.Value(ctx::kPassThroughKey)) for (auto& [n, v] : *h) ...
//
// Main names: PassThroughHeader, PassThroughHeaders, kPassThroughKey,
// PassThroughNames, MakePassThroughNames, IsValidPassThroughName,
// IsValidPassThroughValue, AcceptPassThrough.
//
// Thread-safety: every function is safe to call from any thread at the same
// time.

#ifndef CTX_PASS_THROUGH_H_
#define CTX_PASS_THROUGH_H_

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctx/export.h"
#include "ctx/key.h"

namespace ctx {

// PassThroughHeader is one header to pass on: its lowercase name and value.
struct PassThroughHeader {
  std::string name;
  std::string value;
};

// PassThroughHeaders is what a request carried of the configured headers, in
// the order of the configured names.
using PassThroughHeaders = std::vector<PassThroughHeader>;

// kPassThroughKey is the context value under which both bridges store the
// request's pass-through headers (every value valid), and from which their
// clients send them. Absent when the request carried none.
CTX_EXPORT inline constexpr Key<PassThroughHeaders> kPassThroughKey{
    "pass-through-headers"};

// kMaxPassThroughNameLength and kMaxPassThroughValueLength bound a header's
// name and value (bytes).
inline constexpr std::size_t kMaxPassThroughNameLength = 64;
inline constexpr std::size_t kMaxPassThroughValueLength = 256;

// IsValidPassThroughName reports whether `name` may be configured: 1 to
// kMaxPassThroughNameLength bytes of a-z 0-9 `-` `_` `.` (lowercase, as gRPC
// metadata keys must be), not a header ctx sets itself (x-request-id,
// x-session-id, grpc-timeout, x-request-timeout, traceparent, tracestate,
// baggage), not reserved by gRPC (`grpc-` prefix) and not one that describes
// the connection or the message (host, connection, keep-alive, te, trailer,
// transfer-encoding, upgrade, proxy-*, content-*, cookie, authorization,
// user-agent, accept*, ending in `-bin`).
[[nodiscard]] CTX_EXPORT bool IsValidPassThroughName(
    std::string_view name) noexcept;

// IsValidPassThroughValue reports whether `value` may be forwarded: 1 to
// kMaxPassThroughValueLength bytes, each 0x20..0x7E, not starting or ending
// with a space. Such a value can be sent on either transport and logged as
// is.
[[nodiscard]] CTX_EXPORT bool IsValidPassThroughValue(
    std::string_view value) noexcept;

// PassThroughNames is a validated list of names (see MakePassThroughNames).
using PassThroughNames = std::vector<std::string>;

// MakePassThroughNames lowercases `names`, drops repeats, and checks each
// with IsValidPassThroughName; throws std::invalid_argument naming the first
// invalid one (configuration is not wire input: a mistake there should stop
// the program, not be skipped silently).
[[nodiscard]] CTX_EXPORT PassThroughNames
MakePassThroughNames(std::span<const std::string> names);
[[nodiscard]] CTX_EXPORT PassThroughNames
MakePassThroughNames(std::initializer_list<std::string> names);

// AcceptPassThrough appends {name, value} to `out` when `values` (every value
// of the header `name` that arrived) holds exactly one value that passes
// IsValidPassThroughValue; returns whether it did. `name` must come from
// MakePassThroughNames.
CTX_EXPORT bool AcceptPassThrough(std::string_view name,
                                  std::span<const std::string_view> values,
                                  PassThroughHeaders& out);

}  // namespace ctx

#endif  // CTX_PASS_THROUGH_H_
