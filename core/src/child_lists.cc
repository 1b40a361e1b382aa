// SPDX-License-Identifier: Apache-2.0
// A cancel node's children lists: a child links itself into its nearest
// cancelable ancestor's list and leaves it on its own cancel or destruction;
// a parent found contended splits its list per CPU (CancelNode::ChildShard).
// The walk that cancels every listed child is MarkDone, in cancel_node.cc.

#include <algorithm>

#include "cancel_node.h"
#include "runtime/cpu_shard.h"

namespace ctx::internal {

size_t CancelNode::ChildShardCount() noexcept {
  return std::min(CpuCount(), kMaxChildShards);
}

void CancelNode::ShardChildrenLocked() {
  if (ChildShardCount() < 2) return;
  Extras* e = ExtrasLocked();
  if (e->child_shards.load(std::memory_order_relaxed) != nullptr) return;
  // Release: a child that finds the shards without mu_ sees them built.
  e->child_shards.store(new ChildShard[ChildShardCount()],
                        std::memory_order_release);
}

void CancelNode::PushChild(CancelNode** head, CancelNode* c, unsigned list) {
  // Push front: O(1), and the order of children is not observable.
  c->next_ = *head;
  if (c->next_) c->next_->pprev_ = &c->next_;
  c->pprev_ = head;
  *head = c;
  // Relaxed: c is not yet shared; whoever gets it later does so through a
  // synchronizing handoff.
  c->kind_bits_.store(static_cast<uint8_t>(kLinked | (list << kListShift)),
                      std::memory_order_relaxed);
}

bool CancelNode::LinkChild(CancelNode* c) {
  if (ChildShard* shards = ChildShards()) {
    // Split: this CPU's list, so threads on other CPUs do not wait for our
    // lock or our siblings' cache lines.
    const size_t i = CurrentCpuShard(ChildShardCount());
    ChildShard& shard = shards[i];
    MutexLock lock(shard.mu);
    if (!AttachDependent()) return false;
    PushChild(&shard.head, c, static_cast<unsigned>(i) + 1);
    return true;
  }
  bool contended;
  MutexLock lock(mu_, &contended);
  if (!AttachDependent()) return false;
  PushChild(&children_, c, 0);
  if (contended) ShardChildrenLocked();  // for the children that come next
  return true;
}

void CancelNode::Unlink() noexcept {
  // Relaxed: kLinked was written before the node was shared; kUnlinked is
  // written by an Unlink of ours under the parent's lock, after which the
  // parent never touches us again, so seeing it lets us skip the lock. (The
  // parent dropping its list does not set it: then we must take the lock, to
  // wait until its cancel is done with us.)
  const uint8_t flags = kind_bits_.load(std::memory_order_relaxed);
  if (!Listed(flags)) return;
  CancelNode* p = RegParent();
  const unsigned list = flags >> kListShift;
  // NOTE: the parent's lock (or its shard's); we hold none of ours.
  if (list != 0) {
    MutexLock lock(p->ChildShards()[list - 1].mu);
    UnlinkLocked(flags);
    return;
  }
  bool contended;
  MutexLock lock(p->mu_, &contended);
  UnlinkLocked(flags);
  if (contended) p->ShardChildrenLocked();  // for the children that come next
}

void CancelNode::UnlinkLocked(uint8_t flags) noexcept {
  if (pprev_ != nullptr) {  // else the parent's cancel dropped its list
    *pprev_ = next_;
    if (next_) next_->pprev_ = pprev_;
    pprev_ = nullptr;
    next_ = nullptr;
  }
  kind_bits_.store(flags | kUnlinked, std::memory_order_relaxed);
}

size_t CancelNode::ChildCountForTest() {
  MutexLock lock(mu_);
  size_t n = 0;
  ForEachChildList([&n](CancelNode*& head) {
    for (CancelNode* c = head; c != nullptr; c = c->next_) ++n;
  });
  return n;
}

void CancelNode::ShardChildrenForTest() {
  MutexLock lock(mu_);
  ShardChildrenLocked();
}

bool CancelNode::ChildrenShardedForTest() const noexcept {
  return ChildShards() != nullptr;
}

}  // namespace ctx::internal
