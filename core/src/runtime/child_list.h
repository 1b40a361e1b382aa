// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/child_list.h: a parent's list of registered children, with
// three operations (link, unlink, drain all). Internal.
//
// The list is intrusive: each child carries a ChildLink<T>, and lends the list
// one byte (ChildListTraits<T>::Byte) in which the list records whether and
// where the child is linked. The parent carries a ChildList<T> and a Mutex of
// its own, which guards the list as long as it is not split. A parent whose
// lock is found contended while a child links or unlinks splits the list: later
// children go to one list per CPU, each with its own lock and cache line, so
// threads on different CPUs that create and cancel children of one shared
// parent stop passing its lock and their siblings' links between them. The
// split is invisible to the caller.
//
// T provides, through a specialization of ChildListTraits<T>:
// clang-format off
//   static ChildLink<T>& Link(T* c);          // c's links
//   static std::atomic<uint8_t>& Byte(T* c);  // a byte the list owns, 0 at first
// clang-format on

#ifndef CTX_SRC_RUNTIME_CHILD_LIST_H_
#define CTX_SRC_RUNTIME_CHILD_LIST_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "cpu_shard.h"
#include "ctx/internal/thread_annotations.h"
#include "mutex.h"

namespace ctx::internal {

template <class T>
struct ChildListTraits;
template <class T>
class ChildList;

// ChildLink is the part of a child its parent's list owns.
template <class T>
class ChildLink {
 private:
  friend class ChildList<T>;
  // next: the next child (a T*) in the same list, under that list's lock; once
  // drained, the drainer's (see ChildList::Chain). pprev: the word that points
  // at us, null when not in a list.
  std::atomic<uintptr_t> next_{0};
  std::atomic<uintptr_t>* pprev_ = nullptr;
};

template <class T>
class ChildList {
  using Traits = ChildListTraits<T>;

 public:
  ChildList() noexcept = default;
  ChildList(const ChildList&) = delete;
  ChildList& operator=(const ChildList&) = delete;
  ~ChildList() {
    const uintptr_t w = word_.load(std::memory_order_relaxed);
    if (w & kSplit) delete[] ShardsOf(w);
  }

  // Chain is a stack of children drained from lists, linked through the links
  // the lists no longer use. Not thread-safe: one drainer owns it.
  class Chain {
   public:
    void Push(T* c) noexcept {
      Traits::Link(c).next_.store(reinterpret_cast<uintptr_t>(head_),
                                  std::memory_order_relaxed);
      head_ = c;
    }
    bool Empty() const noexcept { return head_ == nullptr; }
    T* Pop() noexcept {
      T* c = head_;
      if (c != nullptr)
        head_ = reinterpret_cast<T*>(
            Traits::Link(c).next_.load(std::memory_order_relaxed));
      return c;
    }

   private:
    T* head_ = nullptr;
  };

  // Link links c, a child nobody else sees yet, unless admit() returns false.
  // admit runs under the lock of the list c would join, so a DrainAll that
  // comes later finds c, and one that came earlier has made admit() false.
  // owner_mu is the parent's lock. Thread-safe.
  template <class Admit>
  bool Link(Mutex& owner_mu, T* c, Admit admit) CTX_LOCKS_EXCLUDED(owner_mu) {
    const uintptr_t w = word_.load(std::memory_order_acquire);
    if (w & kSplit) {
      const size_t i = 1 + CurrentCpuShard(ShardCount());
      Shard& s = ShardsOf(w)[i];
      MutexLock lock(s.mu);
      if (!admit()) return false;
      Push(&s.head, c, i);
      return true;
    }
    bool contended;
    MutexLock lock(owner_mu, &contended);
    if (!admit()) return false;
    Push(OwnerHeadLocked(), c, 0);
    if (contended) SplitLocked();  // for the children that come next
    return true;
  }

