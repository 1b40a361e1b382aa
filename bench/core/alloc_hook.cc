// SPDX-License-Identifier: Apache-2.0
// The bench binary's global operator new/delete: malloc/free plus thread-local
// counters (see alloc_hook.h). Sized and aligned forms all land here.

#include "alloc_hook.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "node_pool.h"

namespace bench {
namespace {

// Constant-initialized and thread-local in the executable: the local-exec TLS
// model makes each access one %fs-relative instruction.
thread_local AllocCounts tls_counts;

void* Counted(void* p) noexcept {
  if (p != nullptr) {
    ++tls_counts.allocs;
    tls_counts.bytes += malloc_usable_size(p);
  }
  return p;
}

void* Allocate(std::size_t size) {
  void* p = Counted(std::malloc(size == 0 ? 1 : size));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* AllocateAligned(std::size_t size, std::align_val_t align) {
  const auto a = static_cast<std::size_t>(align);
  // aligned_alloc wants a size that is a multiple of the alignment.
  const std::size_t rounded = (size + a - 1) / a * a;
  void* p = Counted(std::aligned_alloc(a, rounded == 0 ? a : rounded));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void Free(void* p) noexcept {
  if (p == nullptr) return;
  ++tls_counts.frees;
  tls_counts.bytes_freed += malloc_usable_size(p);
  std::free(p);
}

}  // namespace

AllocCounts ThreadAllocs() noexcept {
  AllocCounts c = tls_counts;
  using ctx::internal::NodePool;
  for (int cls = 0; cls < NodePool::kClasses; ++cls) {
    uint64_t served = 0, returned = 0;
    NodePool::ThreadStats(cls, &served, &returned);
    c.pool_allocs += served;
    c.pool_frees += returned;
    c.bytes += served * NodePool::kBlockSizes[cls];
    c.bytes_freed += returned * NodePool::kBlockSizes[cls];
  }
  c.allocs += c.pool_allocs;
  c.frees += c.pool_frees;
  return c;
}

void ReportAllocs(benchmark::State& state, const AllocCounts& before) {
  const AllocCounts after = ThreadAllocs();
  state.counters["allocs/op"] =
      benchmark::Counter(static_cast<double>(after.allocs - before.allocs),
                         benchmark::Counter::kAvgIterations);
  state.counters["B/op"] =
      benchmark::Counter(static_cast<double>(after.bytes - before.bytes),
                         benchmark::Counter::kAvgIterations);
}

}  // namespace bench

void* operator new(std::size_t size) { return bench::Allocate(size); }
void* operator new[](std::size_t size) { return bench::Allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return bench::Counted(std::malloc(size == 0 ? 1 : size));
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return bench::Counted(std::malloc(size == 0 ? 1 : size));
}
void* operator new(std::size_t size, std::align_val_t align) {
  return bench::AllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return bench::AllocateAligned(size, align);
}
void operator delete(void* p) noexcept { bench::Free(p); }
void operator delete[](void* p) noexcept { bench::Free(p); }
void operator delete(void* p, std::size_t) noexcept { bench::Free(p); }
void operator delete[](void* p, std::size_t) noexcept { bench::Free(p); }
void operator delete(void* p, std::align_val_t) noexcept { bench::Free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { bench::Free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  bench::Free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  bench::Free(p);
}
