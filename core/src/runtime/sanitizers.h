// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/sanitizers.h: whether this translation unit is built with
// AddressSanitizer or ThreadSanitizer (GCC's and clang's ways of saying so).
// Internal.

#ifndef CTX_SRC_RUNTIME_SANITIZERS_H_
#define CTX_SRC_RUNTIME_SANITIZERS_H_

namespace ctx::internal {

// GCC defines __SANITIZE_*__; clang answers __has_feature.
#ifdef __has_feature
#define CTX_INTERNAL_HAS_FEATURE(x) __has_feature(x)
#else
#define CTX_INTERNAL_HAS_FEATURE(x) 0
#endif

inline constexpr bool kAddressSanitizer =
#if defined(__SANITIZE_ADDRESS__) || CTX_INTERNAL_HAS_FEATURE(address_sanitizer)
    true;
#else
    false;
#endif

inline constexpr bool kThreadSanitizer =
#if defined(__SANITIZE_THREAD__) || CTX_INTERNAL_HAS_FEATURE(thread_sanitizer)
    true;
#else
    false;
#endif

#undef CTX_INTERNAL_HAS_FEATURE

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_SANITIZERS_H_
