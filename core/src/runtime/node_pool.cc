// SPDX-License-Identifier: Apache-2.0
#include "node_pool.h"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "ctx/internal/thread_annotations.h"
#include "mutex.h"
#include "page_memory.h"

namespace ctx::internal {
namespace {

constexpr size_t kFirstChunk = size_t{64} << 10;

}  // namespace

// NodePoolShared is the stack of batches every thread trades through, and the
// chunk blocks are carved from. Never destroyed: nodes may be freed during
// static destruction.
struct NodePoolShared {
  Mutex mu;
  NodePool::Block* batches[NodePool::kClasses] CTX_GUARDED_BY(mu) = {};
  size_t stacked[NodePool::kClasses] CTX_GUARDED_BY(mu) = {};  // blocks
  size_t carved[NodePool::kClasses] CTX_GUARDED_BY(mu) = {};
  char* cur CTX_GUARDED_BY(mu) = nullptr;  // the chunk being carved
  char* end CTX_GUARDED_BY(mu) = nullptr;
  size_t next_chunk CTX_GUARDED_BY(mu) = kFirstChunk;

  static NodePoolShared& Get() noexcept;

  // Push puts the list head (count blocks, linked through next) on the stack.
  void Push(int cls, NodePool::Block* head, uint32_t count)
      CTX_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    head->next_batch = batches[cls];
    head->batch_count = count;
    batches[cls] = head;
    stacked[cls] += count;
  }

  // Take returns a list of at most `max` blocks (at least one), from the stack
  // or newly carved, and its length in *count.
  NodePool::Block* Take(int cls, uint32_t max, uint32_t* count)
      CTX_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    NodePool::Block* batch = batches[cls];
    if (batch != nullptr) {
      batches[cls] = batch->next_batch;
      uint32_t n = batch->batch_count;
      if (n > max) {  // give back all but max (only a thread past its exit
        // asks for fewer than a batch)
        NodePool::Block* last = batch;
        for (uint32_t i = 1; i < max; ++i) last = last->next;
        NodePool::Block* rest = last->next;
        last->next = nullptr;
        stacked[cls] -= n;
        Push(cls, rest, n - max);
        n = max;
      } else {
        stacked[cls] -= n;
      }
      *count = n;
      return batch;
    }
    return Carve(cls, max, count);
  }

  // Carve cuts up to `max` new blocks from the current chunk, mapping the next
  // chunk when it is used up (the tail of the old one is dropped: less than a
  // block).
  NodePool::Block* Carve(int cls, uint32_t max, uint32_t* count)
      CTX_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const size_t size = NodePool::kBlockSizes[cls];
    if (static_cast<size_t>(end - cur) < size) {
      cur = MapPages(next_chunk);
      end = cur + next_chunk;
      next_chunk = std::min(next_chunk * 2, kHugePage);
    }
    const uint32_t n = static_cast<uint32_t>(
        std::min<size_t>(max, static_cast<size_t>(end - cur) / size));
    NodePool::Block* head = reinterpret_cast<NodePool::Block*>(cur);
    for (uint32_t i = 0; i < n; ++i) {
      NodePool::Block* b = reinterpret_cast<NodePool::Block*>(cur);
      cur += size;
      b->next = i + 1 < n ? reinterpret_cast<NodePool::Block*>(cur) : nullptr;
    }
    carved[cls] += n;
    *count = n;
    return head;
  }
};

namespace {

// The one NodePoolShared: constant-initialized and never destroyed (nodes may
// be freed during static destruction), so that no first use can be under way
// in another thread when fork() runs.
constinit NodePoolShared g_shared;
static_assert(std::is_trivially_destructible_v<NodePoolShared>);

// The fork handlers: g_shared.mu is held across fork(), so that a child never
// inherits it held by a thread it does not have. (The other threads' cached
// blocks are lost to the child, which only wastes their memory.)
void LockForFork() CTX_NO_THREAD_SAFETY_ANALYSIS { g_shared.mu.Lock(); }
void UnlockAfterFork() CTX_NO_THREAD_SAFETY_ANALYSIS { g_shared.mu.Unlock(); }
[[maybe_unused]] const int g_fork_handlers =
    pthread_atfork(&LockForFork, &UnlockAfterFork, &UnlockAfterFork);

}  // namespace

