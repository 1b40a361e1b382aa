// SPDX-License-Identifier: Apache-2.0
// ctx/grpc/server_interceptor.h: one ctx::Context per incoming gRPC call.
//
// Install the interceptor factory on a grpc::ServerBuilder; every call then
// gets a context derived from ServerOptions::root that is canceled when the
// client cancels, disconnects or runs out of time, when the server shuts the
// call down, and when the call ends. Handlers read it with
// ctx::grpc::CallContext (ctx/grpc/call_context.h), for sync, callback and
// async services alike.
//
//   namespace gx = grpc::experimental;
//   ctx::grpc::ServerOptions options;
//   options.max_timeout = std::chrono::seconds(30);
//   std::vector<std::unique_ptr<gx::ServerInterceptorFactoryInterface>> v;
//   v.push_back(ctx::grpc::MakeServerInterceptorFactory(options));
//   builder.experimental().SetInterceptorCreators(std::move(v));
//   ...
//   grpc::Status Echo(grpc::ServerContext* sc, const Req* q, Resp* r) {
//     ctx::Context c = ctx::grpc::CallContext(sc);
//     if (!DoWork(c, *q, r)) return ctx::grpc::StatusFromContext(c);
//     return grpc::Status::OK;
//   }
//
// Main names: ServerOptions, MakeServerInterceptorFactory.
//
// What each call's context holds (outermost first): ServerOptions::root; one
// cancelable node that the bridge ends the call with: a deadline, the earlier
// of the client's (grpc-timeout) and arrival + max_timeout, or arrival +
// default_timeout when the client sent none (a plain cancel node when there is
// no deadline); and values: the request id (ctx::kRequestIdKey, always valid:
// the client's x-request-id if it is valid, else a generated one, which is
// echoed back in the initial metadata: see echo_request_id), the session id
// (ctx::kSessionIdKey, only when the client sent one valid value), the trace
// context (ctx::kTraceContextKey: the client's traceparent, tracestate and
// baggage when valid, else a new trace, see ServerOptions::trace and
// ctx::AcceptTraceContext) and a
// ctx::grpc::CallInfo (method, peer).
// Client metadata is validated before anything is stored, echoed or compared;
// nothing from the wire asserts, and the bridge itself logs nothing (callers
// log, through ctx::LogSafe).
//
// How cancellation reaches the context, per server API (measured latencies in
// BENCHMARKS.md, "gRPC bridge"):
//   - callback and async: pushed by gRPC when the call closes (the
//     interceptor's POST_RECV_CLOSE hook), within a fraction of a millisecond.
//     For async services that hook runs on the application's thread that
//     drains the call's completion queue, so a handler that keeps that queue
//     busy delays it: with one queue thread, a server stream writing back to
//     back (unpaced) saw the client's cancel after ~0.4 s, the same stream
//     paced at 1 ms after 0.3 ms.
//   - sync: the C++ sync API tells a running handler nothing, but gRPC's core
//     cancels a call's child calls when the call closes. So for each sync
//     call whose handler asked for its context, the bridge starts two child
//     calls (GRPC_PROPAGATE_CANCELLATION, on an internal channel that never
//     connects: nothing is sent) whose completion, on a gRPC thread, ends the
//     context within about a millisecond, like the callback API. This costs
//     ~20 heap allocations per watched call, no thread and no work while it
//     runs. Nothing ever calls IsCancelled(), which costs ~20 µs a call and
//     can crash on an async call.
//
// Err() of a call's context: kDeadlineExceeded when its deadline passed, else
// kCanceled (Cause() says by whom: client, server TryCancel, call finished, or
// the root's cause). A client whose own deadline expires sends a plain cancel,
// which arrives shortly before the server's copy of that deadline; and a
// handler whose callee gave up at a deadline finishes just before its own.
// So any end of a call in its deadline's last moments (2 ms + 2 % of the
// budget, at most 50 ms) is left to the deadline's timer, and reported as
// kDeadlineExceeded when it fires: a call that finished normally that close to
// its deadline has a context that stays live until then.
//
// Every DEADLINE_EXCEEDED status the handler sends carries the trailing
// metadata "x-ctx-deadline-exceeded: 1" (ctx/proxy_headers.h), so that callers
// and proxies do not retry it as a transient failure. (A call that gRPC itself
// ends at its deadline gets gRPC's status, without it.)

