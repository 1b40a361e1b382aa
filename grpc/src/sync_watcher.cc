// SPDX-License-Identifier: Apache-2.0
// The sync-API cancellation watcher. See sync_watcher.h for the rules it keeps.

#include "sync_watcher.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include <atomic>
#include <condition_variable>
#include <thread>

namespace ctx::grpc::internal {
namespace {

// --- the push ---

// PushChannel is the process's channel and completion queue for the children
// (sync_watcher.h). Never destroyed: a child's completion can run on a gRPC
// thread after its server, and its SyncWatcher, are gone. The channel never
// connects: a child only waits for its status, and a client call asks for a
// connection only when it sends its initial metadata, which a child never
// does. The target is a Unix socket path that does not exist, should anything
// ever try.
struct PushChannel {
  PushChannel() {
    grpc_init();  // balanced by nothing: the channel lives until exit
    grpc_channel_credentials* creds = grpc_insecure_credentials_create();
    channel =
        grpc_channel_create("unix:/nonexistent/ctx-sync-watch", creds, nullptr);
    grpc_channel_credentials_release(creds);
    shutdown.functor_run = [](grpc_completion_queue_functor*, int) {};
    shutdown.inlineable = 1;
    cq = grpc_completion_queue_create_for_callback(&shutdown, nullptr);
    method = grpc_slice_from_static_string("/ctx.internal.SyncWatch/Watch");
  }

  static PushChannel& Get() {
    static PushChannel* const channel = new PushChannel;
    return *channel;
  }

  grpc_channel* channel = nullptr;
  grpc_completion_queue* cq = nullptr;
  grpc_completion_queue_functor shutdown{};
  grpc_slice method{};
};

struct Push;

// Child is one child call of a watched call, and the completion callback
// (grpc_completion_queue_functor: gRPC calls functor_run with this object) of
// the batch that waits for its status.
struct Child : grpc_completion_queue_functor {
  Push* push = nullptr;
  grpc_call* call = nullptr;       // set by Arm under Push::mu
  grpc_metadata_array trailing{};  // zeroed, as grpc_metadata_array_init does
  grpc_status_code status = GRPC_STATUS_OK;
  grpc_slice details = grpc_empty_slice();
};

// Push is one watched call's record: created by Watch on the handler thread,
// freed by whichever of its owners lets go last: the enrollment (Unwatch) and
// each started child (its completion callback).
struct Push {
  static constexpr int kChildren = 2;

  // Arm creates the children of `watched` and starts their batches; false
  // when none started or the record was disarmed first (the caller then
  // Disarms the record). A child may complete, and end the call's context,
  // before Arm returns.
  bool Arm(CallState* watched) {
    PushChannel& channel = PushChannel::Get();
    auto* sc =
        const_cast<::grpc::ServerContextBase*>(watched->server_context());
    grpc_call* parent = sc->c_call();
    if (parent == nullptr) return false;
    {
      MutexLock lock(mu);
      // Disarmed already (an Unwatch on another thread, between Watch's
      // enrollment and here): the call must never be touched again, so no
      // child may find it.
      if (disarmed) return false;
      call = watched;
    }
    int started = 0;
    for (Child& child : children) {
      child.push = this;
      child.functor_run = &Push::OnChildDone;
      // Inline: the callback is short (ends a context), and running it on the
      // thread that completed the child saves a thread hop.
      child.inlineable = 1;
      grpc_call* const created = grpc_channel_create_call(
          channel.channel, parent, GRPC_PROPAGATE_CANCELLATION, channel.cq,
          channel.method, nullptr, gpr_inf_future(GPR_CLOCK_REALTIME), nullptr);
      if (created == nullptr) continue;
      bool disarmed_meanwhile = false;
      {
        // Under the lock: a Disarm run meanwhile (from a callback this
        // arming ran, or on the thread of a child that completed) reads it.
        // One that ran before cannot have canceled this child: it is
        // canceled below, since a child linked while the watched call closed
        // may miss that close.
        MutexLock lock(mu);
        child.call = created;
        disarmed_meanwhile = disarmed;
      }
      grpc_op op{};
      op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
      op.data.recv_status_on_client.trailing_metadata = &child.trailing;
      op.data.recv_status_on_client.status = &child.status;
      op.data.recv_status_on_client.status_details = &child.details;
      // The child's reference, taken before its callback can run.
      refs.fetch_add(1, std::memory_order_relaxed);
      if (grpc_call_start_batch(created, &op, 1, &child, nullptr) !=
          GRPC_CALL_OK) {
        refs.fetch_sub(1, std::memory_order_relaxed);  // no callback will run
        continue;
      }
      ++started;
      if (disarmed_meanwhile) grpc_call_cancel(created, nullptr);
    }
    // One child sees every close but one that lands while it is being linked
    // (sync_watcher.h); none sees nothing.
    return started > 0;
  }

