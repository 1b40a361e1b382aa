// SPDX-License-Identifier: Apache-2.0
// grpc/src/sync_watcher.h: the thread that notices canceled sync-API calls.
// Internal.
//
// A sync handler runs on a gRPC thread, and gRPC tells the C++ sync API that
// its client went away only through ServerContext::IsCancelled(), which plucks
// the call's completion queue (~20 µs of CPU). The core itself learns it at
// once, and cancels the call's children: client calls created with the server
// call as parent and GRPC_PROPAGATE_CANCELLATION. So for each enrolled call
// the SyncWatcher creates two such children on a channel that never connects
// (nothing is ever sent on them), each waiting only for its status; the core
// cancels them when the server call closes (client cancel or RST_STREAM,
// disconnect, server deadline or shutdown), and their completion callback,
// on a gRPC thread, ends the call's context. Two children, because the core
// checks whether the parent already closed before it links a child to it: a
// close landing between the check and the link reaches neither. The second
// child's check runs after the first one's link, so one of them sees it.
//
// A call whose children cannot be started falls back to the poll: one thread
// per server calls IsCancelled() on such calls, throttled (see Run).
//
// Rules it keeps (../shared/design/grpc-notes.md, two crashes):
//   - It must not poll an async call: its IsCancelled() can jump through a
//     null pointer. CallContext enrolls a call from inside the call's
//     POST_RECV_INITIAL_METADATA hook, where a sync handler runs, but other
//     interceptors' hooks run there too, for async calls as well (see
//     StartingCallScope). Such a call gets the push, which is harmless; it
//     would be polled only if its children could not be started, which gRPC
//     1.51's API gives no way to cause.
//   - It never polls a call after the call started sending its status: the
//     interceptor calls Unwatch() at PRE_SEND_STATUS, which waits for a poll
//     or a push callback in progress. IsCancelled() after the handler returned
//     can recurse until the stack overflows.
//   - It holds no lock while calling IsCancelled() or ending a context: the
//     poll may run the call's POST_RECV_CLOSE hook on the watcher thread, which
//     calls Unwatch() (and ends the context, running its callbacks).
//   - It touches a call only while the call is enrolled or being ended: the
//     CallState lives in the call's interceptor, whose destructor unwatches it
//     (waiting for a poll or push in progress) before it dies. A push record
//     outlives its call until both children complete: it owns the children
//     and its own lock, and the channel and completion queue are never
//     destroyed, so a late completion touches nothing that is gone.
// Poll cost: each sweep polls every polled call once. A sweep that found a call
// canceled is followed by another at once (cancels come in storms); otherwise
// the next sweep starts after max(period, c * (1 - max_cpu) / max_cpu), where c
// is the CPU time the sweep used (CLOCK_THREAD_CPUTIME_ID) less the share of
// its polls that found their call canceled.

#ifndef CTX_GRPC_SRC_SYNC_WATCHER_H_
#define CTX_GRPC_SRC_SYNC_WATCHER_H_

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "call_state.h"
#include "ctx/done_signal.h"
#include "mutex.h"

namespace ctx::grpc::internal {

class SyncWatcher {
 public:
  // `period` and `max_cpu` as in ServerOptions (already clamped by the caller).
  SyncWatcher(Clock::duration period, double max_cpu);
  // Stops the thread and joins it; on the watcher thread itself (a hook it
  // ran dropped the last reference to the server's state) it detaches it
  // instead, and the thread exits after its current poll, touching only the
  // State it shares. Every watched call must have been unwatched (their
  // interceptors are gone, and each unwatches before it dies).
  ~SyncWatcher();
  SyncWatcher(const SyncWatcher&) = delete;
  SyncWatcher& operator=(const SyncWatcher&) = delete;

  // Watch enrolls a sync call, once: later Watch calls for it do nothing. On
  // the call's sync handler thread, while the handler runs. Arms the push (see
  // above), or, when that fails, enrolls the call for polling and starts the
  // thread on first use. The call must stay alive until Unwatch(call) returns.
  // May end the call's context before it returns (the call had already
  // closed), running its callbacks on this thread.
  void Watch(CallState* call);

  // Unwatch removes a call; idempotent. When the call's context is being ended
  // by a poll or a push callback on another thread, it blocks until that
  // returns; from inside it (the same thread) it does not wait. After it
  // returns, the watcher never touches the call again.
  void Unwatch(CallState* call);

  // Watched returns the number of enrolled calls, pushed or polled (tests and
  // benchmarks).
  [[nodiscard]] std::size_t Watched() const;

  // Polled returns the number of calls enrolled for polling (tests).
  [[nodiscard]] std::size_t Polled() const;

 private:
  // State is everything the thread touches. The thread holds it by shared_ptr,
  // so it outlives the SyncWatcher when the thread is detached.
  struct State {
    State(Clock::duration period, double max_cpu)
        : period(period), max_cpu(max_cpu) {}
    void Run() CTX_LOCKS_EXCLUDED(mu);
    struct SweepResult {
      // cpu: the CPU time the sweep spent, less the share of the polls that
      // found their call canceled.
      Clock::duration cpu{};
      std::size_t canceled = 0;  // polls that found their call canceled
    };
    // Sweep polls every watched call once.
    SweepResult Sweep() CTX_LOCKS_EXCLUDED(mu);
    void RemoveLocked(CallState* call) CTX_EXCLUSIVE_LOCKS_REQUIRED(mu);

    const Clock::duration period;
    const double max_cpu;

    mutable Mutex mu;
    std::condition_variable_any wake;       // Watch() and ~SyncWatcher wake
                                            // the thread
    std::condition_variable_any poll_done;  // the thread wakes Unwatch()
                                            // waiters after each poll
    std::vector<CallState*> calls CTX_GUARDED_BY(mu);
    // polling: the call whose IsCancelled() the thread is running (null
    // between polls).
    const CallState* polling CTX_GUARDED_BY(mu) = nullptr;
    // pushed: calls watched by a push (their CallState::watch_push_ is set).
    std::size_t pushed CTX_GUARDED_BY(mu) = 0;
    bool stop CTX_GUARDED_BY(mu) = false;
    // thread_id: set under mu when the thread starts; never changes after.
    std::thread::id thread_id CTX_GUARDED_BY(mu);
  };

  const std::shared_ptr<State> state_;
  // thread_: started under state_->mu by the first Watch(); joined (or
  // detached) by the destructor.
  std::thread thread_ CTX_GUARDED_BY(state_->mu);
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_SYNC_WATCHER_H_
