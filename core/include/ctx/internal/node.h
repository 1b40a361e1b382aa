// SPDX-License-Identifier: Apache-2.0
// ctx/internal/node.h: the part of a context node that inline code needs. Not
// API: everything here may change without notice. The cancel and timer nodes
// live in core/src/.

#ifndef CTX_INTERNAL_NODE_H_
#define CTX_INTERNAL_NODE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <tuple>
#include <utility>

#include "ctx/done_signal.h"
#include "ctx/export.h"
#include "ctx/key.h"

namespace ctx::internal {

enum class NodeKind : uint8_t {
  kRoot,    // TODO (Background is the null node); never destroyed
  kCancel,  // WithCancel / WithCancelCause: a CancelNode
  kTimer,   // WithDeadline / WithTimeout: a TimerNode (a CancelNode with a
            // deadline)
  kValue,   // WithValue: a ValueNode
  kWithoutCancel,  // WithoutCancel: values only
  kValues,         // WithValues: a ValuesNode (several values in one node)
};

// Node is the shared part of every context node. Nodes are immutable in shape
// once built: parent_, done_ and kind_ never change. Only the reference count
// and a cancel node's own state do.
class Node {
 public:
  // refs_: handles (Context, cancel functions) plus one per child node. Roots
  // start near 2^30 and are never destroyed. Increments are relaxed (a new
  // reference is made from an existing one); the final decrement is acq_rel so
  // the destroying thread sees every write made through other references.
  std::atomic<uint32_t> refs_{1};
  const NodeKind kind_;
  // kind_bits_: a byte that the node's kind may use (a cancel node lends it to
  // its parent's children list); it sits in what would be padding. Node never
  // reads it.
  std::atomic<uint8_t> kind_bits_{0};
  // parent_: strong reference (one count of the parent's refs_), null for
  // roots.
  Node* const parent_;
  // done_: the done signal of the nearest cancelable node (this one for cancel
  // and timer nodes), or NeverDone() when no ancestor up to the root or a
  // WithoutCancel can be canceled.
  const DoneSignal* const done_;

 protected:
  Node(NodeKind kind, Node* parent, const DoneSignal* done) noexcept
      : kind_(kind), parent_(parent), done_(done) {}
  ~Node() = default;
};

// AllocateValueNode and FreeValueNode are the memory of value nodes: the node
// pool's blocks for the sizes it serves (up to kPooledValueNodeBytes, as for
// cancel and timer nodes), else operator new's. FreeValueNode takes the size
// AllocateValueNode was given.
inline constexpr std::size_t kPooledValueNodeBytes = 512;
CTX_EXPORT void* AllocateValueNode(std::size_t size);
CTX_EXPORT void FreeValueNode(void* p, std::size_t size) noexcept;

// ValueNodeMemory gives a value node class that memory (over-aligned nodes
// take operator new's aligned form instead).
struct ValueNodeMemory {
  static void* operator new(std::size_t size) {
    return AllocateValueNode(size);
  }
  static void operator delete(void* p, std::size_t size) noexcept {
    FreeValueNode(p, size);
  }
  static void* operator new(std::size_t size, std::align_val_t align) {
    return ::operator new(size, align);
  }
  static void operator delete(void* p, std::align_val_t align) noexcept {
    ::operator delete(p, align);
  }
};

// ValueNode holds one key and a pointer to its value, which lives in the same
// allocation (ValueNodeOf<T>). destroy_ deletes the concrete node.
class ValueNode : public Node, public ValueNodeMemory {
 public:
  const KeyBase* const key_;
  const void* value_ = nullptr;
  void (*const destroy_)(ValueNode*) noexcept;

 protected:
  ValueNode(Node* parent, const KeyBase* key,
            void (*destroy)(ValueNode*) noexcept) noexcept
      : Node(NodeKind::kValue, parent, parent ? parent->done_ : &NeverDone()),
        key_(key),
        destroy_(destroy) {}
  ~ValueNode() = default;
};

template <class T>
class ValueNodeOf final : public ValueNode {
 public:
  template <class U>
  ValueNodeOf(Node* parent, const KeyBase* key, U&& value)
      : ValueNode(parent, key, &Destroy),
        value_storage_(std::forward<U>(value)) {
    value_ = &value_storage_;
  }

 private:
  static void Destroy(ValueNode* n) noexcept {
    delete static_cast<ValueNodeOf*>(n);
  }
  T value_storage_;
};

// ValuesNode holds several keys and pointers to their values, which live in
// the same allocation (ValuesNodeOf), so that a bridge attaches a call's
// values with one allocation instead of one per value. Of two entries with the
// same key, the later one is found, as with nested WithValue calls.
class ValuesNode : public Node, public ValueNodeMemory {
 public:
  struct Entry {
    const KeyBase* key;
    const void* value;
  };
  // entries_, count_: the present entries, in order; set by the derived
  // constructor, then constant (read without synchronization).
  const Entry* entries_ = nullptr;
  uint32_t count_ = 0;
  void (*const destroy_)(ValuesNode*) noexcept;

 protected:
  ValuesNode(Node* parent, void (*destroy)(ValuesNode*) noexcept) noexcept
      : Node(NodeKind::kValues, parent, parent ? parent->done_ : &NeverDone()),
        destroy_(destroy) {}
  ~ValuesNode() = default;
};

// OptionalValue is one entry for WithValues: a key and a value that may be
// absent (then the node leaves the key to its ancestors).
template <class T>
struct OptionalValue {
  const Key<T>* key;
  std::optional<T> value;
};

template <class... Ts>
class ValuesNodeOf final : public ValuesNode {
  static_assert(sizeof...(Ts) > 0, "WithValues needs at least one entry");

 public:
  ValuesNodeOf(Node* parent, OptionalValue<Ts>&&... entries)
      : ValuesNode(parent, &Destroy), values_(std::move(entries.value)...) {
    Fill(std::index_sequence_for<Ts...>(), entries.key...);
    entries_ = table_;
  }

 private:
  template <std::size_t... I>
  void Fill(std::index_sequence<I...>, const Key<Ts>*... keys) noexcept {
    (Add(keys, std::get<I>(values_)), ...);
  }
  template <class T>
  void Add(const Key<T>* key, const std::optional<T>& value) noexcept {
    if (value) table_[count_++] = Entry{key, &*value};
  }
  static void Destroy(ValuesNode* n) noexcept {
    delete static_cast<ValuesNodeOf*>(n);
  }
  std::tuple<std::optional<Ts>...> values_;
  Entry table_[sizeof...(Ts)];
};

// Ref takes a reference to a node (null is Background and needs none).
inline void Ref(Node* n) noexcept {
  if (n) n->refs_.fetch_add(1, std::memory_order_relaxed);
}

// DropRef drops one reference to n and returns true when it was the last (the
// caller then destroys n). acq_rel: the destroying thread sees every write made
// through the references dropped before.
inline bool DropRef(Node* n) noexcept {
  return n->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1;
}
// DestroyNode frees a node whose count reached zero, then releases its parent,
// iteratively so a million-deep chain cannot overflow the stack.
CTX_EXPORT void DestroyNode(Node* n) noexcept;
// Unref drops a reference, destroying the node (and unregistering it from its
// parent) on the last one.
inline void Unref(Node* n) noexcept {
  if (n && DropRef(n)) DestroyNode(n);
}

// FindValue walks from n towards the root and returns the value stored under
// key by the nearest value node, or null.
CTX_EXPORT const void* FindValue(const Node* n, const KeyBase* key) noexcept;

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_NODE_H_
