// SPDX-License-Identifier: Apache-2.0
// core/src/cancel_node.h: the cancelable node (Go's cancelCtx) and the timer
// node (timerCtx). Internal.
//
// Lock order: a parent's mu_ before a child's mu_, and a node's mu_ before its
// own ChildShard locks. In practice no code path holds two nodes' locks at
// once: cancel detaches its children under its own locks (mu_, then each
// shard's in turn) and cancels them after releasing them.

#ifndef CTX_SRC_CANCEL_NODE_H_
#define CTX_SRC_CANCEL_NODE_H_

#include <atomic>
#include <cstdint>
#include <stop_token>
#include <system_error>

#include "ctx/context.h"
#include "ctx/internal/callback.h"
#include "ctx/internal/node.h"
#include "ctx/internal/thread_annotations.h"
#include "runtime/mutex.h"
#include "runtime/node_pool.h"
#include "runtime/timer_service.h"

namespace ctx::internal {

// CancelNode is a context that can be canceled: WithCancel, WithCancelCause,
// and the base of TimerNode.
//
// Registration (Go's propagateCancel): a new cancel node links itself into the
// children list of its nearest cancelable ancestor (reg_parent_), which points
// at it without owning it. A parent whose lock is found contended while a
// child registers or leaves splits its list: later children go to one list
// per CPU, each with its own lock and cache line (ChildShard), so threads on
// different CPUs that create and cancel children of one shared parent stop
// passing its lock and their siblings' links between them. The child owns its
// parent chain through Node::parent_. A child leaves the list when it is
// canceled on its own, when it is destroyed, or when reg_parent_ is canceled
// (which drops the whole list).
class CancelNode : public Node, public DoneSignal {
 public:
  // Create makes a cancel node under parent (adopting one reference to it) and
  // registers it; a node whose parent is already done is born done with the
  // parent's error and cause. The node starts with two references, for the
  // Context and the cancel function of the With* call.
  static CancelNode* Create(Node* parent);

  // Cancel and timer nodes live in NodePool blocks, not malloc's.
  static void* operator new(size_t size) { return NodePool::New(size); }
  static void operator delete(void* p, size_t size) noexcept {
    NodePool::Delete(p, size);
  }

  static CancelNode* FromSignal(const DoneSignal* d) noexcept {
    return static_cast<CancelNode*>(const_cast<DoneSignal*>(d));
  }

  // Cancel marks this node and every registered descendant done with err
  // (kCanceled or kDeadlineExceeded) and cause (null: the cause is err). First
  // call wins; later calls do nothing. Wakes waiters, signals the fd and
  // stop_token, runs pending callbacks and cancels children, all outside the
  // lock, then (remove_from_parent) unlinks from reg_parent_. The caller holds
  // a reference.
  void Cancel(bool remove_from_parent, Errc err, const Error* cause)
      CTX_LOCKS_EXCLUDED(mu_);

  // CauseOf returns the cause once done, or a default Error while live.
  Error CauseOf() CTX_LOCKS_EXCLUDED(mu_);

  // AddCallback links cb (which arrives with one reference for the list) or,
  // when already done, runs it inline and drops that reference.
  void AddCallback(Callback* cb) CTX_LOCKS_EXCLUDED(mu_);
  // RemoveCallback unlinks cb if it is still linked; true if it was (the caller
  // then owns the list's reference and the node reference it held).
  bool RemoveCallback(Callback* cb) CTX_LOCKS_EXCLUDED(mu_);

  int EventFd() CTX_LOCKS_EXCLUDED(mu_);
  std::stop_token StopToken() CTX_LOCKS_EXCLUDED(mu_);

  // Destroy releases what the node holds (registration, timer, fd) and frees
  // it. Called once the reference count is zero; no child, no pending callback
  // and no handle remains.
  static void Destroy(CancelNode* n) noexcept;

  // Test hooks (via ContextTestPeer): number of registered children; split
  // the children lists now, as contention would; whether they are split.
  size_t ChildCountForTest() CTX_LOCKS_EXCLUDED(mu_);
  void ShardChildrenForTest() CTX_LOCKS_EXCLUDED(mu_);
  bool ChildrenShardedForTest() const noexcept;

 protected:
  CancelNode(NodeKind kind, Node* parent) noexcept;
  ~CancelNode();
  // Register links this node under its nearest cancelable ancestor, or cancels
  // it at once when that ancestor is already done. Called once, right after
  // construction, before the node is shared.
  void Register();

