// SPDX-License-Identifier: Apache-2.0
// grpc/src/sync_watcher.h: how a sync-API call's context learns that the call
// was canceled. Internal.
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
// If gRPC refuses to start a child (its API gives no way to cause that for a
// live call), the other one still works; if it refuses both, the call's
// context still ends at its deadline and when the call ends, but not when the
// client cancels. There is no fallback: the
// only other signal, ServerContext::IsCancelled(), can jump through a null
// pointer on an async call, which is hard to tell from a sync one here.
//
// Rules it keeps (../shared/design/grpc-notes.md):
//   - It never calls IsCancelled(). CallContext enrolls a call from inside the
//     call's POST_RECV_INITIAL_METADATA hook, where a sync handler runs, but
//     other interceptors' hooks run there too, for async calls as well (see
//     StartingCallScope). Such a call gets the push, which is harmless.
//   - It ends a context only while the call is enrolled: the interceptor calls
//     Unwatch() at PRE_SEND_STATUS (a finished call's close is no cancel) and
//     before it dies, and Unwatch waits for a push callback in progress on
//     another thread. A push record outlives its call until both children
//     complete: it owns the children and its own lock, and the channel and
//     completion queue are never destroyed, so a late completion touches
//     nothing that is gone.
//   - It holds no lock of its own while ending a context: the context's
//     callbacks may run the call's hooks, which call Unwatch().

#ifndef CTX_GRPC_SRC_SYNC_WATCHER_H_
#define CTX_GRPC_SRC_SYNC_WATCHER_H_

#include <cstddef>

#include "call_state.h"
#include "mutex.h"

namespace ctx::grpc::internal {

class SyncWatcher {
 public:
  SyncWatcher() = default;
  // Every watched call must have been unwatched (their interceptors are gone,
  // and each unwatches before it dies).
  ~SyncWatcher() = default;
  SyncWatcher(const SyncWatcher&) = delete;
  SyncWatcher& operator=(const SyncWatcher&) = delete;

  // Watch enrolls a sync call, once: later Watch calls for it do nothing. On
  // the call's sync handler thread, while the handler runs. Arms the push
  // (see above). The call must stay alive until Unwatch(call) returns. May
  // end the call's context before it returns (the call had already closed),
  // running its callbacks on this thread.
  void Watch(CallState* call) CTX_LOCKS_EXCLUDED(mu_);

  // Unwatch removes a call; idempotent. When the call's context is being ended
  // by a push callback on another thread, it blocks until that returns; from
  // inside it (the same thread) it does not wait. After it returns, the
  // watcher never touches the call again.
  void Unwatch(CallState* call) CTX_LOCKS_EXCLUDED(mu_);

  // Watched returns the number of enrolled calls (tests and benchmarks).
  [[nodiscard]] std::size_t Watched() const CTX_LOCKS_EXCLUDED(mu_);

 private:
  mutable Mutex mu_;  // guards each call's watch_push_ too
  std::size_t watched_ CTX_GUARDED_BY(mu_) = 0;
};

}  // namespace ctx::grpc::internal

#endif  // CTX_GRPC_SRC_SYNC_WATCHER_H_