  // Listed reports whether c may still be in its parent's list: linked, and
  // not yet taken out by Unlink. (A DrainAll does not count: after one, c's
  // Unlink still takes the lock, to wait until the drainer is done with c.)
  static bool Listed(T* c) noexcept {
    // Relaxed: kLinked was written before c was shared; kUnlinked by c's own
    // Unlink, after which the parent never touches c again.
    return (Traits::Byte(c).load(std::memory_order_relaxed) &
            (kLinked | kUnlinked)) == kLinked;
  }

  // Unlink takes c, which Listed, out of this list (the one Link put it in),
  // unless a DrainAll already did. owner_mu is the parent's lock. Called once
  // per child, by the child's own side.
  void Unlink(Mutex& owner_mu, T* c) CTX_LOCKS_EXCLUDED(owner_mu) {
    const uint8_t b = Traits::Byte(c).load(std::memory_order_relaxed);
    const size_t list = b >> kListShift;
    if (list != 0) {
      Shard& s = ShardsOf(word_.load(std::memory_order_acquire))[list];
      MutexLock lock(s.mu);
      UnlinkLocked(c, b);
      return;
    }
    bool contended;
    MutexLock lock(owner_mu, &contended);
    UnlinkLocked(c, b);
    if (contended) SplitLocked();  // for the children that come next
  }

  // DrainAll empties every list and calls f(c) on each child that was in one,
  // with c out of its list (f may Push it onto a Chain). Children linking after
  // the owner's lock and this list's are released run admit() after f's
  // caller made it false. f runs under a list's lock: it may not lock another
  // node.
  template <class F>
  void DrainAll([[maybe_unused]] Mutex& owner_mu, F f)
      CTX_EXCLUSIVE_LOCKS_REQUIRED(owner_mu) {
    DrainOne(OwnerHeadLocked(), f);
    const uintptr_t w = word_.load(std::memory_order_relaxed);
    if (!(w & kSplit)) return;
    Shard* shards = ShardsOf(w);
    for (size_t i = 1, n = ShardCount(); i <= n; ++i) {
      MutexLock lock(shards[i].mu);  // NOTE: a shard's lock inside owner_mu
      DrainOne(&shards[i].head, f);
    }
  }

  // Test hooks: the number of children linked; split now, as contention
  // would (not on a one-CPU machine); whether the list is split.
  size_t CountForTest([[maybe_unused]] Mutex& owner_mu)
      CTX_EXCLUSIVE_LOCKS_REQUIRED(owner_mu) {
    size_t n = 0;
    const auto count = [&n](std::atomic<uintptr_t>* head) {
      for (uintptr_t c = head->load(std::memory_order_relaxed); c != 0;
           c = Traits::Link(reinterpret_cast<T*>(c))
                   .next_.load(std::memory_order_relaxed))
        ++n;
    };
    count(OwnerHeadLocked());
    const uintptr_t w = word_.load(std::memory_order_relaxed);
    if (w & kSplit) {
      for (size_t i = 1; i <= ShardCount(); ++i) {
        MutexLock lock(ShardsOf(w)[i].mu);
        count(&ShardsOf(w)[i].head);
      }
    }
    return n;
  }
  void SplitForTest([[maybe_unused]] Mutex& owner_mu)
      CTX_EXCLUSIVE_LOCKS_REQUIRED(owner_mu) {
    SplitLocked();
  }
  bool SplitForTest() const noexcept {
    return word_.load(std::memory_order_acquire) & kSplit;
  }

 private:
  // Shard is one list of a split parent, alone on its cache line. Shard 0 is
  // the list under the owner's lock (its mu is unused), shards 1..n one per
  // CPU.
  struct alignas(64) Shard {
    Mutex mu;
    std::atomic<uintptr_t> head{0};
  };
  // The child's byte: kLinked (Link put it in a list), kUnlinked (its Unlink
  // ran), and from kListShift up the list: 0 the owner's, i the shard i.
  static constexpr uint8_t kLinked = 1;
  static constexpr uint8_t kUnlinked = 2;
  static constexpr int kListShift = 2;
  static constexpr size_t kMaxShards = (256 >> kListShift) - 1;
  // word_: the head of the owner's list (a T*, under the owner's lock), or,
  // once split, the shards' address with kSplit set (set under the owner's
  // lock, release; read without it, acquire; constant from then on).
  static constexpr uintptr_t kSplit = 1;

