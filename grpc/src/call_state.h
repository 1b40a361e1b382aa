// SPDX-License-Identifier: Apache-2.0
// grpc/src/call_state.h: the bridge's record of one server call. Internal.
//
// One CallState exists per intercepted call, from POST_RECV_INITIAL_METADATA
// until the call's interceptor is destroyed. It lives inside the interceptor
// object (which gRPC allocates once per call anyway); the registry
// (call_registry.h: so that CallContext can find it from the ServerContext)
// and, for sync calls, the watcher point at it, and the interceptor's
// destructor removes it from both before it dies. On the interceptor-free
// path it lives inside the call's CallbackContext. Either way it dies while
// gRPC still holds the call: in gRPC 1.51 each holder of the interceptors (the
// ServerContext, and the completion op that reports the close) drops them
// before its own reference to the call, and a CallbackServerContext's members
// die before its base drops its reference.

#ifndef CTX_GRPC_SRC_CALL_STATE_H_
#define CTX_GRPC_SRC_CALL_STATE_H_

#include <grpcpp/server_context.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "ctx/context.h"
#include "ctx/errors.h"

namespace ctx::grpc::internal {

class CallRegistry;
class SyncWatcher;

// The causes the bridge cancels a call's context with (Err() is kCanceled for
// all of them). Each is built once per process: the calls share its message.
const Error& ClientCanceledCause();  // the client canceled, disconnected, or
                                     // gRPC closed the call
const Error& CallFinishedCause();    // the handler finished and the status
                                     // was sent
const Error& ServerCanceledCause();  // the server called TryCancel()
const Error& NoCallContextCause();   // CallContext() found no call (see
                                     // call_context.h)

// CallState is one call's context and the means to end it.
class CallState {
 public:
  // `deadline` is the deadline of `context` (nullopt: none) and
  // `deadline_slack` the DeadlineSlack of the budget the call arrived with
  // (BuildCall); `end_call` cancels the call's cancelable node (its deadline
  // node when it has a deadline), an ancestor of `context`. `watcher` is the
  // server's sync watcher; it outlives the call (the interceptor that owns this
  // state keeps it alive). Neither copyable nor movable: the registry and the
  // watcher hold its address.
  CallState(Context context, CancelCauseFunc end_call,
            std::optional<TimePoint> deadline, Clock::duration deadline_slack,
            const ::grpc::ServerContextBase* server_context, bool callback_api,
            SyncWatcher* watcher) noexcept;
  ~CallState();
  CallState(const CallState&) = delete;
  CallState& operator=(const CallState&) = delete;

  [[nodiscard]] const Context& context() const noexcept { return context_; }
  [[nodiscard]] const ::grpc::ServerContextBase* server_context()
      const noexcept {
    return server_context_;
  }
  [[nodiscard]] bool callback_api() const noexcept { return callback_api_; }
  [[nodiscard]] SyncWatcher* watcher() const noexcept { return watcher_; }

  // End cancels the call's context with `cause`. Idempotent; thread-safe; runs
  // the context's callbacks on this thread. Shortcuts: a context already done
  // has nothing left to end (its one cancelable node below the root is done
  // too: the root's cancel reaches it); when the deadline is due (within
  // DeadlineSlack of it), it does nothing and lets the deadline timer end the
  // context, so that a call that closes because a deadline passed reports
  // kDeadlineExceeded rather than kCanceled.
  void End(const Error& cause) noexcept;

  // MarkStatusSent records that the server is sending its status
  // (PRE_SEND_STATUS); afterwards a close of the call counts as "finished", not
  // "client canceled".
  void MarkStatusSent() noexcept {
    status_sent_.store(true, std::memory_order_relaxed);
  }
  [[nodiscard]] bool StatusSent() const noexcept {
    // Relaxed: set and read by hooks gRPC already orders (PRE_SEND_STATUS
    // happens before the POST_RECV_CLOSE that completes the call); a stale read
    // only changes the cause's wording.
    return status_sent_.load(std::memory_order_relaxed);
  }

  // Live returns how many CallStates exist in the process (tests: none may
  // outlive its call). Exact when none is being made or destroyed meanwhile.
  static int64_t Live() noexcept;

  // DeadlineSlack says how close to its deadline a call's close counts as the
  // deadline's doing, for a call whose whole budget is `budget`. A client's
  // expired deadline reaches the server as a plain cancel (RST_STREAM), and
  // before the server's own deadline: the server computed its deadline from a
  // relative grpc-timeout on arrival, so it is later by the one-way latency
  // plus gRPC's rounding up (measured here: up to ~5 ms on a loaded loopback at
  // a 200 ms budget). 2 ms + 2 % of the budget, at most 50 ms: a close that
  // late is reported as the deadline, and the context ends when its timer
  // fires.
  [[nodiscard]] static Clock::duration DeadlineSlack(
      Clock::duration budget) noexcept;

  // ever_watched_: set (once, under the watcher's mutex) before the call is
  // first watched, so that Unwatch skips the mutex for the calls never watched
  // (every callback and async call, and sync calls that never asked for their
  // context).
  std::atomic<bool> ever_watched_{false};
  // watch_push_: the SyncWatcher's push record for this call (sync_watcher.cc),
  // null when none. Written only by the SyncWatcher, under its mutex.
  void* watch_push_ = nullptr;

 private:
  const Context context_;
  const CancelCauseFunc end_call_;
  const std::optional<TimePoint> deadline_;
  // deadline_slack_: DeadlineSlack of the budget the call arrived with.
  const Clock::duration deadline_slack_;
  const ::grpc::ServerContextBase* const server_context_;
  const bool callback_api_;
  SyncWatcher* const watcher_;
  std::atomic<bool> status_sent_{false};

  // registry_next_: the next call in this call's CallRegistry bucket
  // (call_registry.h). Read and written only by the registry, under that
  // bucket's shard lock.
  friend class CallRegistry;
  CallState* registry_next_ = nullptr;
};

// StartingCallScope marks the call whose POST_RECV_INITIAL_METADATA hook runs
// on this thread. gRPC runs a sync handler inside that hook's Proceed() (the
// handler is nested on the same stack), so a CallContext() that finds its call
// here enrolls it with the SyncWatcher. Async handlers never run nested this
// way, but the same hooks of interceptors registered before the bridge's do,
// for async calls too: a CallContext() made there enrolls an async call. Its
// push is harmless, and the SyncWatcher never polls (an async call's
// IsCancelled() can crash, ../shared/design/grpc-notes.md). No public gRPC
// API tells a sync call from an async one here. Callback
// handlers are nested too; they are told apart by their CallbackServerContext.
class StartingCallScope {
 public:
  explicit StartingCallScope(const CallState* call) noexcept;
  ~StartingCallScope();
  StartingCallScope(const StartingCallScope&) = delete;
  StartingCallScope& operator=(const StartingCallScope&) = delete;

  [[nodiscard]] static const CallState* Current() noexcept;

 private:
  const CallState* const previous_;
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_CALL_STATE_H_
