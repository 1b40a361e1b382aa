// SPDX-License-Identifier: Apache-2.0
// bench/core/alloc_hook.h: counts heap allocations made by the calling thread,
// so benchmarks can report allocs/op and B/op the way `go test -benchmem` does.
//
// The bench binary replaces the global operator new/delete (alloc_hook.cc);
// every C++ allocation in ctx goes through them. Counters are thread-local
// plain integers, so counting costs about a nanosecond and never contends
// between benchmark threads; a benchmark reads its own thread's counters
// before and after its loop.
//
//   const bench::AllocCounts before = bench::ThreadAllocs();
//   for (auto _ : state) { ... }
//   bench::ReportAllocs(state, before);   // adds "allocs/op" and "B/op"

#ifndef CTX_BENCH_CORE_ALLOC_HOOK_H_
#define CTX_BENCH_CORE_ALLOC_HOOK_H_

#include <benchmark/benchmark.h>

#include <cstdint>

namespace bench {

// AllocCounts is a snapshot of one thread's allocation counters.
struct AllocCounts {
  uint64_t allocs = 0;       // calls to operator new
  uint64_t bytes = 0;        // malloc_usable_size of each allocation
  uint64_t frees = 0;        // calls to operator delete
  uint64_t bytes_freed = 0;  // malloc_usable_size of each freed block
  // Of the above: blocks served and returned by ctx's node pool (cancel and
  // timer nodes), which has no per-block header.
  uint64_t pool_allocs = 0;
  uint64_t pool_frees = 0;
};

// ThreadAllocs returns the calling thread's counters since it started: its
// operator new and delete calls plus its node pool blocks.
AllocCounts ThreadAllocs() noexcept;

// ReportAllocs adds "allocs/op" and "B/op" counters for the allocations this
// thread made since `before`, averaged over the iterations of every thread of
// the benchmark (Google Benchmark sums the threads' counters).
void ReportAllocs(benchmark::State& state, const AllocCounts& before);

// kChunkOverhead is what glibc malloc adds to each block beyond its usable
// size (the size field of the chunk header); a block's real footprint is
// usable size + kChunkOverhead.
inline constexpr uint64_t kChunkOverhead = 8;

// HeapFootprint returns the bytes held by the live blocks counted in c:
// malloc's with their chunk headers, the pool's as they are.
inline double HeapFootprint(const AllocCounts& c) {
  const uint64_t malloc_live =
      (c.allocs - c.pool_allocs) - (c.frees - c.pool_frees);
  return static_cast<double>(c.bytes - c.bytes_freed) +
         static_cast<double>(malloc_live * kChunkOverhead);
}

}  // namespace bench

#endif  // CTX_BENCH_CORE_ALLOC_HOOK_H_
