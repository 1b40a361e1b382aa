// Timer nodes: a cancel node whose deadline is armed in the shared timer
// service.

#include <utility>

#include "cancel_node.h"
#include "timer_service.h"

namespace ctx::internal {

TimerNode::TimerNode(Node* parent, TimePoint deadline, Error cause) noexcept
    : CancelNode(NodeKind::kTimer, parent),
      deadline_(deadline),
      deadline_cause_(cause ? new Error(std::move(cause)) : nullptr) {}

TimerNode::~TimerNode() { delete deadline_cause_; }

TimerNode* TimerNode::Create(Node* parent, TimePoint deadline, Error cause) {
  TimerNode* n = new TimerNode(parent, deadline, std::move(cause));
  n->Register();  // may be born done (parent done)
  if (n->Ready()) return n;
  if (deadline <= Clock::now()) {
    n->Fire();  // deadline has already passed
  } else if (deadline != TimePoint::max()) {
    TimerService::Get().Add(n);  // max() means never: no timer to arm
  }
  return n;
}

void TimerNode::Fire() {
  Cancel(true, Errc::kDeadlineExceeded, deadline_cause_);
}

}  // namespace ctx::internal
