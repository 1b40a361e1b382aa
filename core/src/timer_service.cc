#include "timer_service.h"

#include <sys/prctl.h>

#include <cstdlib>

#include "cancel_node.h"

namespace ctx::internal {
namespace {

// StopAtExit joins the timer thread when static objects are destroyed. The
// service itself stays allocated, so contexts destroyed later can still call
// Remove.
struct StopAtExit {
  TimerService* service;
  ~StopAtExit() { service->Stop(); }
};

}  // namespace

TimerService& TimerService::Get() {
  static TimerService* const service = [] {
    auto* s = new TimerService();  // never deleted: see StopAtExit
    s->Start();
    return s;
  }();
  static StopAtExit stop_at_exit{service};
  return *service;
}

void TimerService::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TimerService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TimerService::Place(size_t i, const Entry& e) {
  heap_[i] = e;
  e.node->heap_index_ = static_cast<uint32_t>(i);
}

void TimerService::SiftUp(size_t i) {
  const Entry e = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent].when <= e.when) break;
    Place(i, heap_[parent]);
    i = parent;
  }
  Place(i, e);
}

void TimerService::SiftDown(size_t i) {
  const Entry e = heap_[i];
  const size_t size = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && heap_[child + 1].when < heap_[child].when) ++child;
    if (e.when <= heap_[child].when) break;
    Place(i, heap_[child]);
    i = child;
  }
  Place(i, e);
}

void TimerService::RemoveAt(size_t i) {
  heap_[i].node->heap_index_ = TimerNode::kNoIndex;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  Place(i, last);
  SiftDown(i);
  SiftUp(last.node->heap_index_);
}

void TimerService::Add(TimerNode* n) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A cancel that ran before this point set kDone first and then called
    // Remove (which waits for mu_), so checking under mu_ leaves no armed timer
    // on a done node.
    if (stopping_ || n->Ready() || n->heap_index_ != TimerNode::kNoIndex)
      return;
    heap_.push_back(Entry{n->deadline(), n});
    SiftUp(heap_.size() - 1);
    if (n->deadline() < wake_at_) {
      wake_at_ = n->deadline();
      wake = true;
    }
  }
  if (wake) cv_.notify_one();
}

void TimerService::Remove(TimerNode* n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (n->heap_index_ != TimerNode::kNoIndex) RemoveAt(n->heap_index_);
}

void TimerService::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return !firing_; });
}

size_t TimerService::Armed() {
  std::lock_guard<std::mutex> lock(mu_);
  return heap_.size();
}

void TimerService::Run() {
  // Timer slack: Linux may delay this thread's timed sleeps by up to 50 us by
  // default, to batch wake-ups; a timer thread wants its wake-ups on time.
  // (Lateness figures, before and after: BENCHMARKS.md, Core.)
  prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // 1 us
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<TimerNode*> due;
  while (!stopping_) {
    const TimePoint now = Clock::now();
    // Collect every expired timer, taking a reference so none is destroyed
    // while we fire it. A node whose count already reached zero is being
    // destroyed; its Remove is waiting for mu_ and will find it gone.
    while (!heap_.empty() && heap_[0].when <= now) {
      TimerNode* n = heap_[0].node;
      RemoveAt(0);
      if (TryRefNode(n)) due.push_back(n);
    }
    if (!due.empty()) {
      firing_ = true;
      lock.unlock();
      for (TimerNode* n : due) {
        n->Fire();
        Unref(n);
      }
      due.clear();
      lock.lock();
      firing_ = false;
      idle_cv_.notify_all();
      continue;
    }
    TimePoint next = heap_.empty() ? TimePoint::max() : heap_[0].when;
    // With nothing armed, keep the wake-up already planned (if still ahead): a
    // later spurious wake-up is cheaper than a notify on every Add of a
    // create/cancel loop.
    if (next == TimePoint::max() && wake_at_ > now) next = wake_at_;
    wake_at_ = next;
    if (wake_at_ == TimePoint::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, wake_at_);
    }
  }
}

}  // namespace ctx::internal
