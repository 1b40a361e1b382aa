// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/page_array.h: a growable array in its own pages, for the
// timer heaps. Internal.
//
// std::vector doubles by allocating a new array, copying into it and freeing
// the old one: with a million armed timers that copies 16 MB in all and
// faults in every new array page by page. PageArray grows by moving its pages
// to a larger mapping (page_memory.h): nothing is copied, only the new half is
// faulted in, and from 2 MiB on it asks for huge pages.
//
// Thread-safety: none (the timer shards use it under their locks).
// Lifetime: memory is returned to the system when the array is destroyed; it
// never shrinks before.

#ifndef CTX_SRC_RUNTIME_PAGE_ARRAY_H_
#define CTX_SRC_RUNTIME_PAGE_ARRAY_H_

#include <cstddef>
#include <type_traits>

#include "page_memory.h"

namespace ctx::internal {

template <class T>
class PageArray {
  static_assert(std::is_trivially_copyable_v<T>,
                "PageArray moves its elements as bytes");

 public:
  PageArray() noexcept = default;
  PageArray(const PageArray&) = delete;
  PageArray& operator=(const PageArray&) = delete;
  ~PageArray() {
    if (data_ != nullptr) UnmapPages(reinterpret_cast<char*>(data_), bytes_);
  }

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](size_t i) noexcept { return data_[i]; }
  const T& operator[](size_t i) const noexcept { return data_[i]; }
  T& back() noexcept { return data_[size_ - 1]; }
  // bytes returns the memory the array holds (benchmarks count it).
  size_t bytes() const noexcept { return bytes_; }

  // push_back appends v; throws std::bad_alloc (and changes nothing) when the
  // array must grow and the system has no memory.
  void push_back(const T& v) {
    if (size_ == capacity_) Grow();
    data_[size_++] = v;
  }
  void pop_back() noexcept { --size_; }

 private:
  static constexpr size_t kFirstBytes = 4096;

  void Grow() {
    const size_t bytes = bytes_ == 0 ? kFirstBytes : bytes_ * 2;
    char* p = bytes_ == 0
                  ? MapPages(bytes)
                  : GrowPages(reinterpret_cast<char*>(data_), bytes_, bytes);
    data_ = reinterpret_cast<T*>(p);
    bytes_ = bytes;
    capacity_ = bytes / sizeof(T);
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t bytes_ = 0;  // mapped
};

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_PAGE_ARRAY_H_
