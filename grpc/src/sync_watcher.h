// grpc/src/sync_watcher.h: the thread that notices canceled sync-API calls.
// Internal.
//
// A sync handler runs on a gRPC thread, and gRPC tells nobody that its client
// went away until the handler returns: the only way to find out is
// ServerContext::IsCancelled(), which for the sync API plucks the call's
// completion queue (~17 µs). One SyncWatcher per server polls the calls
// enrolled with Watch() and ends their context when IsCancelled() turns true.
//
// Rules it keeps (../shared/design/grpc-notes.md, two crashes):
//   - It polls only sync calls: CallContext enrolls a call only from its sync
//     handler's own thread. An async call's IsCancelled() can jump through a
//     null pointer.
//   - It never polls a call after the call started sending its status: the
//     interceptor calls Unwatch() at PRE_SEND_STATUS, which waits for a poll in
//     progress. IsCancelled() after the handler returned can recurse until the
//     stack overflows.
//   - It holds no lock while calling IsCancelled(): that call may run the
//     call's POST_RECV_CLOSE hook on the watcher thread, which calls Unwatch()
//     (and ends the context, running its callbacks).
//   - It touches a call only while the call is enrolled or being polled: the
//     CallState lives in the call's interceptor, whose destructor unwatches it
//     (waiting for a poll in progress) before it dies.
// Cost: each sweep polls every watched call once; the next sweep starts after
// max(period, sweep time * (1 - max_cpu) / max_cpu), so the watcher uses at
// most ~max_cpu of one core.

#ifndef CTX_GRPC_SRC_SYNC_WATCHER_H_
#define CTX_GRPC_SRC_SYNC_WATCHER_H_

#include <condition_variable>
#include <cstddef>
#include <thread>
#include <vector>

#include "call_state.h"
#include "ctx/done_signal.h"
#include "mutex.h"

namespace ctx::grpc::internal {

class SyncWatcher {
 public:
  // `period` and `max_cpu` as in ServerOptions (already clamped by the caller).
  SyncWatcher(Clock::duration period, double max_cpu) noexcept;
  // Stops and joins the thread. Every watched call must have been unwatched
  // (their interceptors are gone, and each unwatches before it dies).
  ~SyncWatcher();
  SyncWatcher(const SyncWatcher&) = delete;
  SyncWatcher& operator=(const SyncWatcher&) = delete;

  // Watch enrolls a sync call; idempotent. Starts the thread on first use. Any
  // thread. The call must stay alive until Unwatch(call) returns.
  void Watch(CallState* call) CTX_LOCKS_EXCLUDED(mu_);

  // Unwatch removes a call; idempotent. When the watcher is polling that call
  // on another thread, it blocks until the poll returns; from inside the poll
  // (the watcher thread) it does not wait. After it returns, the watcher never
  // touches the call again.
  void Unwatch(CallState* call) CTX_LOCKS_EXCLUDED(mu_);

  // Watched returns the number of enrolled calls (tests and benchmarks).
  [[nodiscard]] std::size_t Watched() const CTX_LOCKS_EXCLUDED(mu_);

 private:
  void Run() CTX_LOCKS_EXCLUDED(mu_);
  void Sweep() CTX_LOCKS_EXCLUDED(mu_);
  void RemoveLocked(CallState* call) CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock::duration period_;
  const double max_cpu_;

  mutable Mutex mu_;
  std::condition_variable_any
      wake_;  // Watch() and the destructor wake the thread
  std::condition_variable_any
      poll_done_;  // the thread wakes Unwatch() waiters after each poll
  std::vector<CallState*> calls_ CTX_GUARDED_BY(mu_);
  // polling_: the call whose IsCancelled() the thread is running (null between
  // polls).
  const CallState* polling_ CTX_GUARDED_BY(mu_) = nullptr;
  bool stop_ CTX_GUARDED_BY(mu_) = false;
  // thread_: started under mu_ by the first Watch(); joined by the destructor.
  std::thread thread_ CTX_GUARDED_BY(mu_);
  std::thread::id thread_id_ CTX_GUARDED_BY(mu_);
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_SYNC_WATCHER_H_
