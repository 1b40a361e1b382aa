// SPDX-License-Identifier: Apache-2.0
// core/src/cancel_node.h: the cancelable node (Go's cancelCtx) and the timer
// node (timerCtx). Internal.
//
// Lock order: a parent's mu_ before a child's mu_, and a node's mu_ before the
// per-CPU locks of its own children list. In practice no code path holds two
// nodes' locks at once: cancel drains its children under its own locks and
// cancels them after releasing them.

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
#include "runtime/child_list.h"
#include "runtime/mutex.h"
#include "runtime/node_pool.h"
#include "runtime/timer_service.h"

namespace ctx::internal {

// CancelNode is a context that can be canceled: WithCancel, WithCancelCause,
// and the base of TimerNode.
//
// Registration (Go's propagateCancel): a new cancel node links itself into the
// children list of its nearest cancelable ancestor (reg_parent_), which points
// at it without owning it. The child owns its parent chain through
// Node::parent_. A child leaves the list when it is canceled on its own, when
// it is destroyed, or when reg_parent_ is canceled (which drains the list).
//
// Every transition to done goes through MarkDone; children are canceled by
// Cancel's loop; a node leaves its parent's list only in Unlink.
class CancelNode : public Node, public DoneSignal {
 public:
  // Create makes a cancel node under parent (which the caller keeps alive; the
  // node takes its own reference once it exists) and registers it; a node
  // whose parent is already done is born done with the parent's error and
  // cause. The node starts with two references, for the Context and the
  // cancel function of the With* call.
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
  // the children list now, as contention would; whether it is split.
  size_t ChildCountForTest() CTX_LOCKS_EXCLUDED(mu_);
  void ShardChildrenForTest() CTX_LOCKS_EXCLUDED(mu_);
  bool ChildrenShardedForTest() const noexcept;

 protected:
  CancelNode(NodeKind kind, Node* parent) noexcept;
  ~CancelNode();
  // Register links this node under its nearest cancelable ancestor, or marks
  // it done at once when that ancestor is already done. Called once, right
  // after construction, before the node is shared.
  void Register();

 private:
  friend class TimerNode;
  friend struct ChildListTraits<CancelNode>;
  using Children = ChildList<CancelNode>;

  // Detached is what MarkDone took off a node it marked done, for Cancel to
  // signal and run outside the lock (children go to Cancel's work chain).
  struct Detached {
    Callback* callbacks = nullptr;
    int fd = -1;
    std::stop_source* stop = nullptr;
  };
  // How MarkDone may take the node from live to done.
  enum class Path {
    kAny,       // a cancel: lock-free if nothing is attached, else under mu_
    kLockFree,  // a parent's drain: only if that needs no lock, else kBusy
    kUnshared,  // Register: nobody else sees the node yet
  };
  enum class Marked { kNow, kAlready, kBusy };
  // MarkDone is the one transition to done: it publishes kDone with err's
  // bits and *cause (first cancel wins: kAlready if done before): a kept
  // cause as its index in the same state word, any other copied to Extras
  // under mu_,
  // then detaches what is attached: callbacks, fd and stop_source into
  // *detached, and children, each either marked done right there (MarkDone
  // kLockFree) or referenced and pushed onto *work for Cancel.
  // `cause` (null: none) may point into the parent's Extras::cause (a child
  // born under a done parent), this node's deadline cause, or the caller's
  // Error; it is read before MarkDone returns.
  Marked MarkDone(Errc err, const Error* cause, Path path, Detached* detached,
                  Children::Chain* work) CTX_LOCKS_EXCLUDED(mu_);
  // Unlink takes this node out of its parent's children list, if it is still
  // there (called by Cancel and Destroy).
  void Unlink() noexcept;
  // TryRef takes a reference unless the count already reached zero (the node is
  // being destroyed).
  bool TryRef() noexcept;
  // AttachDependent is called under mu_ (or, for a child, under the lock of
  // the children list it goes to) before attaching a dependent (child,
  // callback, fd, stop_source): it returns false if the node is done, else
  // sets kDependents so that every later cancel takes mu_ and sees it.
  inline bool AttachDependent() noexcept;
  // RegParent is the node whose children list holds us (or held us): the
  // nearest cancelable ancestor, whose signal our parent shares. Meaningful
  // only once registered.
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
  // Extras is a NodePool block itself, causes included, so that a cancel with
  // a cause costs no malloc (a kept cause, such as the bridges', needs no
  // Extras at all).
  struct Extras {
    static void* operator new(size_t size) { return NodePool::New(size); }
    static void operator delete(void* p, size_t size) noexcept {
      NodePool::Delete(p, size);
    }
    ~Extras();
    // fd: eventfd, created lazily by EventFd() under mu_; -1 until then.
    int fd = -1;
    // stop: created lazily by StopToken() under mu_; stop requested by the
    // first cancel.
    std::stop_source* stop = nullptr;
    // cause: set by the first cancel under mu_ unless kept in the state word
    // (a default Error: the cause is Err() or the kept one), constant once
    // done.
    Error cause;
    // deadline_cause: a *Cause deadline's cause (a default Error: none), set
    // before the node is shared, then constant.
    Error deadline_cause;
  };

  // Field order: what a child reads of its parent (the base's refs_, parent_,
  // done_, state_, then mu_ and children_, whose word leads to a split list)
  // comes first, within 40 bytes; the links that only this node's own list
  // operations write come last. A node's neighbour in memory is often a child
  // that another thread writes all the time (the allocator places it right
  // after its parent); with the links last, three of the four 16-byte
  // placements of a parent keep what children read off that child's cache
  // line.
  Mutex mu_;
  // children_: the registered children; its unsplit list is guarded by mu_.
  Children children_;
  // extras_: created lazily under mu_ (or by the TimerNode constructor, before
  // the node is shared), then constant until Destroy. Release/acquire: a
  // reader that finds it without the lock sees its fields as of creation.
  std::atomic<Extras*> extras_{nullptr};
  Callback* callbacks_ CTX_GUARDED_BY(mu_) = nullptr;
  // link_: our place in RegParent()'s children list (see ChildList).
  ChildLink<CancelNode> link_;
};

// TimerNode is a CancelNode with a deadline, armed in the shared timer service
// (its Timer base) until it is done.
class TimerNode final : public CancelNode, public Timer {
 public:
  // Create makes a timer node under parent (as CancelNode::Create; when
  // arming throws, nothing is left), registers it
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

// A cancel node lends its children list Node::kind_bits_.
template <>
struct ChildListTraits<CancelNode> {
  static ChildLink<CancelNode>& Link(CancelNode* c) noexcept {
    return c->link_;
  }
  static std::atomic<uint8_t>& Byte(CancelNode* c) noexcept {
    return c->kind_bits_;
  }
};

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
