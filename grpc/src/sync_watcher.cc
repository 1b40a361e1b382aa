// SPDX-License-Identifier: Apache-2.0
// The sync-API cancellation watcher. See sync_watcher.h for the rules it keeps.

#include "sync_watcher.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace ctx::grpc::internal {
namespace {

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
  {
    MutexLock lock(state_->mu);
    if (call->watched_ || state_->stop) return;
    call->ever_watched_.store(true, std::memory_order_release);
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
  MutexLock lock(s.mu);
  s.RemoveLocked(call);
  if (std::this_thread::get_id() == s.thread_id) {
    // From inside the poll (its POST_RECV_CLOSE hook runs on the watcher
    // thread) there is nothing to wait for: the poll is this very stack. The
    // call may die once this returns: tell Sweep to leave it alone.
    if (s.polling == call) s.polling = nullptr;
    return;
  }
  while (s.polling == call) s.poll_done.wait(lock);
}

std::size_t SyncWatcher::Watched() const {
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
