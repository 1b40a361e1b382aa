// The sync-API cancellation watcher. See sync_watcher.h for the rules it keeps.

#include "sync_watcher.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace ctx::grpc::internal {

SyncWatcher::SyncWatcher(Clock::duration period, double max_cpu) noexcept
    : period_(period), max_cpu_(max_cpu) {}

SyncWatcher::~SyncWatcher() {
  std::thread thread;
  {
    MutexLock lock(mu_);
    stop_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (!thread.joinable()) return;
  // The last reference to the server's shared state could in principle be
  // dropped on the watcher thread itself (a hook it ran); joining would then
  // deadlock, and the thread exits on its own.
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();
  } else {
    thread.join();
  }
}

void SyncWatcher::Watch(CallState* call) {
  {
    MutexLock lock(mu_);
    if (call->watched_ || stop_) return;
    call->ever_watched_.store(true, std::memory_order_release);
    call->watched_ = true;
    call->watch_index_ = calls_.size();
    calls_.push_back(call);
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { Run(); });
      thread_id_ = thread_.get_id();
    }
  }
  wake_.notify_one();
}

void SyncWatcher::RemoveLocked(CallState* call) {
  if (!call->watched_) return;
  call->watched_ = false;
  const std::size_t i = call->watch_index_;
  if (i + 1 != calls_.size()) {
    calls_[i] = calls_.back();
    calls_[i]->watch_index_ = i;
  }
  calls_.pop_back();
}

void SyncWatcher::Unwatch(CallState* call) {
  // A call's hooks run after its handler's Watch (same thread for sync calls),
  // so a call not yet marked has never been watched and is not being polled.
  if (!call->ever_watched_.load(std::memory_order_acquire)) return;
  MutexLock lock(mu_);
  RemoveLocked(call);
  if (std::this_thread::get_id() == thread_id_) {
    // From inside the poll (its POST_RECV_CLOSE hook runs on the watcher
    // thread) there is nothing to wait for: the poll is this very stack. The
    // call may die once this returns: tell Sweep to leave it alone.
    if (polling_ == call) polling_ = nullptr;
    return;
  }
  while (polling_ == call) poll_done_.wait(lock);
}

std::size_t SyncWatcher::Watched() const {
  MutexLock lock(mu_);
  return calls_.size();
}

void SyncWatcher::Run() {
  const double max_cpu = std::clamp(max_cpu_, 0.001, 1.0);
  for (;;) {
    {
      MutexLock lock(mu_);
      wake_.wait(lock, [this]() CTX_NO_THREAD_SAFETY_ANALYSIS {
        return stop_ || !calls_.empty();
      });
      if (stop_) return;
    }
    const TimePoint start = Clock::now();
    Sweep();
    const auto took = Clock::now() - start;
    const auto backoff = std::chrono::duration_cast<Clock::duration>(
        took * ((1 - max_cpu) / max_cpu));
    {
      MutexLock lock(mu_);
      wake_.wait_for(lock, std::max(period_, backoff),
                     [this]() CTX_NO_THREAD_SAFETY_ANALYSIS { return stop_; });
      if (stop_) return;
    }
  }
}

void SyncWatcher::Sweep() {
  // Walks calls_ by position, retaking the lock for each call, so that only
  // enrolled calls are touched. A call unwatched meanwhile swaps the last one
  // into its place, which this sweep may then skip or visit twice; the next
  // sweep makes up for it.
  std::size_t i = 0;
  for (;;) {
    CallState* call;
    {
      MutexLock lock(mu_);
      if (stop_ || i >= calls_.size()) return;
      call = calls_[i];
      // A context that is already done (deadline, root canceled) has nothing
      // left to learn. Removing it moves another call to position i.
      if (call->context().Done().Ready()) {
        RemoveLocked(call);
        continue;
      }
      polling_ = call;
      ++i;
    }
    // No lock held: this may run the call's POST_RECV_CLOSE hook here, which
    // ends the context and unwatches the call.
    const bool cancelled = call->server_context()->IsCancelled();
    // Still polling (polling_ == call): Unwatch on the handler's thread waits,
    // so the call stays alive. Not polling: the call unwatched itself from a
    // hook run inside IsCancelled() and may be gone; touch it no more. Only
    // this thread clears polling_, so the answer holds after the lock.
    bool alive;
    {
      MutexLock lock(mu_);
      alive = polling_ == call;
    }
    // IsCancelled() can also be true without a POST_RECV_CLOSE (the call failed
    // before its request was read); End() is idempotent.
    if (alive && cancelled) call->End(ClientCanceledCause());
    {
      MutexLock lock(mu_);
      if (alive) {
        polling_ = nullptr;
        if (cancelled) RemoveLocked(call);
      }
    }
    poll_done_.notify_all();
  }
}

}  // namespace ctx::grpc::internal
