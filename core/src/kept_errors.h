// SPDX-License-Identifier: Apache-2.0
// core/src/kept_errors.h: where ImmortalError keeps the first kMaxKeptIndex
// errors it makes, so that a cancel can tell one by its address, inline.
// Internal.
//
// A kept error's message points at its slot's text, so an Error's message
// pointer says whether it is a copy of a kept error and which. The slots are
// never destroyed: a cancel may still record or read a kept cause while static
// destructors run.

#ifndef CTX_SRC_KEPT_ERRORS_H_
#define CTX_SRC_KEPT_ERRORS_H_

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>

#include "ctx/errors.h"

namespace ctx::internal {

// kMaxKeptIndex is how many kept errors have a slot (and so an index, 1 to
// kMaxKeptIndex, that fits the 8 bits a cancel records it in).
inline constexpr uint32_t kMaxKeptIndex = 255;

// KeptError is one ImmortalError, never freed: reachable for as long as the
// process runs (also for leak checkers). Those past the storage are chained on
// a list through `next`.
struct KeptError {
  std::string text;
  Error error;
  // bare: `error` has a ctx code and that code's own message, so it equals
  // Error(Errc(its value)); a cancel with that Errc records it as no cause.
  // Constant once made; false for those past the storage, which no cancel
  // reads through a slot.
  bool bare = false;
  const KeptError* next = nullptr;

  // IsCauseFor says whether a cancel with error `err` keeps this error as
  // its cause: whether it is an error at all, and not equal to Error(err).
  [[nodiscard]] bool IsCauseFor(Errc err) const noexcept {
    return static_cast<bool>(error) &&
           !(bare && error.code().value() == static_cast<int>(err));
  }
};

// g_kept_storage: slot i holds the kept error of index i + 1 once
// ImmortalError built it there (errors.cc).
extern std::byte g_kept_storage[kMaxKeptIndex * sizeof(KeptError)];

// ErrorInternals reads what Error keeps private, for this file.
struct ErrorInternals {
  static uintptr_t MessageAddress(const Error& e) noexcept {
    return reinterpret_cast<uintptr_t>(e.message_.get());
  }
};

// KeptSlotIndex returns the index of an Error made by ImmortalError, or a copy
// of one: the slot its message points into, plus one; 0 for any other Error,
// and for the kept ones made after the first kMaxKeptIndex. KeptSlot(index) is
// then the kept error, equal to `e`.
inline uint32_t KeptSlotIndex(const Error& e) noexcept {
  const uintptr_t p = ErrorInternals::MessageAddress(e);
  const auto first = reinterpret_cast<uintptr_t>(g_kept_storage);
  if (p - first >= sizeof(g_kept_storage)) return 0;  // also below `first`
  return static_cast<uint32_t>((p - first) / sizeof(KeptError)) + 1;
}

// KeptSlot is the kept error of `index` (1 to kMaxKeptIndex), which exists.
inline const KeptError& KeptSlot(uint32_t index) noexcept {
  return *std::launder(reinterpret_cast<const KeptError*>(
      g_kept_storage + std::size_t{index - 1} * sizeof(KeptError)));
}

}  // namespace ctx::internal

#endif  // CTX_SRC_KEPT_ERRORS_H_