 private:
  friend class TimerNode;
  // TryRef takes a reference unless the count already reached zero (the node is
  // being destroyed).
  bool TryRef() noexcept;
  // TryMarkDoneFast marks the node done (`done`: kDone and the error bits)
  // with one CAS if nothing is attached. kLocked: something is, or may be;
  // take mu_ and the locked path.
  enum class FastResult { kWon, kAlreadyDone, kLocked };
  FastResult TryMarkDoneFast(uint32_t done) noexcept;
  // AttachDependent is called under mu_ (or, for a child, under the lock of
  // the child shard it goes to) before attaching a dependent (child,
  // callback, fd, stop_source): it returns false if the node is done, else
  // sets kDependents so that every later cancel takes mu_ (and then each
  // shard's lock) and sees it.
  inline bool AttachDependent() noexcept;

  // The children lists. ChildShard is one CPU's list of a split parent, alone
  // on its cache line. A child records which list holds it in kind_bits_
  // (kListShift): 0 is children_ under mu_, i + 1 is shard i.
  struct alignas(64) ChildShard {
    Mutex mu;
    CancelNode* head CTX_GUARDED_BY(mu) = nullptr;
  };
  // ChildShardCount: shards per split parent, one per CPU, at most what the
  // list field of kind_bits_ can name. A one-CPU process never splits.
  static size_t ChildShardCount() noexcept;
  // ChildShards returns the shards (ChildShardCount() of them), or null while
  // the list is not split. Once set they stay until Destroy.
  inline ChildShard* ChildShards() const noexcept;
  // ShardChildrenLocked splits the children list (creates the shards) unless
  // already split or a one-CPU process. Children already in children_ stay
  // there.
  void ShardChildrenLocked() CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // LinkChild links c, a new child not yet shared, into our children: this
  // CPU's shard if split, else children_ (splitting when mu_ was contended).
  // False if we are done (c is then born done by its caller).
  bool LinkChild(CancelNode* c) CTX_LOCKS_EXCLUDED(mu_);
  // PushChild links c, not yet shared, at the front of the list `head` (number
  // `list`, see ChildShard); the caller holds that list's lock.
  static void PushChild(CancelNode** head, CancelNode* c, unsigned list);
  // ForEachChildList calls f(head) for children_ and then for each shard's
  // list under that shard's lock; the caller holds mu_.
  template <class F>
  void ForEachChildList(F f) CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // MarkDone is the locked part of Cancel. Returns false if the node was
  // already done; otherwise detaches children (returned through *children, each
  // with a reference taken) and callbacks.
  bool MarkDone(Errc err, const Error* cause, CancelNode** children,
                Callback** callbacks, int* fd, std::stop_source** stop)
      CTX_LOCKS_EXCLUDED(mu_);
  void Unlink() noexcept;
  // UnlinkLocked is Unlink's part under the lock of the list holding us;
  // `flags` is our kind_bits_ as Unlink read it.
  void UnlinkLocked(uint8_t flags) noexcept;
  // RegParent is the node whose children list holds us (or held us): the
  // nearest cancelable ancestor, whose signal our parent shares. Meaningful
  // only when kLinked is set.
  CancelNode* RegParent() const noexcept { return FromSignal(parent_->done_); }
  // ExtrasLocked returns extras_, creating it.
  struct Extras;
  // ExtrasOrNull returns extras_ (null if never created), acquire.
  const Extras* ExtrasOrNull() const noexcept {
    return extras_.load(std::memory_order_acquire);
  }
  Extras* ExtrasLocked() CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CauseOrNull is the cause stored by the first cancel (null: the cause is
  // Err()). Valid once done: it is constant from then on.
  const Error* CauseOrNull() const noexcept;

  // Extras holds what few contexts need, so that every node does not pay for
  // it: a node is 72 bytes (a timer node 96; NodePool blocks of 80 and 96).
  struct Extras {
    ~Extras();
    // fd: eventfd, created lazily by EventFd() under mu_; -1 until then.
    int fd = -1;
    // stop: created lazily by StopToken() under mu_; stop requested by the
    // first cancel.
    std::stop_source* stop = nullptr;
    // cause: set by the first cancel under mu_ (null: the cause is Err()),
    // constant once done.
    Error* cause = nullptr;
    // deadline_cause: a *Cause deadline's cause, set before the node is
    // shared, then constant.
    Error* deadline_cause = nullptr;
    // child_shards: the split children lists, created under mu_ (release)
    // and read without it (acquire); constant once set.
    std::atomic<ChildShard*> child_shards{nullptr};
  };

  // Link state, in Node::kind_bits_. kLinked: Register put us in
  // RegParent()'s children list (written before the node is shared). kUnlinked:
  // our own Unlink ran (written under RegParent()->mu_); the parent no longer
  // points at us, so a later Unlink (from Destroy) needs no lock: a canceled
  // child takes its parent's lock once.
  // Bits 2-7 (kListShift) number the list holding us (see ChildShard), set
  // with kLinked.
  static constexpr uint8_t kLinked = 1;
  static constexpr uint8_t kUnlinked = 2;
  // Listed reports whether link state `flags` says the node may still be in
  // its parent's children list (linked, not yet unlinked by itself).
  static constexpr bool Listed(uint8_t flags) noexcept {
    return (flags & (kLinked | kUnlinked)) == kLinked;
  }
  static constexpr int kListShift = 2;
  static constexpr size_t kMaxChildShards = 63;

  // Field order: what a child reads of its parent (the base's refs_, parent_,
  // done_, state_, then mu_ and extras_, which leads to the split lists) comes
  // first, within 40 bytes; the links that only this node's own list
  // operations write come last. A node's neighbour in memory is often a child
  // that another thread writes all the time (the allocator places it right
  // after its parent); with extras_ last, three of the four 16-byte placements
  // of a parent put extras_ on that child's cache line, now one does.
  Mutex mu_;
  // extras_: created lazily under mu_ (or by the TimerNode constructor, before
  // the node is shared), then constant until Destroy. Release/acquire: a
  // reader that finds it without the lock sees its fields as of creation.
  std::atomic<Extras*> extras_{nullptr};
  // Links in one of RegParent()'s children lists, under that list's lock
  // (mu_ for children_, a ChildShard's mu for its list). pprev_ is null when
  // not linked (never linked, unlinked, or the parent dropped its list on
  // cancel). After the parent drops its list, the parent's cancel reuses next_
  // as a private work-list link.
  CancelNode* next_ = nullptr;
  CancelNode** pprev_ = nullptr;
  CancelNode* children_ CTX_GUARDED_BY(mu_) = nullptr;
  Callback* callbacks_ CTX_GUARDED_BY(mu_) = nullptr;
};

// TimerNode is a CancelNode with a deadline, armed in the shared timer service
// (its Timer base) until it is done.
class TimerNode final : public CancelNode, public Timer {
 public:
  // Create makes a timer node under parent (adopting a reference), registers it
  // and arms its timer, or marks it done at once if the parent is done or the
  // deadline is at or before `now` (the caller's clock reading).
  static TimerNode* Create(Node* parent, TimePoint deadline, Error cause,
                           TimePoint now);

