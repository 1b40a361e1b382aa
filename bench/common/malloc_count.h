// SPDX-License-Identifier: Apache-2.0
// bench/common/malloc_count.h: how many heap allocations this process has made.
//
// malloc_count.cc replaces the C allocator's entry points (malloc, calloc,
// realloc, the aligned forms) in the executable that links it, so every
// allocation counts, whoever makes it: gRPC core (gpr_malloc), protobuf,
// libstdc++'s operator new, httplib, the bridges. glibc only: the replacements
// forward to glibc's __libc_* functions.
#ifndef CTX_BENCH_COMMON_MALLOC_COUNT_H_
#define CTX_BENCH_COMMON_MALLOC_COUNT_H_

#include <cstdint>

namespace bench {

// Mallocs returns how many allocations (malloc, calloc, realloc of a null
// pointer or to a new size, memalign and friends) the process has made so far.
// Thread-safe.
uint64_t Mallocs() noexcept;

}  // namespace bench

#endif  // CTX_BENCH_COMMON_MALLOC_COUNT_H_
