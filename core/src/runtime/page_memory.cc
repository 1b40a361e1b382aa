// SPDX-License-Identifier: Apache-2.0
#include "page_memory.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace ctx::internal {
namespace {

char* MapOrThrow(size_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

}  // namespace

char* MapPages(size_t size) {
  if (size < kHugePage) return MapOrThrow(size);
  // Over-map by a huge page and trim both ends to an aligned region.
  const size_t span = size + kHugePage;
  char* base = MapOrThrow(span);
  const uintptr_t raw = reinterpret_cast<uintptr_t>(base);
  char* aligned = reinterpret_cast<char*>((raw + kHugePage - 1) &
                                          ~(uintptr_t{kHugePage} - 1));
  if (aligned > base) munmap(base, static_cast<size_t>(aligned - base));
  char* end = aligned + size;
  if (base + span > end) munmap(end, static_cast<size_t>(base + span - end));
  madvise(aligned, size, MADV_HUGEPAGE);
  return aligned;
}

char* GrowPages(char* old, size_t old_size, size_t new_size) {
  // Map the new region first (aligned and advised when large), then move the
  // old pages over its start: MREMAP_FIXED replaces what is there.
  char* grown = MapPages(new_size);
  void* moved =
      mremap(old, old_size, old_size, MREMAP_MAYMOVE | MREMAP_FIXED, grown);
  if (moved == MAP_FAILED) {
    munmap(grown, new_size);
    throw std::bad_alloc();
  }
  // The moved pages keep the old region's advice; ask again for the whole.
  if (new_size >= kHugePage) madvise(grown, new_size, MADV_HUGEPAGE);
  return grown;
}

void UnmapPages(char* p, size_t size) noexcept { munmap(p, size); }

}  // namespace ctx::internal
