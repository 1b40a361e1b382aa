// SPDX-License-Identifier: Apache-2.0
// A server call's record, and the starting-call marker. See call_state.h.

#include "call_state.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "call_info.h"
#include "ctx/grpc/call_context.h"
#include "ctx/internal/live_count.h"

namespace ctx::grpc::internal {

namespace {
// CanceledCause makes one of the bridge's causes. It is never destroyed
// (calls may still end while static destructors run at exit), and copied
// into every call's context it ends without counting references.
const Error& CanceledCause(std::string_view message) {
  return ::ctx::internal::ImmortalError(make_error_code(Errc::kCanceled),
                                        message);
}
}  // namespace

const Error& ClientCanceledCause() {
  static const Error& cause = CanceledCause(
      "ctx::grpc: call canceled by the client, a disconnect or gRPC");
  return cause;
}
const Error& CallFinishedCause() {
  static const Error& cause = CanceledCause("ctx::grpc: call finished");
  return cause;
}
const Error& ServerCanceledCause() {
  static const Error& cause =
      CanceledCause("ctx::grpc: call canceled by the server (TryCancel)");
  return cause;
}
const Error& NoCallContextCause() {
  static const Error& cause = CanceledCause(
      "ctx::grpc: no call context (interceptor not installed, or the call "
      "has ended)");
  return cause;
}

namespace {
// Made while the library loads, so that they are among the first kept errors
// and so have the indices that let a cancel record them without a lock
// (ImmortalError: the first 255 do).
[[maybe_unused]] const bool kCausesMade =
    (ClientCanceledCause(), CallFinishedCause(), ServerCanceledCause(),
     NoCallContextCause(), true);
}  // namespace

CallState::CallState(Context context, CancelCauseFunc end_call,
                     std::optional<TimePoint> deadline,
                     Clock::duration deadline_slack,
                     const ::grpc::ServerContextBase* server_context,
                     bool callback_api, SyncWatcher* watcher) noexcept
    : context_(std::move(context)),
      end_call_(std::move(end_call)),
      deadline_(deadline),
      deadline_slack_(deadline_slack),
      server_context_(server_context),
      callback_api_(callback_api),
      watcher_(watcher) {
  ::ctx::internal::LiveCount::Add(::ctx::internal::Counted::kGrpcCalls, 1);
}

CallState::~CallState() {
  // gRPC still holds the call here (see the header). No one can copy context_
  // any more (the owner unregistered it), so if it is the only reference to
  // the values node, no one will ever read the peer.
  if (const CallInfo* info = context_.Value(kCallInfoKey))
    CallInfoMaker::EndCall(*info, !ContextPeer::SoleReference(context_));
  ::ctx::internal::LiveCount::Add(::ctx::internal::Counted::kGrpcCalls, -1);
}

int64_t CallState::Live() noexcept {
  return ::ctx::internal::LiveCount::Count(
      ::ctx::internal::Counted::kGrpcCalls);
}

void CallState::End(const Error& cause) noexcept {
  // Already done (an earlier End, the deadline, the root): nothing left to end.
  if (context_.Done().Ready()) return;
  // Deadline due: leave it to the timer, so Err() says kDeadlineExceeded (see
  // the header).
  if (deadline_ && Clock::now() + deadline_slack_ >= *deadline_) return;
  end_call_(cause);  // also releases the deadline's timer, if any
}

Clock::duration CallState::DeadlineSlack(Clock::duration budget) noexcept {
  constexpr Clock::duration kBase = std::chrono::milliseconds(2);
  constexpr Clock::duration kMax = std::chrono::milliseconds(50);
  if (budget <= Clock::duration::zero()) return kBase;
  return std::min(kMax, kBase + budget / 50);
}

// --- StartingCallScope ---

namespace {
thread_local const CallState* t_starting_call = nullptr;
}  // namespace

StartingCallScope::StartingCallScope(const CallState* call) noexcept
    : previous_(t_starting_call) {
  t_starting_call = call;
}

StartingCallScope::~StartingCallScope() { t_starting_call = previous_; }

const CallState* StartingCallScope::Current() noexcept {
  return t_starting_call;
}

}  // namespace ctx::grpc::internal
