// SPDX-License-Identifier: Apache-2.0
// Timer nodes: a cancel node whose deadline is armed in the shared timer
// service.

#include <utility>

#include "cancel_node.h"
#include "runtime/timer_service.h"

namespace ctx::internal {

TimerNode::TimerNode(Node* parent, TimePoint deadline, Error cause)
    : CancelNode(NodeKind::kTimer, parent),
      Timer(&kTimerOps, TimerService::PickShard()),
      deadline_(deadline) {
  if (cause) {
    // Not yet shared: no lock needed.
    auto* extras = new Extras();
    extras->deadline_cause = std::move(cause);
    extras_.store(extras, std::memory_order_relaxed);
  }
}

TimerNode* TimerNode::Create(Node* parent, TimePoint deadline, Error cause,
                             TimePoint now) {
  // What can throw comes before the node holds its parent, or undoes it: the
  // service first (its first use starts its thread), then the node's memory.
  TimerService& service = TimerService::Get();
  TimerNode* n = new TimerNode(parent, deadline, std::move(cause));
  Ref(parent);    // once the node exists: a throw above took none
  n->Register();  // may be born done (parent done)
  if (n->Ready()) return n;
  if (deadline <= now) {
    n->Fire();  // deadline has already passed
  } else if (deadline != TimePoint::max()) {
    // max() means never: no timer to arm. A cancel that ran after our check
    // above (the parent's) may have missed the timer: look again once armed.
    try {
      service.Add(n, deadline);
    } catch (...) {
      // Not armed (the heap could not grow). The two references are the
      // handles the caller will not get: dropping them unlinks and frees
      // the node, and releases its parent, as for handles dropped unused.
      Unref(n);
      Unref(n);
      throw;
    }
    if (n->Ready()) service.Remove(n);
  }
  return n;
}

void TimerNode::Fire() {
  // extras_ with a deadline cause was set before the node was shared; one
  // created later by EventFd/StopToken has none.
  const Extras* extras = extras_.load(std::memory_order_acquire);
  Cancel(true, Errc::kDeadlineExceeded,
         extras != nullptr && extras->deadline_cause ? &extras->deadline_cause
                                                     : nullptr);
}

const Timer::Ops TimerNode::kTimerOps = {&TimerNode::ClaimTimer,
                                         &TimerNode::FireTimer};

bool TimerNode::ClaimTimer(Timer* t) noexcept {
  return TryRefNode(static_cast<TimerNode*>(t));
}

void TimerNode::FireTimer(Timer* t) noexcept {
  TimerNode* n = static_cast<TimerNode*>(t);
  n->Fire();
  Unref(n);
}

}  // namespace ctx::internal
