// SPDX-License-Identifier: Apache-2.0
// The interceptor-free path for callback services: a context allocator whose
// contexts build the call's ctx::Context on first use. See
// ctx/grpc/callback_server.h.

#include "ctx/grpc/callback_server.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "call_builder.h"
#include "callback_context.h"
#include "ctx/proxy_headers.h"

namespace ctx::grpc {
namespace internal {

Context CallbackContext::Get() {
  MutexLock lock(mu_);
  if (!call_) {
    // An end that came first (the call is over): no echo, and the context is
    // judged as of that end (BuildCall): born canceled, or ended by its
    // deadline's timer.
    const EarlyEnd early{ended_, ended_at_};
    BuiltCall built =
        BuildCall(*options_, this, client_metadata(), nullptr,
                  /*generic=*/false, /*echo=*/ended_ == nullptr, arrived_,
                  Clock::now(), ended_ ? &early : nullptr);
    below_minimum_ = built.below_minimum;
    call_.emplace(std::move(built.context), std::move(built.end_call),
                  built.deadline, built.deadline_slack, this,
                  /*callback_api=*/true,
                  /*watcher=*/nullptr);
  }
  return call_->context();
}

void CallbackContext::End(const Error& cause) noexcept {
  {
    MutexLock lock(mu_);
    if (!call_) {
      if (ended_ == nullptr) {
        ended_ = &cause;
        ended_at_ = Clock::now();
      }
      return;
    }
  }
  // call_ is set once and lives as long as this object; End may run the
  // context's callbacks: not under mu_.
  call_->End(cause);
}

bool CallbackContext::BelowMinimum() {
  (void)Get();
  MutexLock lock(mu_);
  return below_minimum_;
}

void CallbackContext::Reactor::OnCancel() {
  owner_->End(ClientCanceledCause());
}

void CallbackContext::Reactor::OnDone() { owner_->End(CallFinishedCause()); }

namespace {

class Allocator final : public ::grpc::ContextAllocator {
 public:
  explicit Allocator(ServerOptions options)
      : options_(NormalizeOptions(std::move(options))) {}

  ::grpc::CallbackServerContext* NewCallbackServerContext() override {
    return new CallbackContext(&options_);
  }
  // Release(GenericCallbackServerContext*) stays the base's no-op: this
  // allocator makes no generic contexts.
  using ::grpc::ContextAllocator::Release;
  // gRPC releases a context after the call's OnDone: end what is left (a
  // handler that returned DefaultReactor has no OnDone of ours). gRPC passes
  // its own contexts here too: a call to a method no service registered is
  // served by gRPC's generic service, with a GenericCallbackServerContext
  // that gRPC made and destroys itself. Only ours are ended and freed.
  void Release(::grpc::CallbackServerContext* sc) override {
    if (CallbackContext* c = AsCallbackContext(sc)) {
      c->End(CallFinishedCause());
      delete c;
    }
  }

 private:
  // Outlives every context: the server owns the allocator and releases every
  // context before it is destroyed.
  const ServerOptions options_;
};

}  // namespace

}  // namespace internal

std::unique_ptr<::grpc::ContextAllocator> MakeContextAllocator(
    ServerOptions options) {
  return std::make_unique<internal::Allocator>(std::move(options));
}

void NotifyCallCanceled(::grpc::CallbackServerContext* sc) noexcept {
  if (internal::CallbackContext* c = internal::AsCallbackContext(sc))
    c->End(internal::ClientCanceledCause());
}

bool AnswerBelowMinimum(::grpc::CallbackServerContext* sc,
                        ::grpc::ServerUnaryReactor* reactor) {
  internal::CallbackContext* c = internal::AsCallbackContext(sc);
  if (c == nullptr || !c->BelowMinimum()) return false;
  sc->AddTrailingMetadata(std::string(kDeadlineExceededHeader),
                          std::string(kDeadlineExceededValue));
  reactor->Finish(::grpc::Status(::grpc::StatusCode::DEADLINE_EXCEEDED,
                                 "ctx: budget below the server's minimum"));
  return true;
}

::grpc::ServerUnaryReactor* UnaryReactorFor(::grpc::CallbackServerContext* sc) {
  if (internal::CallbackContext* c = internal::AsCallbackContext(sc))
    return c->reactor();
  return sc->DefaultReactor();
}

}  // namespace ctx::grpc
