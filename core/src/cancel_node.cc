// SPDX-License-Identifier: Apache-2.0
// Cancel nodes, in the order of Go's context.go: registration with the
// nearest cancelable ancestor (propagateCancel), the one transition to done
// (MarkDone), the cascade (Cancel), leaving the parent (Unlink), then
// callbacks, fd and stop_token. The children list itself is
// runtime/child_list.h.
//
// Lock order: parent mu_ before child mu_ (a NOTE marks every place a second
// lock is taken). Callbacks, wake-ups and children's cancels always run after
// the node's lock is released.

#include "cancel_node.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "ctx/internal/live_count.h"
#include "kept_errors.h"
#include "runtime/futex.h"
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

// RecordedCause is what a cancel with error `err` records of `cause`:
// whether it is a cause at all (an error, and not equal to Error(err)), and if
// so and it is kept (ImmortalError's first kMaxKeptIndex), its kept index, to
// go into the state word; `kept` is 0 otherwise.
struct RecordedCause {
  bool has_cause;
  uint32_t kept;
};

RecordedCause CauseToRecord(const Error* cause, Errc err) {
  if (cause == nullptr) return {false, 0};
  if (const uint32_t kept = KeptSlotIndex(*cause); kept != 0) {
    // Its slot knows whether it is a cause, without comparing messages.
    return KeptSlot(kept).IsCauseFor(err) ? RecordedCause{true, kept}
                                          : RecordedCause{false, 0};
  }
  return {*cause && *cause != Error(err), 0};
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
  LiveCount::Add(Counted::kNodes, 1);
}

CancelNode::~CancelNode() {
  // Destruction is exclusive: no other reference exists, so no lock is needed.
  delete extras_.load(std::memory_order_relaxed);
  LiveCount::Add(Counted::kNodes, -1);
}

CancelNode::Extras::~Extras() {
  if (fd >= 0) close(fd);
  delete stop;
}

CancelNode::Extras* CancelNode::ExtrasLocked() {
  // One pool block of the smallest size, not a malloc (see Extras).
  static_assert(sizeof(Extras) <= NodePool::kBlockSizes[0]);
  // NOTE: under mu_, the new below may take the pool's shared-stack lock (a
  // leaf: the pool calls nothing that locks a node).
  Extras* e = extras_.load(std::memory_order_relaxed);
  if (e == nullptr) {
    e = new Extras();
    extras_.store(e, std::memory_order_release);  // see extras_
  }
  return e;
}

const Error* CancelNode::CauseOrNull() const noexcept {
  const uint32_t kept =
      (state_.load(std::memory_order_acquire) >> kKeptCauseShift) & 0xff;
  if (kept != 0) return &KeptSlot(kept).error;
  const Extras* e = ExtrasOrNull();
  return e != nullptr && e->cause ? &e->cause : nullptr;
}

CancelNode* CancelNode::Create(Node* parent) {
  CancelNode* n = new CancelNode(NodeKind::kCancel, parent);
  Ref(parent);  // once the node exists: a throw above took none
  n->Register();
  return n;
}

void CancelNode::Register() {
  const DoneSignal* owner = parent_ ? parent_->done_ : &NeverDone();
  if (!owner->CanBeDone())
    return;  // parent is never canceled: nothing to register with
  CancelNode* p = FromSignal(owner);
  if (!p->Ready() &&
      p->children_.Link(p->mu_, this, [p] { return p->AttachDependent(); }))
    return;
  // The parent is done: the child is born done with the parent's error and
  // cause. Acquire: they are final and visible once kDone is seen; the cause
  // is constant from then on, and our reference to the parent chain keeps it
  // alive. Nothing is attached to a node nobody else sees yet, so nothing is
  // detached.
  const uint32_t state = p->state_.load(std::memory_order_acquire);
  Detached none;
  Children::Chain no_children;
  MarkDone(static_cast<Errc>((state >> kErrShift) & 0xff), p->CauseOrNull(),
           Path::kUnshared, &none, &no_children);
}

bool CancelNode::TryRef() noexcept { return TryRefNode(this); }

