// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/page_memory.h: memory mapped straight from the kernel, for
// the node pool's chunks and the timer heaps' arrays. Internal.
//
// Regions of 2 MiB or more are aligned to 2 MiB and marked for transparent
// huge pages (madvise; a hint: where THP is off they fault in 4 KiB at a
// time). A million live timeouts then fault in about 60 huge pages instead of
// 30,000 small ones, each small fault costing about 5 us on the VMs this
// project runs on (BENCHMARKS.md, Core).

#ifndef CTX_SRC_RUNTIME_PAGE_MEMORY_H_
#define CTX_SRC_RUNTIME_PAGE_MEMORY_H_

#include <cstddef>

namespace ctx::internal {

// kHugePage: the size from which regions ask for huge pages.
inline constexpr size_t kHugePage = size_t{2} << 20;

// MapPages maps `size` bytes (a multiple of the page size) of zeroed memory.
// Throws std::bad_alloc when the system refuses.
char* MapPages(size_t size);

// GrowPages moves the `old_size` bytes at `old` (from MapPages or GrowPages)
// into a new region of `new_size` bytes (larger, a multiple of the page size)
// and returns it; the old region is gone. The pages move, nothing is copied.
// Throws std::bad_alloc (and leaves `old` intact) when the system refuses.
char* GrowPages(char* old, size_t old_size, size_t new_size);

// UnmapPages returns a region to the system.
void UnmapPages(char* p, size_t size) noexcept;

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_PAGE_MEMORY_H_
