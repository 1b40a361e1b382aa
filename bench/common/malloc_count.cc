// SPDX-License-Identifier: Apache-2.0
// Counting replacements of the C allocator's entry points. See malloc_count.h.

#include "malloc_count.h"

#include <errno.h>

#include <atomic>
#include <cstddef>

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);
}

namespace {

// Relaxed: a count, read between rounds; contention costs every variant alike.
std::atomic<uint64_t> g_mallocs{0};

void Count() noexcept { g_mallocs.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

namespace bench {

uint64_t Mallocs() noexcept {
  return g_mallocs.load(std::memory_order_relaxed);
}

}  // namespace bench

extern "C" {

void* malloc(size_t size) noexcept {
  Count();
  return __libc_malloc(size);
}

void* calloc(size_t n, size_t size) noexcept {
  Count();
  return __libc_calloc(n, size);
}

void* realloc(void* p, size_t size) noexcept {
  Count();
  return __libc_realloc(p, size);
}

void free(void* p) noexcept { __libc_free(p); }

void* memalign(size_t alignment, size_t size) noexcept {
  Count();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  Count();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0)
    return EINVAL;
  Count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"
