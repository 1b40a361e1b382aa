// SPDX-License-Identifier: Apache-2.0
// The context tree: roots, the With* constructors, values, AfterFunc, and node
// destruction.

#include "ctx/context.h"

#include <atomic>
#include <iomanip>
#include <memory>
#include <sstream>
#include <vector>

#include "cancel_node.h"
#include "ctx/clock.h"
#include "ctx/internal/clock_pair.h"
#include "ctx/internal/live_count.h"
#include "runtime/node_pool.h"

namespace ctx {
namespace internal {
namespace {

// RootNode is TODO's node (Background is the null node). Its count starts high
// and it is never freed.
class RootNode final : public Node {
 public:
  RootNode() noexcept : Node(NodeKind::kRoot, nullptr, &NeverDone()) {
    refs_.store(1u << 30, std::memory_order_relaxed);
  }
};

// WithoutCancelNode keeps its parent's values but none of its cancellation or
// deadline.
class WithoutCancelNode final : public Node {
 public:
  explicit WithoutCancelNode(Node* parent) noexcept
      : Node(NodeKind::kWithoutCancel, parent, &NeverDone()) {
    LiveCount::Add(Counted::kNodes, 1);
  }
  ~WithoutCancelNode() { LiveCount::Add(Counted::kNodes, -1); }
};

// g_todo: TODO's node, made on first use and never freed (handles may outlive
// static destruction). Not a function-local static: a child forked while
// another thread ran its first initialization would inherit the guard taken,
// and wait for it forever. Threads that make it at once race to publish it;
// the others free theirs.
constinit std::atomic<RootNode*> g_todo{nullptr};

RootNode* TodoNode() {
  RootNode* todo = g_todo.load(std::memory_order_acquire);
  if (todo != nullptr) [[likely]]
    return todo;
  auto made = std::make_unique<RootNode>();
  if (g_todo.compare_exchange_strong(todo, made.get(),
                                     std::memory_order_acq_rel))
    return made.release();
  return todo;  // another thread's, published first
}

Node* NewRef(const Context& c) noexcept {
  Node* n = ContextPeer::NodeOf(c);
  Ref(n);
  return n;
}

CancelNode* AsCancel(Node* n) noexcept { return static_cast<CancelNode*>(n); }

// Describe writes one node's own part of a description ("WithCancel",
// "WithValue(k, v)", ...).
void Describe(std::ostream& os, const Node* n) {
  switch (n->kind_) {
    case NodeKind::kRoot:
      os << "context.TODO";
      return;
    case NodeKind::kCancel:
      os << ".WithCancel";
      return;
    case NodeKind::kTimer: {
      const TimePoint d = static_cast<const TimerNode*>(n)->deadline();
      os << ".WithDeadline(";
      if (d == TimePoint::max()) {
        os << "never";
      } else {
        const std::time_t t =
            std::chrono::system_clock::to_time_t(ToSystemTime(d));
        std::tm tm{};
        gmtime_r(&t, &tm);
        // In 128 bits: d - now overflows for deadlines near TimePoint::min().
        const auto left_ms = static_cast<int64_t>(
            (NanosOf(d) - NanosOf(Clock::now())) / 1000000);
        os << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ") << " [" << left_ms
           << "ms]";
      }
      os << ")";
      return;
    }
    case NodeKind::kValue: {
      const auto* v = static_cast<const ValueNode*>(n);
      os << ".WithValue(" << v->key_->name() << ", ";
      v->key_->Print(os, v->value_);
      os << ")";
      return;
    }
    case NodeKind::kValues: {
      const auto* v = static_cast<const ValuesNode*>(n);
      for (uint32_t i = 0; i < v->count_; ++i) {
        os << ".WithValue(" << v->entries_[i].key->name() << ", ";
        v->entries_[i].key->Print(os, v->entries_[i].value);
        os << ")";
      }
      return;
    }
    case NodeKind::kWithoutCancel:
      os << ".WithoutCancel";
      return;
  }
}

}  // namespace

void DestroyNode(Node* n) noexcept {
  // Iterative: freeing a node releases its parent, which may be the parent's
  // last reference.
  while (n != nullptr) {
    Node* parent = n->parent_;
    switch (n->kind_) {
      case NodeKind::kRoot:
        return;  // never freed (its count never reaches zero)
      case NodeKind::kCancel:
      case NodeKind::kTimer:
        CancelNode::Destroy(AsCancel(n));
        break;
      case NodeKind::kValue: {
        auto* v = static_cast<ValueNode*>(n);
        v->destroy_(v);
        LiveCount::Add(Counted::kNodes, -1);
        break;
      }
      case NodeKind::kValues: {
        auto* v = static_cast<ValuesNode*>(n);
        v->destroy_(v);
        LiveCount::Add(Counted::kNodes, -1);
        break;
      }
      case NodeKind::kWithoutCancel:
        delete static_cast<WithoutCancelNode*>(n);
        break;
    }
    if (parent == nullptr || !DropRef(parent)) return;
    n = parent;
  }
}

const void* FindValue(const Node* n, const KeyBase* key) noexcept {
  for (; n != nullptr; n = n->parent_) {
    if (n->kind_ == NodeKind::kValue) {
      const auto* v = static_cast<const ValueNode*>(n);
      if (v->key_ == key) return v->value_;
    } else if (n->kind_ == NodeKind::kValues) {
      const auto* v = static_cast<const ValuesNode*>(n);
      for (uint32_t i = v->count_; i-- > 0;)
        if (v->entries_[i].key == key) return v->entries_[i].value;
    }
  }
  return nullptr;
}

static_assert(NodePool::ClassOf(kPooledValueNodeBytes) >= 0 &&
              NodePool::ClassOf(kPooledValueNodeBytes + 1) < 0);
void* AllocateValueNode(std::size_t size) { return NodePool::New(size); }

void FreeValueNode(void* p, std::size_t size) noexcept {
  NodePool::Delete(p, size);
}

Node* AdoptValueParent(const Context& parent) noexcept {
  LiveCount::Add(Counted::kNodes, 1);  // the value node about to be built;
                                       // DestroyNode (or Abandon) takes it back
  return NewRef(parent);
}

Node* AdoptValueParentFrom(Context& parent) noexcept {
  LiveCount::Add(Counted::kNodes, 1);  // as in AdoptValueParent
  return ContextPeer::Release(parent);
}

void AbandonValueParent(Node* parent) noexcept {
  LiveCount::Add(Counted::kNodes, -1);
  Unref(parent);
}

ContextAndCancel NewDeadline(const Context& parent, TimePoint deadline,
                             Error cause, TimePoint now) {
  if (std::optional<TimePoint> current = parent.Deadline();
      current && *current < deadline) {
    return WithCancel(parent);  // the parent's deadline is sooner: a timer here
                                // would never fire first
  }
  TimerNode* n = TimerNode::Create(ContextPeer::NodeOf(parent), deadline,
                                   std::move(cause), now);
  return {ContextPeer::Adopt(n), ContextPeer::AdoptCancel(n)};
}

StopFunc RegisterAfterFunc(const Context& c, Callback* cb) {
  const DoneSignal& done = c.Done();
  if (done.CanBeDone()) {
    cb->AddRef();  // the list's reference
    CancelNode::FromSignal(&done)->AddCallback(cb);
  }
  // Never done: nothing is registered; Stop() still claims it and returns true,
  // as in Go.
  return ContextPeer::MakeStop(cb);
}

}  // namespace internal

using internal::CancelNode;
using internal::Node;
using internal::NodeKind;

std::optional<TimePoint> Context::Deadline() const noexcept {
  for (const Node* n = node_.get(); n != nullptr; n = n->parent_) {
    switch (n->kind_) {
      case NodeKind::kTimer:
        return static_cast<const internal::TimerNode*>(n)->deadline();
      case NodeKind::kRoot:
      case NodeKind::kWithoutCancel:
        return std::nullopt;
      case NodeKind::kCancel:
      case NodeKind::kValue:
      case NodeKind::kValues:
        break;
    }
  }
  return std::nullopt;
}

std::string Context::ToString() const {
  std::vector<const Node*> path;
  for (const Node* n = node_.get(); n != nullptr; n = n->parent_)
    path.push_back(n);
  std::ostringstream os;
  if (path.empty() || path.back()->kind_ != NodeKind::kRoot)
    os << "context.Background";
  for (auto it = path.rbegin(); it != path.rend(); ++it)
    internal::Describe(os, *it);
  return os.str();
}

Context Background() noexcept { return Context(); }

Context TODO() noexcept {
  Node* n = internal::TodoNode();
  internal::Ref(n);
  return ContextPeer::Adopt(n);
}

void CancelFunc::operator()() const noexcept {
  if (node_)
    static_cast<CancelNode*>(node_.get())
        ->Cancel(true, Errc::kCanceled, nullptr);
}

void CancelCauseFunc::operator()(Error cause) const noexcept {
  if (node_)
    static_cast<CancelNode*>(node_.get())
        ->Cancel(true, Errc::kCanceled, &cause);
}

ContextAndCancel WithCancel(const Context& parent) {
  CancelNode* n = CancelNode::Create(ContextPeer::NodeOf(parent));
  return {ContextPeer::Adopt(n), ContextPeer::AdoptCancel(n)};
}

ContextAndCancelCause WithCancelCause(const Context& parent) {
  CancelNode* n = CancelNode::Create(ContextPeer::NodeOf(parent));
  return {ContextPeer::Adopt(n), ContextPeer::AdoptCancelCause(n)};
}

Error Cause(const Context& c) {
  const DoneSignal& done = c.Done();
  if (!done.CanBeDone()) return Error();
  return CancelNode::FromSignal(&done)->CauseOf();
}

ContextAndCancel WithDeadline(const Context& parent, TimePoint deadline) {
  return internal::NewDeadline(parent, deadline, Error(), Clock::now());
}

ContextAndCancel WithDeadlineCause(const Context& parent, TimePoint deadline,
                                   Error cause) {
  return internal::NewDeadline(parent, deadline, std::move(cause),
                               Clock::now());
}

Context WithoutCancel(const Context& parent) {
  return ContextPeer::Adopt(
      new internal::WithoutCancelNode(internal::NewRef(parent)));
}

bool StopFunc::Stop() const noexcept {
  if (!reg_ || !reg_->TryClaim(internal::Callback::kStopped)) return false;
  // Claiming the callback made its hold on the node ours to drop (a cancel
  // that detached the list and lost the claim leaves the hold to us), so the
  // node stays alive while we unlink.
  CancelNode* owner = reg_->owner_;
  if (owner == nullptr) return true;  // never linked: never-done context
  if (owner->RemoveCallback(reg_.get()))
    reg_->Release();  // the list's reference
  // else a cancel detached the list and releases its reference.
  internal::Unref(owner);  // the pending callback's hold on its node
  return true;
}

}  // namespace ctx