NodePoolShared& NodePoolShared::Get() noexcept { return g_shared; }

constinit thread_local NodePool::ThreadCache NodePool::cache_{};

// ExitFlush returns a thread's cached blocks to the shared stack when the
// thread exits, and sends its later allocations and frees (from destructors
// of other thread_local objects) straight to the stack.
struct NodePool::ExitFlush {
  ~ExitFlush() {
    ThreadCache& c = cache_;
    NodePoolShared& shared = NodePoolShared::Get();
    MutexLock lock(shared.mu);
    for (int cls = 0; cls < kClasses; ++cls) {
      if (c.head[cls] != nullptr) shared.Push(cls, c.head[cls], c.count[cls]);
      if (c.spare[cls] != nullptr) shared.Push(cls, c.spare[cls], kBatch);
      c.head[cls] = nullptr;
      c.count[cls] = 0;
      c.spare[cls] = nullptr;
    }
    c.registered = false;
    c.exited = true;
  }
};

void NodePool::Register(ThreadCache& c) noexcept {
  // Constructing a thread_local with a destructor schedules that destructor
  // for this thread's exit.
  thread_local ExitFlush flush;
  (void)flush;
  c.registered = true;
}

void* NodePool::AllocateSlow(int cls) {
  ThreadCache& c = cache_;
  NodePoolShared& shared = NodePoolShared::Get();
  uint32_t n = 0;
  if (c.exited) {
    MutexLock lock(shared.mu);
    return shared.Take(cls, 1, &n);
  }
  if (!c.registered) Register(c);
  if (c.spare[cls] != nullptr) {
    c.head[cls] = c.spare[cls];
    c.count[cls] = kBatch;
    c.spare[cls] = nullptr;
  } else {
    MutexLock lock(shared.mu);
    c.head[cls] = shared.Take(cls, kBatch, &n);
    c.count[cls] = n;
  }
  return Allocate(cls);
}

void NodePool::FreeSlow(int cls, void* p) noexcept {
  ThreadCache& c = cache_;
  Block* b = static_cast<Block*>(p);
  if (c.exited) {
    b->next = nullptr;
    NodePoolShared& shared = NodePoolShared::Get();
    MutexLock lock(shared.mu);
    shared.Push(cls, b, 1);
    return;
  }
  if (!c.registered) Register(c);
  if (c.count[cls] == kBatch) {
    // head is a full batch: it becomes the spare, and the old spare (if any)
    // goes to the shared stack.
    if (c.spare[cls] != nullptr) {
      NodePoolShared& shared = NodePoolShared::Get();
      MutexLock lock(shared.mu);
      shared.Push(cls, c.spare[cls], kBatch);
    }
    c.spare[cls] = c.head[cls];
    c.head[cls] = nullptr;
    c.count[cls] = 0;
  }
  Free(cls, p);
}

uint32_t NodePool::ThreadCachedForTest(int cls) noexcept {
  const ThreadCache& c = cache_;
  return c.count[cls] + (c.spare[cls] != nullptr ? kBatch : 0);
}

size_t NodePool::SharedForTest(int cls) {
  NodePoolShared& shared = NodePoolShared::Get();
  MutexLock lock(shared.mu);
  return shared.stacked[cls];
}

size_t NodePool::CarvedForTest(int cls) {
  NodePoolShared& shared = NodePoolShared::Get();
  MutexLock lock(shared.mu);
  return shared.carved[cls];
}

}  // namespace ctx::internal