  TimePoint deadline() const noexcept { return deadline_; }
  // Fire is the timer service's cancel: kDeadlineExceeded with the *Cause
  // deadline's cause.
  void Fire();

 private:
  friend class CancelNode;
  TimerNode(Node* parent, TimePoint deadline, Error cause);
  ~TimerNode() = default;

  // The timer service's view of a timer node: a due timer is claimed with a
  // reference (declined once the count reached zero), fired, and released.
  static bool ClaimTimer(Timer* t) noexcept;
  static void FireTimer(Timer* t) noexcept;
  static const Timer::Ops kTimerOps;

  const TimePoint deadline_;
};

// Small members shared by cancel_node.cc and child_lists.cc.

inline CancelNode::ChildShard* CancelNode::ChildShards() const noexcept {
  const Extras* e = ExtrasOrNull();
  return e ? e->child_shards.load(std::memory_order_acquire) : nullptr;
}

template <class F>
inline void CancelNode::ForEachChildList(F f) {
  f(children_);
  if (ChildShard* shards = ChildShards()) {
    for (size_t i = 0, n = ChildShardCount(); i < n; ++i) {
      MutexLock lock(shards[i].mu);  // NOTE: a shard's lock inside mu_
      f(shards[i].head);
    }
  }
}

inline bool CancelNode::AttachDependent() noexcept {
  uint32_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (s & kDone) return false;
    if (s & kDependents) return true;  // only lock holders set kDone now
    // Acquire on failure too: a cancel that won shows its writes.
    if (state_.compare_exchange_weak(s, s | kDependents,
                                     std::memory_order_acquire))
      return true;
  }
}

// TryRefNode takes a reference to n unless its count already reached zero.
bool TryRefNode(Node* n) noexcept;

}  // namespace ctx::internal

#endif  // CTX_SRC_CANCEL_NODE_H_
