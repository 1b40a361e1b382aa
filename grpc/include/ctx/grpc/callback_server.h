// SPDX-License-Identifier: Apache-2.0
// ctx/grpc/callback_server.h: call contexts for callback services without an
// interceptor.
//
// Install the context allocator on a grpc::ServerBuilder; every callback call
// then runs with a grpc::CallbackServerContext of the bridge's own that builds
// the call's ctx::Context on first use, with the same contents as the
// interceptor's (server_interceptor.h: capped deadline, request id, session,
// trace context, pass-through headers, CallInfo). Handlers read it with
// ctx::grpc::CallContext, as on the interceptor path, and return the context's
// own reactor, which ends the context when the client cancels and when the call
// is done:
//
//   builder.SetContextAllocator(ctx::grpc::MakeContextAllocator(options));
//   ...
//   grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* sc,
//                                  const Req* q, Resp* r) override {
//     return ctx::grpc::ServeUnary(sc, [&](grpc::ServerUnaryReactor* reactor) {
//       ctx::Context c = ctx::grpc::CallContext(sc);
//       // Work that waits runs elsewhere, with c, and Finishes the reactor
//       // (see "What differs" below):
//       pool.Post([=] { ...; reactor->Finish(grpc::Status::OK); });
//     });
//   }
//
// Main names: MakeContextAllocator, ServeUnary, UnaryReactorFor,
// NotifyCallCanceled.
//
// Which path to choose:
//   - this one for callback services where the per-call cost matters: no
//     interceptor runs (gRPC's interceptor machinery alone costs more than the
//     bridge), and nothing is built for a call that never asks for its
//     context. Unary handlers return UnaryReactorFor(sc); stream reactors call
//     NotifyCallCanceled(sc) from their OnCancel.
//   - the interceptor (server_interceptor.h) for sync and async services, for
//     servers that mix APIs or register generic services, when handlers
//     cannot be changed (it needs nothing from them), and when callback
//     handlers do their work inside the handler method (below).
// Install one of them per server: with both, every callback call builds two
// contexts (CallContext returns the allocator's).
//
// What differs from the interceptor path:
//   - CallInfo::method() is empty: without an interceptor gRPC 1.51 does not
//     tell the server which method a call is for.
//   - The request id is echoed when the context is built (first CallContext):
//     ask for the context before the handler sends its initial metadata, and
//     never while another thread may be sending it (Finish,
//     StartSendInitialMetadata): gRPC reads the initial metadata there
//     without a lock, and the echo adds to it (a data race). ServeUnary asks
//     first.
//   - Building the context reads sc->client_metadata(), which gRPC fills on
//     its first read without a lock: two first reads on two threads race.
//     Ask for the context on the handler's thread before another thread may
//     read the metadata (ServeUnary builds it before the handler runs).
//   - The context learns of a client's cancel only through the reactor, and
//     gRPC calls the reactor's OnCancel only once the handler method has
//     returned it: code running inside the handler method (ServeUnary's
//     handler included) sees its context end at its deadline, not when the
//     client goes away; the cancel reaches the context as soon as the method
//     returns. Work that should stop when the client cancels runs after that,
//     on a thread of its own (as gRPC's callback API asks of any work that
//     waits), or the server uses the interceptor, whose context ends at once
//     either way. A unary handler that returns sc->DefaultReactor() (or a
//     stream reactor that does not forward OnCancel) sees its context end at
//     its deadline or when the call is done, never at a cancel.
//   - ServerOptions::min_timeout: a call below the minimum is answered with
//     DEADLINE_EXCEEDED (and the marker "x-ctx-deadline-exceeded: 1") before
//     the handler's own code runs, when the handler is written with
//     ServeUnary; otherwise its context is born with kDeadlineExceeded, as on
//     the interceptor path, but its status is whatever the handler sends (the
//     interceptor forces DEADLINE_EXCEEDED; here nothing sees the status).
//   - For the same reason, other DEADLINE_EXCEEDED statuses carry no
//     "x-ctx-deadline-exceeded" marker unless the handler adds it.

#ifndef CTX_GRPC_CALLBACK_SERVER_H_
#define CTX_GRPC_CALLBACK_SERVER_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <memory>
#include <utility>

#include "ctx/export.h"
#include "ctx/grpc/server_interceptor.h"

namespace ctx::grpc {

// MakeContextAllocator returns the allocator to pass to
// grpc::ServerBuilder::SetContextAllocator(): every callback call (not generic
// ones) gets a context of the bridge's own, configured by `options` (the sync
// watcher options do not apply). The server owns the allocator; gRPC calls it
// from its own threads.
[[nodiscard]] CTX_EXPORT std::unique_ptr<::grpc::ContextAllocator>
MakeContextAllocator(ServerOptions options = {});

// NotifyCallCanceled ends the context of the call `sc` belongs to with
// "canceled by the client" (kDeadlineExceeded instead when its deadline is
// due), as the interceptor does when gRPC reports the call canceled. Call it
// from a stream reactor's OnCancel. Does nothing for a context not made by
// MakeContextAllocator's allocator, or already done. Thread-safe.
CTX_EXPORT void NotifyCallCanceled(::grpc::CallbackServerContext* sc) noexcept;

// UnaryReactorFor returns the reactor of the call `sc` belongs to: a
// grpc::ServerUnaryReactor that lives inside the call's CallbackContext
// (no allocation), ends the call's context when gRPC reports a cancel
// (OnCancel) and when the call is done (OnDone). Return it from the handler,
// and Finish it once, as with DefaultReactor. Its reactions only end the
// context: the context's AfterFunc callbacks run on gRPC's thread then, so they
// must not block (hand work to a thread of your own). For a context not made by
// MakeContextAllocator's allocator it returns sc->DefaultReactor().
// Call it at most once per call.
[[nodiscard]] CTX_EXPORT ::grpc::ServerUnaryReactor* UnaryReactorFor(
    ::grpc::CallbackServerContext* sc);

// AnswerBelowMinimum finishes `reactor` with DEADLINE_EXCEEDED (and the
// marker) and returns true when `sc` is the allocator's context of a call that
// arrived below ServerOptions::min_timeout; else returns false. Builds the
// call's context. ServeUnary calls it; a handler that uses UnaryReactorFor
// directly may call it first.
CTX_EXPORT bool AnswerBelowMinimum(::grpc::CallbackServerContext* sc,
                                   ::grpc::ServerUnaryReactor* reactor);

// ServeUnary runs a unary handler on the call's reactor: it calls
// handler(reactor) with UnaryReactorFor(sc), which the handler must Finish
// once (now or later, from any thread), and returns that reactor for the
// handler method to return. A call that arrived with less budget than
// ServerOptions::min_timeout is answered with DEADLINE_EXCEEDED at once and
// `handler` is not called (interceptor-free path only: on the interceptor's
// path the handler runs and the interceptor replaces its status).
template <class F>
::grpc::ServerUnaryReactor* ServeUnary(::grpc::CallbackServerContext* sc,
                                       F&& handler) {
  ::grpc::ServerUnaryReactor* reactor = UnaryReactorFor(sc);
  if (!AnswerBelowMinimum(sc, reactor)) std::forward<F>(handler)(reactor);
  return reactor;
}

}  // namespace ctx::grpc

#endif  // CTX_GRPC_CALLBACK_SERVER_H_
