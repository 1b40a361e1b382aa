// SPDX-License-Identifier: Apache-2.0
#include "timer_service.h"

#include <pthread.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>

#include "cpu_shard.h"
#include "sanitizers.h"

namespace ctx::internal {
namespace {

// StopAtExit joins the timer thread when static objects are destroyed. The
// service itself stays allocated, so contexts destroyed later can still call
// Remove.
struct StopAtExit {
  TimerService* service;
  ~StopAtExit() { service->Stop(); }
};

// Ns and FromNs convert between the clock's time points and wake_at_'s
// representation (steady_clock counts int64 nanoseconds on Linux).
int64_t Ns(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             t.time_since_epoch())
      .count();
}
TimePoint FromNs(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<Clock::duration>(
      std::chrono::nanoseconds(ns)));
}

}  // namespace

TimerService::TimerService()
    : shard_count_(CpuCount()), shards_(new Shard[shard_count_]) {}

namespace {

// g_service is the service once made; g_init_mu serializes making it. Both
// are constant-initialized, and the fork handlers below hold g_init_mu across
// fork(), so that no child inherits a service half made by a thread it does
// not have.
std::mutex g_init_mu;
std::atomic<TimerService*> g_service{nullptr};

}  // namespace

TimerService& TimerService::Get() {
  if (TimerService* s = g_service.load(std::memory_order_acquire)) [[likely]]
    return *s;
  std::lock_guard<std::mutex> lock(g_init_mu);
  if (TimerService* s = g_service.load(std::memory_order_relaxed)) return *s;
  // Never deleted once started (see StopAtExit); one whose thread could not
  // start is, and the next call tries again.
  std::unique_ptr<TimerService> started(new TimerService());
  started->Start();
  TimerService* s = started.release();
  static StopAtExit stop_at_exit{s};
  g_service.store(s, std::memory_order_release);
  return *s;
}

void TimerService::BeforeForkHook() CTX_NO_THREAD_SAFETY_ANALYSIS {
  g_init_mu.lock();
  if (TimerService* s = g_service.load()) s->BeforeFork();
}

void TimerService::AfterForkHook(bool child) CTX_NO_THREAD_SAFETY_ANALYSIS {
  if (TimerService* s = g_service.load()) {
    if (child) {
      s->AfterForkInChild();
    } else {
      s->AfterForkInParent();
    }
  }
  g_init_mu.unlock();
}

namespace {
[[maybe_unused]] const int g_fork_handlers = pthread_atfork(
    &TimerService::BeforeForkHook,
    [] { TimerService::AfterForkHook(/*child=*/false); },
    [] { TimerService::AfterForkHook(/*child=*/true); });
}  // namespace

void TimerService::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TimerService::Stop() {
  if (stopping_.exchange(true)) return;
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
  if (!thread_.joinable()) return;
  // A callback the timer thread runs called exit(): that thread is the one
  // running the static destructors, and cannot wait for itself.
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();
    return;
  }
  thread_.join();
}

void TimerService::BeforeFork() CTX_NO_THREAD_SAFETY_ANALYSIS {
  // Not waiting for the thread to finish firing: a callback it runs may wait
  // for a lock the forking thread holds. Every lock taken here is held only
  // for short steps that run no callback.
  mu_.lock();
  for (size_t i = 0; i < shard_count_; ++i) shards_[i].mu.Lock();
}

void TimerService::AfterForkInParent() CTX_NO_THREAD_SAFETY_ANALYSIS {
  for (size_t i = shard_count_; i-- > 0;) shards_[i].mu.Unlock();
  mu_.unlock();
}

void TimerService::AfterForkInChild() CTX_NO_THREAD_SAFETY_ANALYSIS {
  for (size_t i = shard_count_; i-- > 0;) shards_[i].mu.Unlock();
  // The forking thread keeps its identity in the child.
  const bool forked_by_timer_thread =
      std::this_thread::get_id() == thread_.get_id();
  // The parent's thread handle names a thread this process does not have:
  // dropped without join or detach (either would act on that thread). The
  // condition variables may count that thread as a waiter, which would make
  // every later signal wait for it: they are made anew, not destroyed.
  new (&thread_) std::thread();
  new (&cv_) std::condition_variable();
  new (&idle_cv_) std::condition_variable();
  bool armed = false;
  // Forked by the timer thread, from a callback it fired: when that returns,
  // Run goes on here.
  if (!forked_by_timer_thread && !stopping_.load()) {
    firing_ = false;
    wake_at_.store(INT64_MAX);
    start_after_fork_.store(true);
    for (size_t i = 0; i < shard_count_ && !armed; ++i)
      armed = !shards_[i].heap.empty();
  }
  mu_.unlock();
  // ThreadSanitizer ends a forked child that starts a thread: there the
  // thread waits for the first new deadline.
  if (armed && !kThreadSanitizer) StartAfterFork();
}

void TimerService::StartAfterFork() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!start_after_fork_.load() || stopping_.load()) return;
  Start();
  start_after_fork_.store(false);
}

void TimerService::Shard::Place(size_t i, const Entry& e) {
  heap[i] = e;
  e.timer->heap_index_ = static_cast<uint32_t>(i);
}

