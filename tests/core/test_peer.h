// SPDX-License-Identifier: Apache-2.0
// tests/core/test_peer.h: what core tests may observe of the internals, through
// one named peer.

#ifndef CTX_TESTS_CORE_TEST_PEER_H_
#define CTX_TESTS_CORE_TEST_PEER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "cancel_node.h"
#include "ctx/context.h"
#include "ctx/internal/live_count.h"
#include "timer_service.h"

namespace ctx {

struct ContextTestPeer {
  // LiveNodes counts every cancel, timer, value and without-cancel node alive
  // in the process. It first waits for the timer thread to release the
  // references it takes while firing: a fired node may be freed there just
  // after a waiter has seen it done.
  static int64_t LiveNodes() {
    internal::TimerService::Get().WaitIdle();
    return internal::LiveCount::Count(internal::Counted::kNodes);
  }
  // Children counts the cancelable children registered with c's nearest
  // cancelable node.
  static size_t Children(const Context& c) {
    const DoneSignal& d = c.Done();
    if (!d.CanBeDone()) return 0;
    return internal::CancelNode::FromSignal(&d)->ChildCountForTest();
  }
  // ShardChildren splits the children list of c's nearest cancelable node
  // into per-CPU lists now, as contention on its lock would (no-op on a
  // one-CPU machine); ChildrenSharded says whether it is split.
  static void ShardChildren(const Context& c) {
    const DoneSignal& d = c.Done();
    if (d.CanBeDone())
      internal::CancelNode::FromSignal(&d)->ShardChildrenForTest();
  }
  static bool ChildrenSharded(const Context& c) {
    const DoneSignal& d = c.Done();
    return d.CanBeDone() &&
           internal::CancelNode::FromSignal(&d)->ChildrenShardedForTest();
  }
  // ArmedTimers counts the timers armed in the shared timer service.
  static size_t ArmedTimers() { return internal::TimerService::Get().Armed(); }
};

// A cap for waits in tests: generous, so a loaded machine never fails a test
// that is correct.
inline constexpr std::chrono::seconds kWaitCap{20};

}  // namespace ctx

#endif  // CTX_TESTS_CORE_TEST_PEER_H_