  // Disarm detaches the call (waiting for a callback that is ending its
  // context on another thread), cancels the children and lets go of the
  // enrollment's reference. Idempotent. A child stored after it (by an
  // arming it interrupted, or one running on another thread) is canceled by
  // Arm.
  void Disarm() {
    grpc_call* created[kChildren] = {};
    {
      MutexLock lock(mu);
      if (disarmed) return;
      disarmed = true;
      call = nullptr;
      // From inside the callback (a hook it ran unwatches the call) there is
      // nothing to wait for: the callback is this very stack.
      while (ending_thread != std::thread::id() &&
             ending_thread != std::this_thread::get_id()) {
        ended.wait(lock);
      }
      for (int i = 0; i < kChildren; ++i) created[i] = children[i].call;
    }
    for (grpc_call* child : created) {
      if (child != nullptr) grpc_call_cancel(child, nullptr);
    }
    Release();
  }

  void Release() {
    // The last reference: nothing else can touch the record.
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    for (Child& child : children) {
      if (child.call != nullptr) grpc_call_unref(child.call);
      grpc_slice_unref(child.details);
      grpc_metadata_array_destroy(&child.trailing);
    }
    delete this;
  }

  // OnChildDone runs on a gRPC thread when a child completes: the core
  // canceled it because the watched call closed, or Disarm canceled it. While
  // the call is still enrolled, the close is a cancel (Unwatch runs at
  // PRE_SEND_STATUS, before a finished call can close): end the context.
  static void OnChildDone(grpc_completion_queue_functor* functor, int) {
    Child* child = static_cast<Child*>(functor);
    Push* push = child->push;
    CallState* target;
    {
      MutexLock lock(push->mu);
      target = push->call;
      if (target != nullptr) {
        // The first callback ends the call; the other finds it detached.
        push->call = nullptr;
        push->ending_thread = std::this_thread::get_id();
      }
    }
    if (target != nullptr) {
      target->End(ClientCanceledCause());
      {
        MutexLock lock(push->mu);
        push->ending_thread = std::thread::id();
      }
      push->ended.notify_all();
    }
    push->Release();
  }

  Mutex mu;
  std::condition_variable_any ended;  // ending_thread went back to none
  // call: the watched call while enrolled and not yet ended by a callback.
  CallState* call CTX_GUARDED_BY(mu) = nullptr;
  // ending_thread: the thread running End() on the call (none: no one).
  std::thread::id ending_thread CTX_GUARDED_BY(mu);
  bool disarmed CTX_GUARDED_BY(mu) = false;
  // refs: the enrollment's (Disarm), Watch's own (until it returns), and one
  // per started child (its callback).
  std::atomic<int> refs{2};
  Child children[kChildren];
};

}  // namespace

void SyncWatcher::Watch(CallState* call) {
  auto* push = new Push;
  {
    MutexLock lock(mu_);
    // Once per call: a second CallContext() on the handler thread, or one made
    // by a callback that the arming below ran (the call had closed already),
    // finds the call marked.
    if (call->ever_watched_.load(std::memory_order_relaxed)) {
      delete push;
      return;
    }
    call->ever_watched_.store(true, std::memory_order_release);
    // Enrolled before it is armed, so that an Unwatch run inside the arming
    // (a callback it ran let the call close) finds and disarms it.
    call->watch_push_ = push;
    ++watched_;
  }
  // Armed outside the lock: a child can complete, and end the context, inside
  // the arming. The record holds a reference for this function until its end.
  if (!push->Arm(call)) {
    {
      MutexLock lock(mu_);
      if (call->watch_push_ == push) {
        call->watch_push_ = nullptr;
        --watched_;
      }
    }
    push->Disarm();  // idempotent
  }
  push->Release();  // this function's reference
}

void SyncWatcher::Unwatch(CallState* call) {
  // A call's hooks run after its handler's Watch (same thread for sync calls),
  // so a call not yet marked has never been watched.
  if (!call->ever_watched_.load(std::memory_order_acquire)) return;
  Push* push = nullptr;
  {
    MutexLock lock(mu_);
    push = static_cast<Push*>(call->watch_push_);
    if (push == nullptr) return;
    call->watch_push_ = nullptr;
    --watched_;
  }
  push->Disarm();
}

std::size_t SyncWatcher::Watched() const {
  MutexLock lock(mu_);
  return watched_;
}

}  // namespace ctx::grpc::internal