void TimerService::Shard::SiftUp(size_t i) {
  const Entry e = heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap[parent].when <= e.when) break;
    Place(i, heap[parent]);
    i = parent;
  }
  Place(i, e);
}

void TimerService::Shard::SiftDown(size_t i) {
  const Entry e = heap[i];
  const size_t size = heap.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1].when < heap[child].when) ++child;
    if (e.when <= heap[child].when) break;
    Place(i, heap[child]);
    i = child;
  }
  Place(i, e);
}

void TimerService::Shard::RemoveAt(size_t i) {
  heap[i].timer->heap_index_ = Timer::kNoIndex;
  const Entry last = heap.back();
  heap.pop_back();
  if (i == heap.size()) return;
  Place(i, last);
  SiftDown(i);
  SiftUp(last.timer->heap_index_);
}

void TimerService::Add(Timer* t, TimePoint deadline) {
  if (start_after_fork_.load(std::memory_order_relaxed)) [[unlikely]]
    StartAfterFork();
  {
    Shard& shard = shards_[t->shard_];
    MutexLock lock(shard.mu);
    if (stopping_.load(std::memory_order_relaxed) ||
        t->heap_index_ != Timer::kNoIndex)
      return;
    shard.heap.push_back(Entry{deadline, t});
    shard.SiftUp(shard.heap.size() - 1);
  }
  // Wake the thread if it would sleep past this deadline. The insert above
  // happens before this load; a scan that missed the insert stored max()
  // before it started, so this load sees max() (or an earlier wake-up, after
  // which the thread scans again) and signals.
  const int64_t when = Ns(deadline);
  int64_t at = wake_at_.load();
  while (when < at) {
    if (wake_at_.compare_exchange_weak(at, when)) {
      // Under mu_: the thread reads wake_at_ under mu_ before it sleeps, so
      // it either sees the new value or is already waiting for this signal.
      { std::lock_guard<std::mutex> lock(mu_); }
      cv_.notify_one();
      return;
    }
  }
}

void TimerService::Remove(Timer* t) {
  Shard& shard = shards_[t->shard_];
  MutexLock lock(shard.mu);
  if (t->heap_index_ != Timer::kNoIndex) shard.RemoveAt(t->heap_index_);
}

void TimerService::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return !firing_; });
}

size_t TimerService::SumOverShards(size_t (*of)(const Shard&)) {
  size_t n = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    MutexLock lock(shards_[i].mu);
    n += of(shards_[i]);
  }
  return n;
}

size_t TimerService::Armed() {
  return SumOverShards([](const Shard& s) { return s.heap.size(); });
}

size_t TimerService::HeapBytes() {
  return SumOverShards([](const Shard& s) { return s.heap.bytes(); });
}

TimePoint TimerService::Collect(TimePoint now, std::vector<Timer*>* due) {
  TimePoint next = TimePoint::max();
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    MutexLock lock(shard.mu);
    // The owner claims each expired timer so that it stays alive while it
    // fires; an owner being destroyed declines (its Remove is waiting for this
    // lock and will find the timer gone).
    while (!shard.heap.empty() && shard.heap[0].when <= now) {
      Timer* t = shard.heap[0].timer;
      shard.RemoveAt(0);
      if (t->ops_->claim(t)) due->push_back(t);
    }
    if (!shard.heap.empty()) next = std::min(next, shard.heap[0].when);
  }
  return next;
}

void TimerService::Run() {
  // Timer slack: Linux may delay this thread's timed sleeps by up to 50 us by
  // default, to batch wake-ups; a timer thread wants its wake-ups on time.
  // (Lateness figures, before and after: BENCHMARKS.md, Core.)
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // 1 us
  std::vector<Timer*> due;
  TimePoint planned = TimePoint::max();  // when the last sleep was to end
  while (!stopping_.load()) {
    // Scanning: from here on every Add signals (see Add).
    wake_at_.store(INT64_MAX);
    // Busy from before Collect claims timers until every claimed one has
    // fired, so that WaitIdle cannot return while a claim is held.
    {
      std::lock_guard<std::mutex> lock(mu_);
      firing_ = true;
    }
    const TimePoint now = Clock::now();
    TimePoint next = Collect(now, &due);
    const bool fired = !due.empty();
    for (Timer* t : due) t->ops_->fire(t);
    due.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      firing_ = false;
    }
    idle_cv_.notify_all();
    if (fired) continue;
    // With nothing armed, keep the wake-up already planned (if still ahead): a
    // later spurious wake-up is cheaper than a signal on every Add of a
    // create/cancel loop.
    if (next == TimePoint::max() && planned > now) next = planned;
    // Publish; an Add during the scan may already have lowered wake_at_.
    int64_t at = wake_at_.load();
    while (Ns(next) < at && !wake_at_.compare_exchange_weak(at, Ns(next))) {
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_.load()) break;
    at = wake_at_.load();
    planned = FromNs(at);
    if (at == INT64_MAX) {
      cv_.wait(lock);
    } else if (planned > Clock::now()) {
      cv_.wait_until(lock, planned);
    }
  }
}

}  // namespace ctx::internal
