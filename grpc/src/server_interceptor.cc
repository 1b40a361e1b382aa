// SPDX-License-Identifier: Apache-2.0
// The server interceptor: builds each call's context and ends it. See
// ctx/grpc/server_interceptor.h.
//
// Hook points used (../shared/design/grpc-notes.md: the order per API):
//   POST_RECV_INITIAL_METADATA: build the context, register it, echo the
//     request id. Sync and callback handlers run nested inside this hook's
//     Proceed().
//   PRE_SEND_STATUS: the handler is finishing: stop watching (sync) before the
//     status goes out.
//   POST_RECV_CLOSE: the call is over (canceled, or finished after its
//     status): end the context. Never call IsCancelled() here (sync: unbounded
//     recursion).
//   PRE_SEND_CANCEL: the server called TryCancel(): end the context.
// The interceptor's destructor ends the context (if no hook did) and
// unregisters the call.

#include "ctx/grpc/server_interceptor.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/interceptor.h>

#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <utility>

#include "call_builder.h"
#include "call_registry.h"
#include "call_state.h"
#include "ctx/grpc/call_context.h"
#include "ctx/proxy_headers.h"
#include "incoming_metadata.h"
#include "sync_watcher.h"

namespace ctx::grpc {
namespace internal {
namespace {

using ::grpc::experimental::InterceptionHookPoints;
using ::grpc::experimental::InterceptorBatchMethods;
using ::grpc::experimental::ServerRpcInfo;

// ServerShared is what all calls of one server share. Interceptors hold it by
// shared_ptr, so it lives until the factory and the last interceptor are gone
// (callback-API interceptors can outlive the server's shutdown by a little).
struct ServerShared {
  explicit ServerShared(ServerOptions o)
      : options(NormalizeOptions(std::move(o))) {}

  ServerOptions options;
  SyncWatcher watcher;
};

class ServerInterceptor final : public ::grpc::experimental::Interceptor {
 public:
  ServerInterceptor(std::shared_ptr<ServerShared> shared, ServerRpcInfo* info)
      : shared_(std::move(shared)), info_(info) {}

  ~ServerInterceptor() override {
    if (!call_) return;  // the call failed before its metadata arrived
    // Unregister before call_ dies: the watcher and the registry point at it.
    shared_->watcher.Unwatch(&*call_);
    call_->End(CallFinishedCause());
    CallRegistry::Global().Erase(&*call_);
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      StartCall(methods);
      if (call_ && !call_->callback_api()) {
        // A sync handler runs inside this Proceed(), and when it returns this
        // interceptor may already be destroyed: touch no member after it. The
        // scope only restores a thread_local.
        StartingCallScope scope(&*call_);
        methods->Proceed();
        return;
      }
    }
    if (call_) {
      if (methods->QueryInterceptionHookPoint(
              InterceptionHookPoints::PRE_SEND_STATUS)) {
        call_->MarkStatusSent();
        shared_->watcher.Unwatch(&*call_);
        MarkDeadlineExceeded(methods);
      }
      if (methods->QueryInterceptionHookPoint(
              InterceptionHookPoints::POST_RECV_CLOSE)) {
        shared_->watcher.Unwatch(&*call_);
        call_->End(call_->StatusSent() ? CallFinishedCause()
                                       : ClientCanceledCause());
      }
      if (methods->QueryInterceptionHookPoint(
              InterceptionHookPoints::PRE_SEND_CANCEL)) {
        call_->End(ServerCanceledCause());
      }
    }
    methods->Proceed();
  }

