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

#include <grpcpp/server_context.h>
#include <grpcpp/support/interceptor.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "call_state.h"
#include "ctx/grpc/call_context.h"
#include "ctx/proxy_headers.h"
#include "gpr_clock.h"
#include "incoming_metadata.h"
#include "sync_watcher.h"

namespace ctx::grpc {
namespace internal {
namespace {

using ::grpc::experimental::InterceptionHookPoints;
using ::grpc::experimental::InterceptorBatchMethods;
using ::grpc::experimental::ServerRpcInfo;

constexpr Clock::duration kMinWatchPeriod = std::chrono::microseconds(100);

std::string Lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

// ServerShared is what all calls of one server share. Interceptors hold it by
// shared_ptr, so it lives until the factory and the last interceptor are gone
// (callback-API interceptors can outlive the server's shutdown by a little).
struct ServerShared {
  explicit ServerShared(ServerOptions o)
      : options(std::move(o)),
        watcher(std::max(options.sync_watch_period, kMinWatchPeriod),
                options.sync_watch_max_cpu) {
    options.request_id_key = Lowercase(std::move(options.request_id_key));
    options.session_key = Lowercase(std::move(options.session_key));
  }

  ServerOptions options;
  SyncWatcher watcher;
};

// EffectiveDeadline combines the client's deadline with the server's policy
// (see ServerOptions).
std::optional<TimePoint> EffectiveDeadline(const ServerOptions& options,
                                           gpr_timespec client,
                                           std::optional<Clock::duration> envoy,
                                           TimePoint now) {
  // Saturates: an absurd grpc-timeout cannot overflow.
  std::optional<TimePoint> deadline = FromGprDeadline(client);
  if (envoy) {
    deadline = std::min(deadline.value_or(TimePoint::max()),
                        now + std::min(*envoy, TimePoint::max() - now));
  }
  if (!deadline && options.default_timeout) {
    deadline = now + std::min(*options.default_timeout, TimePoint::max() - now);
  }
  if (options.max_timeout) {
    const TimePoint cap =
        now + std::min(*options.max_timeout, TimePoint::max() - now);
    deadline = std::min(deadline.value_or(TimePoint::max()), cap);
  }
  return deadline;
}

class ServerInterceptor final : public ::grpc::experimental::Interceptor {
 public:
  ServerInterceptor(std::shared_ptr<ServerShared> shared, ServerRpcInfo* info)
      : shared_(std::move(shared)), info_(info) {}

  ~ServerInterceptor() override {
    if (!call_) return;  // the call failed before its metadata arrived
    // Unregister before call_ dies: the watcher and the registry point at it.
    shared_->watcher.Unwatch(&*call_);
    call_->End(CallFinishedCause());
    CallRegistry::Global().Erase(call_->server_context(), &*call_);
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
    ::grpc::ServerContextBase* sc = info_->server_context();
    const Metadata* metadata = methods->GetRecvInitialMetadata();
    if (sc == nullptr || metadata == nullptr) return;
    const ServerOptions& options = shared_->options;
    IncomingIds ids =
        ReadIncomingIds(*metadata, options.request_id_key, options.session_key);
    AcceptedTrace trace = ReadIncomingTrace(*metadata, options.trace);
    PassThroughHeaders pass = ReadPassThrough(*metadata, options.pass_through);

    const TimePoint now = Clock::now();
    std::optional<TimePoint> deadline = EffectiveDeadline(
        options, sc->raw_deadline(),
        options.trust_envoy_timeout ? ReadEnvoyTimeout(*metadata)
                                    : std::nullopt,
        now);
    // Below the minimum: born expired (see ServerOptions::min_timeout).
    below_minimum_ = deadline && options.min_timeout &&
                     *deadline - now < *options.min_timeout;
    if (below_minimum_) deadline = now;
    // One cancelable node ends the call: the deadline's node when there is a
    // deadline (a timer node is a cancel node, and taking a cause from its
    // cancel function keeps Cause() precise), else a cancel node. When gRPC
    // closes a call because its deadline passed, the context then reports
    // kDeadlineExceeded (CallState::End defers to the timer).
    Context c;
    CancelCauseFunc end_call;
    if (deadline) {
      ContextAndCancel d = WithDeadline(options.root, *deadline);
      end_call = ContextPeer::MakeCancelCause(ContextPeer::NodeOf(d.context));
      c = std::move(d.context);
    } else {
      auto [cc, cancel] = WithCancelCause(options.root);
      c = std::move(cc);
      end_call = std::move(cancel);
    }
    // Echo only an id the client does not know yet (generated, or replacing an
    // invalid one), unless always_echo_request_id; echo first: the value node
    // can then take the id's string.
    if (options.echo_request_id && (options.always_echo_request_id ||
                                    ids.request_id.source != IdSource::kIncoming))
      sc->AddInitialMetadata(options.request_id_key, ids.request_id.id);
    const IdSource source = ids.request_id.source;
    Context context = WithValue(c, kRequestIdKey, std::move(ids.request_id.id));
    if (ids.session_id)
      context = WithValue(context, kSessionIdKey, std::move(*ids.session_id));
    if (trace.context)
      context = WithValue(context, kTraceContextKey, std::move(*trace.context));
    if (!pass.empty())
      context = WithValue(context, kPassThroughKey, std::move(pass));
    context = WithValue(
        context, kCallInfoKey,
        CallInfo{info_->method() ? info_->method() : "", sc->peer(), source});

    const bool callback_api =
        dynamic_cast<::grpc::CallbackServerContext*>(sc) != nullptr;
    call_.emplace(std::move(context), std::move(end_call), deadline, sc,
                  callback_api, &shared_->watcher);
    CallRegistry::Global().Insert(sc, &*call_);
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
