// SPDX-License-Identifier: Apache-2.0
// The sync-API cancellation watcher. See sync_watcher.h for the rules it keeps.

#include "sync_watcher.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>
#include <utility>

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
  // unless both started (the caller then Disarms the record and polls the
  // call). A child may complete, and end the call's context, before Arm
  // returns.
  bool Arm(CallState* watched) {
    PushChannel& channel = PushChannel::Get();
    auto* sc =
        const_cast<::grpc::ServerContextBase*>(watched->server_context());
    grpc_call* parent = sc->c_call();
    if (parent == nullptr) return false;
    {
      MutexLock lock(mu);
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
      {
        // Under the lock: a Disarm run meanwhile (from a callback this
        // arming ran) reads it.
        MutexLock lock(mu);
        child.call = created;
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
    }
    // One child is enough to see most closes, but not the one that lands while
    // it is being linked (sync_watcher.h): fall back to polling unless both
    // started.
    return started == kChildren;
  }

  // Disarm detaches the call (waiting for a callback that is ending its
  // context on another thread), cancels the children and lets go of the
  // enrollment's reference. Idempotent. A child created after it (by an
  // arming it interrupted) is not canceled here: its parent has closed
  // already, so the core cancels it.
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

// ThreadCpuTime is the CPU time the calling thread has used.
Clock::duration ThreadCpuTime() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

}  // namespace

SyncWatcher::SyncWatcher(Clock::duration period, double max_cpu)
    : state_(std::make_shared<State>(period, max_cpu)) {}

SyncWatcher::~SyncWatcher() {
  std::thread thread;
  {
    MutexLock lock(state_->mu);
    state_->stop = true;
    thread = std::move(thread_);
  }
  state_->wake.notify_all();
  if (!thread.joinable()) return;
  // The last reference to the server's shared state can be dropped on the
  // watcher thread itself: a call's last reference released inside the
  // IsCancelled() it polls destroys the call's interceptor there. Joining
  // would deadlock; the thread holds its own reference to state_, sees stop
  // after the poll and exits.
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}

void SyncWatcher::Watch(CallState* call) {
  auto* push = new Push;
  {
    MutexLock lock(state_->mu);
    // Once per call: a second CallContext() on the handler thread, or one made
    // by a callback that the arming below ran (the call had closed already),
    // finds the call marked.
    if (call->ever_watched_.load(std::memory_order_relaxed) || state_->stop) {
      delete push;
      return;
    }
    call->ever_watched_.store(true, std::memory_order_release);
    // Enrolled before it is armed, so that an Unwatch run inside the arming
    // (a callback it ran let the call close) finds and disarms it.
    call->watch_push_ = push;
    ++state_->pushed;
  }
  // Armed outside the lock: a child can complete, and end the context, inside
  // the arming. The record holds a reference for this function until its end.
  const bool armed = push->Arm(call);
  bool poll = false;
  {
    MutexLock lock(state_->mu);
    if (!armed && call->watch_push_ == push) {
      call->watch_push_ = nullptr;
      --state_->pushed;
      poll = !state_->stop;
    }
  }
  if (!armed) push->Disarm();  // idempotent
  push->Release();             // this function's reference
  if (!poll) return;
  {
    MutexLock lock(state_->mu);
    call->watched_ = true;
    call->watch_index_ = state_->calls.size();
    state_->calls.push_back(call);
    if (!thread_.joinable()) {
      thread_ = std::thread([state = state_] { state->Run(); });
      state_->thread_id = thread_.get_id();
    }
  }
  state_->wake.notify_one();
}

void SyncWatcher::State::RemoveLocked(CallState* call) {
  if (!call->watched_) return;
  call->watched_ = false;
  const std::size_t i = call->watch_index_;
  if (i + 1 != calls.size()) {
    calls[i] = calls.back();
    calls[i]->watch_index_ = i;
  }
  calls.pop_back();
}

void SyncWatcher::Unwatch(CallState* call) {
  // A call's hooks run after its handler's Watch (same thread for sync calls),
  // so a call not yet marked has never been watched and is not being polled.
  if (!call->ever_watched_.load(std::memory_order_acquire)) return;
  State& s = *state_;
  Push* push = nullptr;
  {
    MutexLock lock(s.mu);
    push = static_cast<Push*>(call->watch_push_);
    if (push != nullptr) {
      call->watch_push_ = nullptr;
      --s.pushed;
    } else {
      s.RemoveLocked(call);
      if (std::this_thread::get_id() == s.thread_id) {
        // From inside the poll (its POST_RECV_CLOSE hook runs on the watcher
        // thread) there is nothing to wait for: the poll is this very stack.
        // The call may die once this returns: tell Sweep to leave it alone.
        if (s.polling == call) s.polling = nullptr;
        return;
      }
      while (s.polling == call) s.poll_done.wait(lock);
      return;
    }
  }
  push->Disarm();
}