CancelNode::Marked CancelNode::MarkDone(Errc err, const Error* cause, Path path,
                                        Detached* detached,
                                        Children::Chain* work) {
  // A timer node must also leave the timer queue, which its own Cancel does.
  if (path == Path::kLockFree && kind_ == NodeKind::kTimer)
    return Marked::kBusy;
  // A kept cause (ImmortalError's) is recorded in the state word itself, in
  // the step that marks the node done: no lock and no Extras, as for no cause.
  const auto [has_cause, kept] = CauseToRecord(cause, err);
  const uint32_t done = kDone | (static_cast<uint32_t>(err) << kErrShift) |
                        (kept << kKeptCauseShift);
  if (!has_cause || kept != 0) {
    if (path == Path::kUnshared) {
      // Nobody else sees the node, so nothing is attached and nobody waits: a
      // plain store is all there is to do. Whoever gets the node later does so
      // through a synchronizing handoff.
      state_.store(done, std::memory_order_relaxed);
      return Marked::kNow;
    }
    // Lock-free: while nothing is attached (kDependents, set under mu_ only
    // while not done), one CAS decides the first cancel and there is nothing
    // to detach. acq_rel: release publishes what the canceler did before;
    // acquire pairs with a racing cancel.
    uint32_t s = state_.load(std::memory_order_relaxed);
    while (!(s & (kDone | kDependents))) {
      if (state_.compare_exchange_weak(s, s | done,
                                       std::memory_order_acq_rel)) {
        if (s & kWaiters) FutexWakeAll(&state_);
        return Marked::kNow;
      }
    }
    if (s & kDone) return Marked::kAlready;
  }
  // A parent's drain holds the parent's locks: it marks only what needs none.
  if (path == Path::kLockFree) return Marked::kBusy;

  MutexLock lock(mu_);
  // Setting kDependents (if not yet set) shuts the lock-free step, so from
  // here on only holders of mu_ can mark the node done.
  if (!AttachDependent()) return Marked::kAlready;
  // (cause may point into the parent's Extras::cause or this node's own
  // deadline_cause: both outlive this copy.)
  if (has_cause && kept == 0) ExtrasLocked()->cause = *cause;
  // Publish: the error bits and kDone in one release step; waiters that see
  // kDone see the cause. Published before the children are drained, so a
  // child seen done implies its parent is, and a child linking after the
  // drain is born done instead.
  const uint32_t old = state_.fetch_or(done, std::memory_order_acq_rel);
  if (old & kWaiters) FutexWakeAll(&state_);
  children_.DrainAll(mu_, [&](CancelNode* c) {
    // A child with nothing attached is marked done here, in the one pass (it
    // cannot be freed meanwhile: its Destroy waits for our lock in Unlink).
    if (c->MarkDone(err, cause, Path::kLockFree, nullptr, nullptr) !=
        Marked::kBusy)
      return;
    // Any other child gets a reference so it cannot be destroyed while Cancel
    // cancels it outside the lock; one whose count is already zero is being
    // destroyed and will find itself drained when it takes our lock.
    if (c->TryRef()) work->Push(c);
  });
  // Callbacks: detach all; their list references (and node references) now
  // belong to this cancel.
  for (Callback* cb = callbacks_; cb != nullptr; cb = cb->next_)
    cb->pprev_ = nullptr;
  detached->callbacks = callbacks_;
  callbacks_ = nullptr;
  const Extras* extras = extras_.load(std::memory_order_relaxed);
  detached->fd = extras ? extras->fd : -1;
  detached->stop = extras ? extras->stop : nullptr;
  return Marked::kNow;
}

void CancelNode::Cancel(bool remove_from_parent, Errc err, const Error* cause) {
  // Iterative over the tree, so a very deep chain cannot overflow the stack.
  // `work` holds referenced children drained by the cancels so far.
  Children::Chain work;
  // keep: whether we hold a reference to this node of our own. The caller's
  // reference may be one that user code run below drops (a callback that
  // destroys the cancel function being called), and the loop and Unlink still
  // use this node after it. Taken only when user code will run: a cancel that
  // detached no callback, stop_source or child runs none.
  bool keep = false;
  CancelNode* n = this;
  while (n != nullptr) {
    Detached d;
    if (n->MarkDone(err, cause, Path::kAny, &d, &work) == Marked::kNow) {
      if (n == this &&
          (d.callbacks != nullptr || d.stop != nullptr || !work.Empty())) {
        Ref(this);
        keep = true;
      }
      if (d.fd >= 0) WriteEventFd(d.fd);
      if (d.stop)
        d.stop->request_stop();  // runs std::stop_callbacks on this thread
      while (d.callbacks != nullptr) {
        Callback* cb = d.callbacks;
        d.callbacks = cb->next_;
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
    }
    if (n != this) Unref(n);
    // Children inherit this cancel's error and cause (the parent's reached
    // them first).
    n = work.Pop();
  }
  if (remove_from_parent) Unlink();
  if (keep) Unref(this);
}

void CancelNode::Unlink() noexcept {
  if (!Children::Listed(this)) return;
  // NOTE: the parent's lock (or one of its list's); we hold none of ours.
  CancelNode* p = RegParent();
  p->children_.Unlink(p->mu_, this);
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

size_t CancelNode::ChildCountForTest() {
  MutexLock lock(mu_);
  return children_.CountForTest(mu_);
}

void CancelNode::ShardChildrenForTest() {
  MutexLock lock(mu_);
  children_.SplitForTest(mu_);
}

bool CancelNode::ChildrenShardedForTest() const noexcept {
  return children_.SplitForTest();
}

// The memory budget (see Extras): one 96-byte pool block per timer node.
static_assert(sizeof(CancelNode) <= NodePool::kBlockSizes[0]);
// A kept cause's index fits the 8 bits of the state word that record it.
static_assert(kMaxKeptIndex <= 0xff);
static_assert(sizeof(TimerNode) <= NodePool::kBlockSizes[1]);

}  // namespace ctx::internal
