// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/node_pool.h: fixed-size blocks for context nodes (cancel,
// timer and value nodes) and cancel nodes' Extras (causes, fd, stop_source).
// Internal.
//
// Every WithCancel, WithTimeout, WithDeadline and WithValue allocates one node
// and frees it when the last handle goes; a cancel node that needs Extras (a
// cause, an fd, a stop_source) takes one more block. The pool serves those
// blocks without malloc: each thread keeps a free list per block size (popping
// and pushing are a few plain loads and stores), and threads trade full batches
// of 64 blocks through one shared stack under a lock, once per 64 allocations
// at most. New blocks are carved from chunks the pool maps itself; chunks of 2
// MiB ask the kernel for transparent huge pages (madvise), so a million live
// nodes take about 50 page faults instead of malloc's 25,000.
//
// Figures: BENCHMARKS.md, Core, the optimization table.
//
// Thread-safety: Allocate and Free may be called from any thread; a block may
// be freed on another thread than the one that allocated it.
// Lifetime: memory that held nodes is kept for later nodes, never returned to
// the system (peak live nodes and Extras x their block sizes). A thread's
// cached blocks go back to the shared stack when it exits.
//
// Under AddressSanitizer the nodes come from malloc instead (kNodePoolEnabled),
// so that a use after free of a node is still reported; the pool itself is
// still built and tested there.

#ifndef CTX_SRC_RUNTIME_NODE_POOL_H_
#define CTX_SRC_RUNTIME_NODE_POOL_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "sanitizers.h"

namespace ctx::internal {

inline constexpr bool kNodePoolEnabled = !kAddressSanitizer;

class NodePool {
 public:
  // The block sizes served, multiples of 16 like malloc's chunks, so a block
  // is as aligned as operator new's memory: a CancelNode (72 bytes) or its
  // Extras, and a TimerNode (96), as cancel_node.cc asserts; value nodes
  // (ValueNode, ValuesNode in ctx/internal/node.h) of up to 512 bytes, such as
  // a gRPC call's values node. Larger value nodes come from operator new.
  static constexpr size_t kBlockSizes[] = {80, 96, 128, 192, 256, 384, 512};
  static constexpr int kClasses = 7;
  // Blocks a thread hands to, or takes from, the shared stack at once.
  static constexpr uint32_t kBatch = 64;

  // ClassOf returns the size class serving `size` bytes, or -1 when none does.
  static constexpr int ClassOf(size_t size) noexcept {
    for (int i = 0; i < kClasses; ++i)
      if (size <= kBlockSizes[i]) return i;
    return -1;
  }

  // Allocate returns a block of kBlockSizes[cls] bytes (aligned to 8). Throws
  // std::bad_alloc when the system has no memory left.
  static void* Allocate(int cls) {
    ThreadCache& c = cache_;
    Block* b = c.head[cls];
    if (b == nullptr) return AllocateSlow(cls);
    c.head[cls] = b->next;
    --c.count[cls];
    ++c.served[cls];
    return b;
  }

  // Free returns a block that Allocate(cls) handed out.
  static void Free(int cls, void* p) noexcept {
    ThreadCache& c = cache_;
    if (!c.registered || c.count[cls] == kBatch) return FreeSlow(cls, p);
    Block* b = static_cast<Block*>(p);
    b->next = c.head[cls];
    c.head[cls] = b;
    ++c.count[cls];
    ++c.returned[cls];
  }

  // New and Delete are what a class's operator new and delete call: the pool
  // for sizes it serves (unless kNodePoolEnabled is false), else the global
  // operator new.
  static void* New(size_t size) {
    const int cls = ClassOf(size);
    if (kNodePoolEnabled && cls >= 0) return Allocate(cls);
    return ::operator new(size);
  }
  static void Delete(void* p, size_t size) noexcept {
    const int cls = ClassOf(size);
    if (kNodePoolEnabled && cls >= 0) return Free(cls, p);
    ::operator delete(p);
  }

  // ThreadStats reports how many blocks of a class this thread was served and
  // returned (the benchmarks count them as allocations).
  static void ThreadStats(int cls, uint64_t* served,
                          uint64_t* returned) noexcept {
    *served = cache_.served[cls];
    *returned = cache_.returned[cls];
  }

  // Test hooks: the blocks kept in this thread's cache for a class, in the
  // shared stack, and carved from chunks so far (every block ever made).
  static uint32_t ThreadCachedForTest(int cls) noexcept;
  static size_t SharedForTest(int cls);
  static size_t CarvedForTest(int cls);

 private:
  // A free block: linked through its first word. The first block of a batch
  // in the shared stack also links the next batch and holds its length.
  struct Block {
    Block* next;
    Block* next_batch;
    uint32_t batch_count;
  };
  // ThreadCache is this thread's free lists: head (count blocks, at most
  // kBatch) and one full spare batch, so that a thread that allocates and frees
  // around a batch boundary does not go to the shared stack each time.
  // Trivially destructible, so that it stays usable while the thread's other
  // thread_local objects are destroyed; ExitFlush empties it.
  struct ThreadCache {
    Block* head[kClasses];
    uint32_t count[kClasses];
    Block* spare[kClasses];     // a batch of exactly kBatch blocks, or null
    uint64_t served[kClasses];  // ThreadStats (plain: this thread only)
    uint64_t returned[kClasses];
    bool registered;  // ExitFlush will run at thread exit
    bool exited;      // ExitFlush ran: use the shared stack directly
  };
  struct ExitFlush;
  friend struct NodePoolShared;

  static void* AllocateSlow(int cls);
  static void FreeSlow(int cls, void* p) noexcept;
  static void Register(ThreadCache& c) noexcept;

  static thread_local constinit ThreadCache cache_;
};

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_NODE_POOL_H_
