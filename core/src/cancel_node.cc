// SPDX-License-Identifier: Apache-2.0
// Cancel nodes: registration with the nearest cancelable ancestor,
// first-cancel-wins, and the cascade. The children lists themselves (linking,
// unlinking, the split per CPU) are in child_lists.cc.
//
// Lock order: parent mu_ before child mu_ (a NOTE marks every place a second
// lock is taken). Callbacks, wake-ups and children's cancels always run after
// the node's lock is released.

#include "cancel_node.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "runtime/futex.h"
#include "runtime/live_nodes.h"
#include "runtime/timer_service.h"

namespace ctx::internal {
namespace {

// WriteEventFd makes an eventfd readable; EAGAIN (counter full) cannot happen
// with one write of 1.
void WriteEventFd(int fd) {
  const uint64_t one = 1;
  ssize_t r;
  do {
    r = write(fd, &one, sizeof(one));
  } while (r < 0 && errno == EINTR);
}

// CopyCause returns a heap copy of cause for a node's cause_, or null when
// cause says nothing more than err (no cause, or the same code without a
// message).
Error* CopyCause(Errc err, const Error* cause) {
  if (cause == nullptr || !*cause) return nullptr;
  if (*cause == Error(err)) return nullptr;  // no allocation for a bare code
  return new Error(*cause);
}

}  // namespace

bool TryRefNode(Node* n) noexcept {
  uint32_t r = n->refs_.load(std::memory_order_relaxed);
  while (r != 0) {
    // Relaxed is enough: the caller already reaches n through a pointer
    // published under a lock.
    if (n->refs_.compare_exchange_weak(r, r + 1, std::memory_order_relaxed))
      return true;
  }
  return false;
}

CancelNode::CancelNode(NodeKind kind, Node* parent) noexcept
    : Node(kind, parent, static_cast<DoneSignal*>(this)), DoneSignal(0) {
  // Two references: the Context and the cancel function the With* call
  // returns (ContextPeer::AdoptCancel). Set before Register shares the node.
  refs_.store(2, std::memory_order_relaxed);
  LiveNodes::Add(1);
}

CancelNode::~CancelNode() {
  // Destruction is exclusive: no other reference exists, so no lock is needed.
  delete extras_.load(std::memory_order_relaxed);
  LiveNodes::Add(-1);
}

CancelNode::Extras::~Extras() {
  if (fd >= 0) close(fd);
  delete stop;
  delete cause;
  delete deadline_cause;
  delete[] child_shards.load(std::memory_order_relaxed);
}

CancelNode::Extras* CancelNode::ExtrasLocked() {
  Extras* e = extras_.load(std::memory_order_relaxed);
  if (e == nullptr) {
    e = new Extras();
    extras_.store(e, std::memory_order_release);  // see extras_
  }
  return e;
}

const Error* CancelNode::CauseOrNull() const noexcept {
  const Extras* e = ExtrasOrNull();
  return e ? e->cause : nullptr;
}

CancelNode* CancelNode::Create(Node* parent) {
  CancelNode* n = new CancelNode(NodeKind::kCancel, parent);
  n->Register();
  return n;
}

void CancelNode::Register() {
  const DoneSignal* owner = parent_ ? parent_->done_ : &NeverDone();
  if (!owner->CanBeDone())
    return;  // parent is never canceled: nothing to register with
  CancelNode* p = FromSignal(owner);
  // Acquire: a done parent's error and cause are final and visible once kDone
  // is seen, so a child born done needs no lock on its parent.
  const uint32_t state = p->state_.load(std::memory_order_acquire);
  Errc parent_err = static_cast<Errc>((state >> kErrShift) & 0xff);
  const Error* parent_cause;
  if (state & kDone) {
    parent_cause = p->CauseOrNull();
  } else {
    if (p->LinkChild(this)) return;
    // Done since our first look.
    parent_err = static_cast<Errc>(
        (p->state_.load(std::memory_order_relaxed) >> kErrShift) & 0xff);
    // cause_ is constant once the parent is done, and our reference to the
    // parent chain keeps it alive: pointing at it is enough (null: the cause
    // is parent_err). Copying it here cost an Error per born-done child.
    parent_cause = p->CauseOrNull();
  }
  // The parent is done: the child is born done with the parent's error and
  // cause.
  if (parent_cause == nullptr) {
    // Nothing can be attached to a node nobody else sees yet (no child,
    // callback, waiter, fd, stop_source or armed timer) and there is no cause
    // to store: the state is all there is to write, and a plain store does it.
    // Whoever gets the node later does so through a synchronizing handoff.
    state_.store(kDone | (static_cast<uint32_t>(parent_err) << kErrShift),
                 std::memory_order_relaxed);
    return;
  }
  Cancel(false, parent_err, parent_cause);
}

bool CancelNode::TryRef() noexcept { return TryRefNode(this); }

bool CancelNode::MarkDone(Errc err, const Error* cause, CancelNode** children,
                          Callback** callbacks, int* fd,
                          std::stop_source** stop) {
  const uint32_t done = kDone | (static_cast<uint32_t>(err) << kErrShift);
  Error* own_cause = CopyCause(err, cause);
  if (own_cause == nullptr) {
    // Fast path: nothing attached (no child, callback, fd or stop_source)
    // and no cause to store, so there is nothing to detach and no lock to
    // take. One compare-and-swap decides the first cancel: it fails if
    // another cancel won (kDone) or a dependent was attached meanwhile
    // (kDependents, set under mu_ only while not done), and then we take the
    // locked path. acq_rel: release publishes what the canceler did before;
    // acquire pairs with a racing cancel. It keeps a cancel of a node with
    // nothing attached free of locks.
    const FastResult r = TryMarkDoneFast(done);
    if (r != FastResult::kLocked) {
      *children = nullptr;
      *callbacks = nullptr;
      *fd = -1;
      *stop = nullptr;
      return r == FastResult::kWon;  // else: first cancel wins
    }
  }
  MutexLock lock(mu_);
  // Setting kDependents (if not yet set) shuts the fast path, so from here on
  // only holders of mu_ can mark the node done.
  if (!AttachDependent()) {
    delete own_cause;
    return false;  // first cancel wins
  }
  if (own_cause != nullptr) ExtrasLocked()->cause = own_cause;
  // Publish: the error bits and kDone in one release step; waiters that see
  // kDone see the cause. (What follows is read only under mu_.) Published
  // before any child is marked, so a child seen done implies its parent is.
  const uint32_t old = state_.fetch_or(done, std::memory_order_acq_rel);
  if (old & kWaiters) FutexWakeAll(&state_);
  // Children: drop the whole list. A plain WithCancel child with nothing
  // attached is marked done right here, in the same pass, by its own
  // lock-free step (it can neither be freed meanwhile, since its Destroy
  // waits for our lock in Unlink, nor need more work: no children, callbacks,
  // fd, stop_source or timer). It keeps a fan-out cancel to one pass over the
  // children.
  // Every other child still alive gets a reference so it cannot be destroyed
  // while we cancel it outside the lock; a child whose count is already zero
  // is being destroyed and will find itself unlinked (pprev_ null) when it
  // takes our lock.
  // (Only when the cause says no more than err: the children inherit it.)
  const bool inherit_fast = own_cause == nullptr;
  CancelNode* live = nullptr;
  const auto detach = [&](CancelNode* c) {
    while (c != nullptr) {
      CancelNode* next = c->next_;
      c->pprev_ = nullptr;
      if (inherit_fast && c->kind_ == NodeKind::kCancel &&
          c->TryMarkDoneFast(done) != FastResult::kLocked) {
        c = next;  // done now (by us, or by its own cancel before)
        continue;
      }
      if (c->TryRef()) {
        c->next_ = live;  // reuse next_ as our private work-list link
        live = c;
      }
      c = next;
    }
  };
  // kDone is already published, so a child registering in a shard after we
  // pass it sees it and is born done instead of linking.
  ForEachChildList([&](CancelNode*& head) {
    detach(head);
    head = nullptr;
  });
  *children = live;
  // Callbacks: detach all; their list references (and node references) now
  // belong to this cancel.
  for (Callback* cb = callbacks_; cb != nullptr; cb = cb->next_)
    cb->pprev_ = nullptr;
  *callbacks = callbacks_;
  callbacks_ = nullptr;
  const Extras* extras = extras_.load(std::memory_order_relaxed);
  *fd = extras ? extras->fd : -1;
  *stop = extras ? extras->stop : nullptr;
  return true;
}

CancelNode::FastResult CancelNode::TryMarkDoneFast(uint32_t done) noexcept {
  uint32_t s = state_.load(std::memory_order_relaxed);
  while (!(s & (kDone | kDependents))) {
    if (state_.compare_exchange_weak(s, s | done, std::memory_order_acq_rel)) {
      if (s & kWaiters) FutexWakeAll(&state_);
      return FastResult::kWon;
    }
  }
  return (s & kDone) ? FastResult::kAlreadyDone : FastResult::kLocked;
}

void CancelNode::Cancel(bool remove_from_parent, Errc err, const Error* cause) {
  // Iterative over the tree, so a very deep chain cannot overflow the stack.
  // `work` holds referenced nodes linked through next_ (they are no longer in
  // any children list).
  CancelNode* work = nullptr;
  CancelNode* n = this;
  while (n != nullptr) {
    CancelNode* children;
    Callback* callbacks;
    int fd;
    std::stop_source* stop;
    if (n->MarkDone(err, cause, &children, &callbacks, &fd, &stop)) {
      if (fd >= 0) WriteEventFd(fd);
      if (stop)
        stop->request_stop();  // runs std::stop_callbacks on this thread
      while (callbacks != nullptr) {
        Callback* cb = callbacks;
        callbacks = cb->next_;
        // Whoever claims the callback drops its hold on the node: after a
        // lost claim, Stop still needs the node (it takes our lock to look
        // for the callback), so the hold is Stop's to drop.
        if (cb->TryClaim(Callback::kStarted)) {
          cb->Run();
          Unref(n);  // the pending callback's hold; n is referenced by us
        }
        cb->Release();  // the list's reference, detached to us
      }
      if (n->kind_ == NodeKind::kTimer)
        TimerService::Get().Remove(static_cast<TimerNode*>(n));
      // Children inherit this cancel's error and cause (the parent's reached
      // them first).
      while (children != nullptr) {
        CancelNode* c = children;
        children = c->next_;
        c->next_ = work;
        work = c;
      }
    }
    if (n != this) Unref(n);
    n = work;
    if (work) work = work->next_;
  }
  if (remove_from_parent) Unlink();
}

Error CancelNode::CauseOf() {
  if (!Ready()) return Error();
  // The cause is constant once done (written before the release that set
  // kDone).
  const Error* cause = CauseOrNull();
  return cause ? *cause : Error(Err());
}

void CancelNode::AddCallback(Callback* cb) {
  cb->owner_ = this;
  {
    MutexLock lock(mu_);
    if (AttachDependent()) {
      Ref(this);  // a pending callback keeps its node alive (Go's AfterFunc
                  // does too)
      cb->next_ = callbacks_;
      if (cb->next_) cb->next_->pprev_ = &cb->next_;
      cb->pprev_ = &callbacks_;
      callbacks_ = cb;
      return;
    }
  }
  // Already done: run inline, outside the lock.
  if (cb->TryClaim(Callback::kStarted)) cb->Run();
  cb->Release();
}

bool CancelNode::RemoveCallback(Callback* cb) {
  MutexLock lock(mu_);
  if (cb->pprev_ == nullptr)
    return false;  // cancel detached it; cancel releases it
  *cb->pprev_ = cb->next_;
  if (cb->next_) cb->next_->pprev_ = cb->pprev_;
  cb->pprev_ = nullptr;
  cb->next_ = nullptr;
  return true;
}

int CancelNode::EventFd() {
  MutexLock lock(mu_);
  // AttachDependent: a live node's cancel must now take the lock to signal fd_.
  Extras* e = ExtrasLocked();
  if (e->fd < 0)
    e->fd = eventfd(AttachDependent() ? 0 : 1, EFD_CLOEXEC | EFD_NONBLOCK);
  return e->fd;
}

std::stop_token CancelNode::StopToken() {
  std::stop_source* source;
  bool request = false;
  {
    MutexLock lock(mu_);
    Extras* e = ExtrasLocked();
    if (e->stop == nullptr) {
      e->stop = new std::stop_source();
      // A cancel that already happened did not see stop_: request the stop
      // here, outside the lock. (AttachDependent: a later cancel takes the lock
      // and sees stop_.)
      request = !AttachDependent();
    }
    source = e->stop;  // constant once set, freed only with the node
  }
  if (request) source->request_stop();
  return source->get_token();
}

void CancelNode::Destroy(CancelNode* n) noexcept {
  // Leave the parent's list (a child destroyed without cancel: Go would leak it
  // until the parent ends).
  n->Unlink();
  if (n->kind_ == NodeKind::kTimer) {
    TimerNode* t = static_cast<TimerNode*>(n);
    // A done timer is out of the heap already: whoever marked it done took it
    // out (Collect before firing, Cancel right after MarkDone) before dropping
    // the reference that ordered this destruction, or Create disarmed it.
    if (!t->Ready()) TimerService::Get().Remove(t);
    delete t;
  } else {
    delete n;
  }
}

// The memory budget (see Extras): one 96-byte pool block per timer node.
static_assert(sizeof(CancelNode) <= NodePool::kBlockSizes[0]);
static_assert(sizeof(TimerNode) <= NodePool::kBlockSizes[1]);

}  // namespace ctx::internal
