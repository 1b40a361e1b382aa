// SPDX-License-Identifier: Apache-2.0
// ctx/grpc/call_context.h: the accessor a gRPC handler uses to get its call's
// ctx::Context.
//
//   grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* sc,
//                                  const Req* q, Resp* r) override {
//     ctx::Context c = ctx::grpc::CallContext(sc);
//     const std::string* id = c.Value(ctx::kRequestIdKey);  // always set
//     const ctx::grpc::CallInfo* call = c.Value(ctx::grpc::kCallInfoKey);
//     ...
//   }
//
// Main names: CallContext, CallInfo, kCallInfoKey. The interceptor that creates
// the contexts is in ctx/grpc/server_interceptor.h.

#ifndef CTX_GRPC_CALL_CONTEXT_H_
#define CTX_GRPC_CALL_CONTEXT_H_

#include <grpcpp/server_context.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/propagation.h"

namespace ctx::grpc {

// CallContext returns the context of the call that `server_context` belongs to,
// as built by the interceptor of MakeServerInterceptorFactory, or by the
// context allocator of MakeContextAllocator (callback_server.h; the first call
// builds it there): canceled when
// the client cancels or disconnects, when its deadline passes, when the server
// cancels the call, and when the call ends.
//
// Valid phase: from the moment the handler is invoked (sync: the handler
// function; callback: the method that returns the reactor, and reactor
// callbacks; async: once the request tag has been delivered) until gRPC
// destroys the call's interceptors, which happens after the call is finished
// (sync: after the handler returns; callback: possibly before OnDone runs;
// async: when the ServerContext is destroyed; without an interceptor: until
// gRPC releases the context, after OnDone). Copy the returned Context if you
// need it beyond that: the copy stays valid, and is done by then. Outside that
// phase, or when the interceptor is not installed, it returns a context that is
// already canceled, with Cause "ctx::grpc: no call context ...", so that misuse
// stops work instead of letting it run unbounded.
//
// Sync API: the first call to CallContext made on the handler's own thread also
// enrolls the call with the server's cancellation watcher (see
// ServerOptions::sync_watch_period). Call it there before handing the context
// to other threads; a sync call whose context was never asked for on its
// handler thread notices cancellation only when it ends.
//
// Thread-safety: safe from any thread. Cost: one sharded-map lookup and a
// handle copy.
[[nodiscard]] CTX_EXPORT Context
CallContext(const ::grpc::ServerContextBase* server_context);

namespace internal {
class CallState;
class CallRegistry;
// CallInfoSource is what the bridge builds a CallInfo from. Not API.
struct CallInfoSource {
  const ::grpc::ServerContextBase* server_context = nullptr;
  const char* method = nullptr;  // null: ""
  IdSource request_id_source = IdSource::kGenerated;
};
}  // namespace internal

// CallInfo describes the call a context belongs to; the bridge stores one under
// kCallInfoKey. Its strings are read from gRPC on first use (most calls never
// ask for them), and then kept: a view it returned stays valid as long as the
// CallInfo does (that is, a context that holds it).
//
// Lifetime: a CallInfo may outlive its call (a copy of the context kept past
// the end). When the call ends, the bridge copies the strings not read yet if
// anything besides the bridge still holds the call's context, and stops
// reading gRPC's call; a context that CallContext hands out later has its
// strings copied then. So reading them at any time is safe, and gives the
// call's values ("" for a peer gRPC did not know, and for a string first read
// after a call that ended with no moment at which gRPC's call was known to be
// readable: an interceptor-path call that never got its POST_RECV_CLOSE).
//
// Thread-safety: every method may be called from any thread at the same time.
// Neither copyable nor movable (it lives inside the context): copy the strings.
class CTX_EXPORT CallInfo {
 public:
  // For the bridge (the context's value node builds it in place): what
  // `source` points to must stay valid until the bridge ends the call.
  explicit CallInfo(const internal::CallInfoSource& source) noexcept;
  CallInfo(const CallInfo&) = delete;
  CallInfo& operator=(const CallInfo&) = delete;

  // method is the full method name, "/package.Service/Method" ("" when the
  // path does not know it: callback_server.h). For generic services it is
  // whatever the client sent as the HTTP/2 :path: log it through ctx::LogSafe.
  [[nodiscard]] std::string_view method() const;
  // peer is gRPC's description of the client, e.g. "ipv4:127.0.0.1:50212".
  [[nodiscard]] std::string_view peer() const;
  // request_id_source says whether the request id (under ctx::kRequestIdKey)
  // came from the client or was generated because the client sent none or an
  // invalid one (kReplaced: worth a log line).
  [[nodiscard]] IdSource request_id_source() const noexcept {
    return request_id_source_;
  }

 private:
  friend class internal::CallState;
  friend class internal::CallRegistry;
  // Unlink (the bridge, when the call ends, while gRPC's call is still
  // readable) copies the strings not read yet when `copy` is set, and from
  // then on readers no longer read gRPC's call. `forget` also drops the links
  // (the call is gone). Idempotent.
  void Unlink(bool copy, bool forget) const;
  // CaptureIfUnlinked copies the strings not read yet after Unlink, from the
  // links (the caller knows gRPC's call to be readable).
  void CaptureIfUnlinked() const;
  std::string_view Read(uint8_t bit) const;
  void CaptureLocked(uint8_t bit) const;

  static constexpr uint8_t kMethod = 1;
  static constexpr uint8_t kPeer = 2;

  const IdSource request_id_source_;
  mutable std::mutex mu_;
  // server_context_, method_source_: gRPC's call; null once forgotten (under
  // mu_). linked_: readers may read them (written under mu_; false after
  // Unlink, never true again).
  mutable const ::grpc::ServerContextBase* server_context_;
  mutable const char* method_source_;
  mutable std::atomic<bool> linked_{true};
  // read_: the bits of the fields whose string is set. A bit is set (release,
  // under mu_) after its string is written, and the string never changes
  // afterwards: a reader that sees the bit (acquire) reads it without mu_.
  mutable std::atomic<uint8_t> read_{0};
  mutable std::string method_;
  mutable std::string peer_;
};

// kCallInfoKey is the context value holding the call's CallInfo.
CTX_EXPORT inline constexpr Key<CallInfo> kCallInfoKey{"grpc-call"};

// operator<< prints "method=... peer=...", with the method made log-safe.
CTX_EXPORT std::ostream& operator<<(std::ostream& os, const CallInfo& info);

}  // namespace ctx::grpc

#endif  // CTX_GRPC_CALL_CONTEXT_H_