#ifndef CTX_GRPC_SERVER_INTERCEPTOR_H_
#define CTX_GRPC_SERVER_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/pass_through.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"

namespace ctx::grpc {

// ServerOptions configures MakeServerInterceptorFactory. The defaults suit a
// typical server.
struct ServerOptions {
  // root is the parent of every call's context. Cancel it (before or during
  // grpc::Server::Shutdown) to cancel every call in flight at once. Default:
  // Background (never canceled).
  Context root;

  // max_timeout caps every call's budget: its deadline is at most the call's
  // arrival (when gRPC hands it to the server) + max_timeout, whatever the
  // client sent (a client may send up to 99999999 hours). nullopt: no cap.
  // Default 5 minutes; raise it (or set nullopt) for long-lived streams.
  std::optional<Clock::duration> max_timeout = std::chrono::minutes(5);

  // default_timeout is the budget of calls whose client sent no deadline.
  // nullopt (the default): such calls have no deadline of their own
  // (max_timeout still applies).
  std::optional<Clock::duration> default_timeout;

  // trust_envoy_timeout: also take Envoy's x-envoy-expected-rq-timeout-ms
  // (ctx/proxy_headers.h) as a budget; the earliest deadline wins and
  // max_timeout still applies. A repeated or malformed value is ignored. Only
  // for a server that a trusted Envoy fronts; default false.
  bool trust_envoy_timeout = false;

  // min_timeout: a call whose budget (after the cap) is smaller fails with
  // DEADLINE_EXCEEDED. Interceptor: its context is born expired, and whatever
  // status the handler returns is replaced; gRPC's interceptors cannot skip
  // the handler, so it still runs, seeing a done context. Interceptor-free
  // path (callback_server.h): a handler written with ServeUnary is not run at
  // all. nullopt (default): no minimum.
  std::optional<Clock::duration> min_timeout;

  // request_id_key is the metadata key read for the request id and used to echo
  // it. Lowercase ASCII (gRPC keys are); the factory lowercases it. It, and
  // session_key, must be 1 to 64 bytes of a-z 0-9 `-` `_` `.` after that, not
  // end in "-bin", not start with "grpc-" or "content-", and be neither "host"
  // nor a header that frames a message or steers a connection (connection,
  // te, transfer-encoding, ...): MakeServerInterceptorFactory and
  // MakeContextAllocator throw std::invalid_argument otherwise. Default
  // "x-request-id".
  std::string request_id_key = std::string(kRequestIdHeader);

  // echo_request_id: send the request id back in the initial metadata (under
  // request_id_key) when the bridge generated it, or replaced an invalid one
  // the client sent; a valid id the client sent is not echoed (the client
  // knows it already), unless always_echo_request_id. Only ids that pass
  // IsValidRequestId are ever echoed. Default true.
  bool echo_request_id = true;

  // always_echo_request_id: with echo_request_id, echo the client's own valid
  // id too (every response carries the id, at the cost of encoding it on each
  // one). Default false.
  bool always_echo_request_id = false;

  // session_key is the metadata key read for the session id. Default
  // "x-session-id".
  std::string session_key = std::string(kSessionIdHeader);

  // trace says what a call without a valid traceparent gets (a new trace by
  // default) and whether baggage is kept; see ctx/trace_context.h.
  TracePolicy trace;

  // pass_through names extra metadata (B3, vendor headers) copied from each
  // call into its context (ctx::kPassThroughKey) when it arrived once with a
  // valid value, for BoundClientContext to send on. Build it with
  // ctx::MakePassThroughNames (ctx/pass_through.h). Default: none.
  PassThroughNames pass_through;
};

// MakeServerInterceptorFactory returns the interceptor factory to pass to
// grpc::ServerBuilder::experimental().SetInterceptorCreators(). Put it last in
// that list: gRPC runs receive hooks from the last interceptor to the first,
// so the others can then read the call's context from their own
// POST_RECV_INITIAL_METADATA hook on.
//
// Lifetime: the server owns the factory. State shared by the server's calls
// (the options) lives until the factory and the last call it intercepted are
// gone. The sync push's channel and completion queue are created once per
// process and kept until exit.
//
// Thread-safety: gRPC calls the factory from its own threads.
[[nodiscard]] CTX_EXPORT
    std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>
    MakeServerInterceptorFactory(ServerOptions options = {});

}  // namespace ctx::grpc

#endif  // CTX_GRPC_SERVER_INTERCEPTOR_H_