  // ShardCount: per-CPU lists of a split parent; a one-CPU process never
  // splits.
  static size_t ShardCount() noexcept {
    return std::min(CpuCount(), kMaxShards);
  }
  static Shard* ShardsOf(uintptr_t w) noexcept {
    return reinterpret_cast<Shard*>(w & ~kSplit);
  }
  std::atomic<uintptr_t>* OwnerHeadLocked() noexcept {
    const uintptr_t w = word_.load(std::memory_order_relaxed);
    return (w & kSplit) ? &ShardsOf(w)[0].head : &word_;
  }

  // SplitLocked (owner's lock held) creates the per-CPU lists unless they
  // exist or this is a one-CPU process. Children in the owner's list stay there
  // (it moves into shard 0). Splitting only spreads the lock: out of memory,
  // the list stays whole and a later contended Link or Unlink tries again.
  void SplitLocked() noexcept {
    const uintptr_t w = word_.load(std::memory_order_relaxed);
    if ((w & kSplit) || ShardCount() < 2) return;
    Shard* shards = new (std::nothrow) Shard[1 + ShardCount()];
    if (shards == nullptr) return;
    shards[0].head.store(w, std::memory_order_relaxed);
    if (w != 0) Traits::Link(reinterpret_cast<T*>(w)).pprev_ = &shards[0].head;
    // Release: a child that finds the shards without the owner's lock sees
    // them built.
    word_.store(reinterpret_cast<uintptr_t>(shards) | kSplit,
                std::memory_order_release);
  }

  // Push links c, not yet shared, at the front of `head`, list number `list`;
  // the caller holds that list's lock. Front: O(1), and the order of children
  // is not observable.
  static void Push(std::atomic<uintptr_t>* head, T* c, size_t list) noexcept {
    ChildLink<T>& l = Traits::Link(c);
    const uintptr_t first = head->load(std::memory_order_relaxed);
    l.next_.store(first, std::memory_order_relaxed);
    if (first != 0) Traits::Link(reinterpret_cast<T*>(first)).pprev_ = &l.next_;
    l.pprev_ = head;
    head->store(reinterpret_cast<uintptr_t>(c), std::memory_order_relaxed);
    // Relaxed: c is not yet shared; whoever gets it later does so through a
    // synchronizing handoff.
    Traits::Byte(c).store(static_cast<uint8_t>(kLinked | (list << kListShift)),
                          std::memory_order_relaxed);
  }

  static void UnlinkLocked(T* c, uint8_t b) noexcept {
    ChildLink<T>& l = Traits::Link(c);
    if (l.pprev_ != nullptr) {  // else a DrainAll took it out
      const uintptr_t next = l.next_.load(std::memory_order_relaxed);
      l.pprev_->store(next, std::memory_order_relaxed);
      if (next != 0) Traits::Link(reinterpret_cast<T*>(next)).pprev_ = l.pprev_;
      l.pprev_ = nullptr;
      l.next_.store(0, std::memory_order_relaxed);
    }
    Traits::Byte(c).store(b | kUnlinked, std::memory_order_relaxed);
  }

  template <class F>
  static void DrainOne(std::atomic<uintptr_t>* head, F& f) {
    uintptr_t c = head->load(std::memory_order_relaxed);
    head->store(0, std::memory_order_relaxed);
    while (c != 0) {
      T* child = reinterpret_cast<T*>(c);
      ChildLink<T>& l = Traits::Link(child);
      c = l.next_.load(std::memory_order_relaxed);
      l.pprev_ = nullptr;
      f(child);
    }
  }

  std::atomic<uintptr_t> word_{0};
};

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_CHILD_LIST_H_