std::size_t SyncWatcher::Watched() const {
  MutexLock lock(state_->mu);
  return state_->calls.size() + state_->pushed;
}

std::size_t SyncWatcher::Polled() const {
  MutexLock lock(state_->mu);
  return state_->calls.size();
}

void SyncWatcher::State::Run() {
  const double share = std::clamp(max_cpu, 0.001, 1.0);
  for (;;) {
    {
      MutexLock lock(mu);
      wake.wait(lock, [this]() CTX_NO_THREAD_SAFETY_ANALYSIS {
        return stop || !calls.empty();
      });
      if (stop) return;
    }
    const SweepResult sweep = Sweep();
    // Cancels come in storms (a client's connection goes away, a parent
    // context fans out): a sweep that found one sweeps again at once, until a
    // sweep finds none.
    if (sweep.canceled > 0) continue;
    // The throttle counts the CPU this thread spent polling live calls: not
    // wall time (a preempted sweep costs nothing), and not the polls that
    // found a call canceled (they ran the call's close hook and its
    // context's callbacks).
    const auto backoff = std::chrono::duration_cast<Clock::duration>(
        sweep.cpu * ((1 - share) / share));
    {
      MutexLock lock(mu);
      wake.wait_for(lock, std::max(period, backoff),
                    [this]() CTX_NO_THREAD_SAFETY_ANALYSIS { return stop; });
      if (stop) return;
    }
  }
}

SyncWatcher::State::SweepResult SyncWatcher::State::Sweep() {
  // Walks calls by position, retaking the lock for each call, so that only
  // enrolled calls are touched. A call unwatched meanwhile swaps the last one
  // into its place; when that is the call just polled, the sweep polls its
  // place again; otherwise it may skip a call or visit one twice, and the next
  // sweep makes up for it.
  // The CPU clock is read twice per sweep, not per poll: it is a system call,
  // and each one is a point where the many handler threads a storm wakes can
  // preempt the watcher.
  const Clock::duration start = ThreadCpuTime();
  std::size_t live = 0;
  SweepResult result;
  const auto finish = [&] {
    // The polls that found their call canceled are left out of the cost in
    // proportion to their number.
    const Clock::duration used = ThreadCpuTime() - start;
    const std::size_t polls = live + result.canceled;
    if (polls > 0) result.cpu = used * live / polls;
    return result;
  };
  std::size_t i = 0;
  for (;;) {
    CallState* call;
    {
      MutexLock lock(mu);
      if (stop || i >= calls.size()) return finish();
      call = calls[i];
      // A context that is already done (deadline, root canceled) has nothing
      // left to learn. Removing it moves another call to position i.
      if (call->context().Done().Ready()) {
        RemoveLocked(call);
        continue;
      }
      polling = call;
      ++i;
    }
    // No lock held: this may run the call's POST_RECV_CLOSE hook here, which
    // ends the context and unwatches the call.
    const bool cancelled = call->server_context()->IsCancelled();
    // Still polling (polling == call): Unwatch on the handler's thread waits,
    // so the call stays alive. Not polling: the call unwatched itself from a
    // hook run inside IsCancelled() and may be gone; touch it no more. Only
    // this thread clears polling, so the answer holds after the lock.
    bool alive;
    {
      MutexLock lock(mu);
      alive = polling == call;
    }
    // IsCancelled() can also be true without a POST_RECV_CLOSE (the call failed
    // before its request was read); End() is idempotent.
    if (alive && cancelled) call->End(ClientCanceledCause());
    if (cancelled) {
      ++result.canceled;
    } else {
      ++live;
    }
    {
      MutexLock lock(mu);
      if (alive) {
        polling = nullptr;
        if (cancelled) RemoveLocked(call);
      }
      // The call left the list (canceled): the last one took its place, so
      // poll that place again; otherwise a storm of cancels would be seen
      // half per sweep.
      if (i > 0 && (i - 1 >= calls.size() || calls[i - 1] != call)) --i;
    }
    poll_done.notify_all();
  }
}

}  // namespace ctx::grpc::internal
