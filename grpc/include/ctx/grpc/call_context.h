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
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

#include "ctx/context.h"
#include "ctx/export.h"
#include "ctx/propagation.h"

namespace ctx::grpc {
namespace internal {
struct CallInfoMaker;  // grpc/src/call_info.h
}  // namespace internal

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
// need it beyond that: the copy stays valid, and is done by then (a call that
// ended in its deadline's last moments leaves its end to the deadline's
// timer: the copy is done when the deadline passes, at most 50 ms later, with
// kDeadlineExceeded; see server_interceptor.h). Outside that phase while
// `server_context` is still alive (before an async call's request tag is
// delivered; a callback reactor's OnDone), or when the interceptor is not
// installed, it returns a context that is already canceled,
// with Cause "ctx::grpc: no call context ...", so that misuse stops work
// instead of letting it run unbounded. `server_context` must be alive: gRPC
// frees or reuses a call's ServerContext once the call is done (a later call
// may get the same address, and CallContext would then answer for that call),
// so keep the Context, never the pointer, to ask later.
//
// Sync API: the first call to CallContext made on the handler's own thread also
// enrolls the call with the server's cancellation watcher (see "How
// cancellation reaches the context" in ctx/grpc/server_interceptor.h). Call it
// there before handing the context to other threads; a sync call whose context
// was never asked for on its handler thread notices cancellation only when it
// ends.
//
// Thread-safety: safe from any thread (on the interceptor-free path, mind the
// first call: callback_server.h). Cost: one sharded-map lookup and a handle
// copy; the sync enrollment adds two child calls (~20 allocations).
[[nodiscard]] CTX_EXPORT Context
CallContext(const ::grpc::ServerContextBase* server_context);

// CallInfo describes the call a context belongs to; the bridge stores one under
// kCallInfoKey. It owns what it reports: a copy stays valid after its call and
// its context are gone. The bridge reads the peer from gRPC on the first
// peer() (or copy), not per call; when the call ends, a CallInfo that a
// context still held elsewhere can reach gets it then, so peer() answers the
// same after the call. Reading and copying from it are safe from any thread;
// moving from it and assigning to it are not (as for any object).
class CTX_EXPORT CallInfo {
 public:
  CallInfo() noexcept = default;
  // A CallInfo with a copy of `method` and `peer` (tests, adapters).
  CallInfo(std::string_view method, std::string_view peer,
           IdSource request_id_source);
  CallInfo(const CallInfo& other);
  CallInfo& operator=(const CallInfo& other);
  CallInfo(CallInfo&& other) noexcept;
  CallInfo& operator=(CallInfo&& other) noexcept;
  ~CallInfo();

  // method is the full method name, "/package.Service/Method"; empty on the
  // interceptor-free path (callback_server.h). For generic services it is
  // whatever the client sent as the HTTP/2 :path: log it through
  // ctx::LogSafe.
  [[nodiscard]] std::string_view method() const noexcept {
    return shared_method_ != nullptr ? std::string_view(*shared_method_)
                                     : std::string_view(own_method_);
  }
  // peer is gRPC's description of the client, e.g. "ipv4:127.0.0.1:50212".
  // The first call for a bridge's CallInfo asks gRPC (a lock and a copy);
  // later calls read what it got.
  [[nodiscard]] std::string_view peer() const noexcept {
    const char* p = peer_.load(std::memory_order_acquire);
    return p != nullptr ? std::string_view(p, peer_size_) : PeerSlow();
  }
  // request_id_source says whether the request id (under ctx::kRequestIdKey)
  // came from the client or was generated because the client sent none or an
  // invalid one (kReplaced: worth a log line).
  [[nodiscard]] IdSource request_id_source() const noexcept {
    return request_id_source_;
  }

 private:
  friend struct internal::CallInfoMaker;
  void CopyPeer(std::string_view peer);
  // PeerSlow is peer() before peer_ is seen set: it reads the peer through
  // EndLink while call_ is set, and returns what peer_ holds.
  std::string_view PeerSlow() const noexcept;
  // EndLink clears call_ (under a lock striped by address), first reading
  // the peer from it when `read_peer` and it is still set; returns what peer_
  // holds then.
  std::string_view EndLink(bool read_peer) const noexcept;
  // FreeOwned frees the peer (destructor, move assignment).
  void FreeOwned() noexcept;

  // shared_method_: a registered method's name, kept once per process (it is
  // never freed); else own_method_ holds the name.
  const std::string* shared_method_ = nullptr;
  std::string own_method_;
  // peer_: peer_size_ bytes, allocated by gRPC (gpr_malloc) and freed with
  // gpr_free; null until read, and when empty. Set once: peer_size_ is written
  // before peer_ is published (release), and never after.
  mutable std::atomic<char*> peer_{nullptr};
  mutable std::size_t peer_size_ = 0;
  IdSource request_id_source_ = IdSource::kGenerated;
  // call_: the live call to read the peer from, until the peer is read or
  // the call ends; null otherwise. Borrowed, without a reference of its own:
  // the bridge ends the link (CallInfoMaker::EndCall) while gRPC still holds
  // the call (grpc/src/call_state.h says why it does).
  mutable std::atomic<grpc_call*> call_{nullptr};
};

// kCallInfoKey is the context value holding the call's CallInfo.
CTX_EXPORT inline constexpr Key<CallInfo> kCallInfoKey{"grpc-call"};

// operator<< prints "method=... peer=...", with the method made log-safe.
CTX_EXPORT std::ostream& operator<<(std::ostream& os, const CallInfo& info);

}  // namespace ctx::grpc

#endif  // CTX_GRPC_CALL_CONTEXT_H_