 private:
  // StartCall builds the call's context (see the header for its shape) from the
  // client's metadata and deadline, registers it for CallContext and echoes the
  // request id.
  void StartCall(InterceptorBatchMethods* methods) {
    // gRPC runs this hook once per call; a second run must not rebuild the
    // registered CallState in place.
    if (call_) return;
    ::grpc::ServerContextBase* sc = info_->server_context();
    const Metadata* metadata = methods->GetRecvInitialMetadata();
    if (sc == nullptr || metadata == nullptr) return;
    // The call arrives now: one clock read serves both.
    const TimePoint now = Clock::now();
    BuiltCall built =
        BuildCall(shared_->options, sc, *metadata, info_->method(),
                  IsGeneric(sc), /*echo=*/true, /*arrived=*/now, now);
    below_minimum_ = built.below_minimum;
    const bool callback_api = IsCallbackApi(*sc);
    call_.emplace(std::move(built.context), std::move(built.end_call),
                  built.deadline, built.deadline_slack, sc, callback_api,
                  &shared_->watcher);
    CallRegistry::Global().Insert(&*call_);
  }

  // IsCallbackApi says whether `sc` is a callback call's context. The plain
  // sync and callback contexts are told by their exact type, without a
  // dynamic_cast's walk of the class graph; other types (generic and
  // allocator-made contexts, async ones) take the cast.
  static bool IsCallbackApi(const ::grpc::ServerContextBase& sc) {
    const std::type_info& type = typeid(sc);
    if (type == typeid(::grpc::CallbackServerContext)) return true;
    if (type == typeid(::grpc::ServerContext)) return false;
    return dynamic_cast<const ::grpc::CallbackServerContext*>(&sc) != nullptr;
  }

  // IsGeneric says whether the call is for a generic service, whose method
  // name the client chooses. gRPC types every generic call as a bidi stream,
  // so other calls skip the two casts (about 300 instructions per call).
  // Were a generic call ever typed otherwise, its name would still be kept in
  // a table CallInfoMaker bounds.
  bool IsGeneric(const ::grpc::ServerContextBase* sc) const {
    return info_->type() == ServerRpcInfo::Type::BIDI_STREAMING &&
           (dynamic_cast<const ::grpc::GenericServerContext*>(sc) != nullptr ||
            dynamic_cast<const ::grpc::GenericCallbackServerContext*>(sc) !=
                nullptr);
  }

  // MarkDeadlineExceeded (PRE_SEND_STATUS) fails a call that arrived below
  // the minimum budget, and marks every DEADLINE_EXCEEDED status in its
  // trailing metadata.
  void MarkDeadlineExceeded(InterceptorBatchMethods* methods) {
    if (below_minimum_) {
      methods->ModifySendStatus(
          ::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED,
                         "ctx: budget below the server's minimum"));
    }
    if (methods->GetSendStatus().error_code() !=
        ::grpc::StatusCode::DEADLINE_EXCEEDED)
      return;
    if (auto* trailing = methods->GetSendTrailingMetadata()) {
      trailing->emplace(std::string(kDeadlineExceededHeader),
                        std::string(kDeadlineExceededValue));
    }
  }

  const std::shared_ptr<ServerShared> shared_;
  ServerRpcInfo* const info_;
  // below_minimum_: set by StartCall (POST_RECV_INITIAL_METADATA), read by
  // later hooks of the same call, which gRPC orders after it.
  bool below_minimum_ = false;
  // call_: built by POST_RECV_INITIAL_METADATA, which gRPC runs before every
  // other hook of the call; only read afterwards (hooks of one call may run on
  // different threads, but never before that one). It lives here rather than
  // in an allocation of its own: gRPC allocates this interceptor once per call
  // anyway, and destroys it only after the call's last hook.
  std::optional<CallState> call_;
};

class ServerInterceptorFactory final
    : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerInterceptorFactory(ServerOptions options)
      : shared_(std::make_shared<ServerShared>(std::move(options))) {}

  ::grpc::experimental::Interceptor* CreateServerInterceptor(
      ServerRpcInfo* info) override {
    return new ServerInterceptor(shared_, info);
  }

 private:
  const std::shared_ptr<ServerShared> shared_;
};

}  // namespace
}  // namespace internal

std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>
MakeServerInterceptorFactory(ServerOptions options) {
  return std::make_unique<internal::ServerInterceptorFactory>(
      std::move(options));
}

}  // namespace ctx::grpc
