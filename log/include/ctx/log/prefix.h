// SPDX-License-Identifier: Apache-2.0
// ctx/log/prefix.h: the request prefix every ctx::log line starts with (not in
// Go).
//
// A service that serves many requests at once needs two facts on each log
// line to make sense of it: which request the line belongs to, and how much of
// that request's time budget was left when it was written. Prefix renders both
// (and the trace and span ids, when the context carries a trace) from a
// ctx::Context:
//
// clang-format off
//   [req=4bf92f3577b34da6a3ce929d0e0e4736 left=245ms]    live, with a deadline
//   [req=r1 trace=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7 left=245ms]
//                                                        with a trace
//   [req=4bf92f3577b34da6a3ce929d0e0e4736 left=none]     live, no deadline
//   [req=4bf92f3577b34da6a3ce929d0e0e4736 left=-3ms done=deadline_exceeded]
//   [req=- left=none done=canceled]                      no request id
// clang-format on
//
// The request id is read from ctx::kRequestIdKey, where both bridges
// (ctx::grpc, ctx::http) store it; PrefixOptions names another key for
// contexts built elsewhere. The trace id is read from ctx::kTraceContextKey
// (ctx/trace_context.h), where both bridges store the request's trace; it is
// left out when there is none. `span` is that trace's parent_id: the span of
// the call that brought the request to this hop, which the caller drew afresh
// for this call (ctx::ChildForCall). So one request shows the same trace id in
// every hop's log and a different span id at each hop. `left` is whole
// milliseconds, truncated toward zero, negative once the deadline has passed;
// `done` appears once the context is done.
//
//   std::string p = ctx::log::Prefix(c);
//   std::cerr << p << " reserving " << n << " items\n";
//
// Main names: PrefixOptions, Prefix, AppendPrefix.
//
// Thread-safety: every function is safe to call from any thread at the same
// time, on any context.

#ifndef CTX_LOG_PREFIX_H_
#define CTX_LOG_PREFIX_H_

#include <string>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/key.h"
#include "ctx/propagation.h"

namespace ctx::log {

// PrefixOptions says where Prefix finds the request id. A plain value; copy it
// freely.
//
// Lifetime: the key must outlive every use of the options (a namespace-scope
// key does).
struct PrefixOptions {
  // request_id_key is the context value holding the request id; never null.
  // The default is the key both bridges use.
  const Key<std::string>* request_id_key = &kRequestIdKey;
};

// Prefix returns the prefix described in the file comment for c, measured
// against `now`. A request id that fails ctx::IsValidRequestId (a value some
// other code stored) is rendered through ctx::LogSafe, so the prefix never
// holds control characters. Allocates one string.
[[nodiscard]] CTX_EXPORT std::string Prefix(const Context& c,
                                            const PrefixOptions& options = {},
                                            TimePoint now = Clock::now());

// AppendPrefix appends Prefix(c, options, now) to `out` (to build a line
// without an extra allocation).
CTX_EXPORT void AppendPrefix(std::string& out, const Context& c,
                             const PrefixOptions& options = {},
                             TimePoint now = Clock::now());

}  // namespace ctx::log

#endif  // CTX_LOG_PREFIX_H_
