// SPDX-License-Identifier: Apache-2.0
// core/src/runtime/sanitizers.h: whether this translation unit is built with
// AddressSanitizer or ThreadSanitizer (GCC's and clang's ways of saying so).
// Internal.

#ifndef CTX_SRC_RUNTIME_SANITIZERS_H_
#define CTX_SRC_RUNTIME_SANITIZERS_H_

namespace ctx::internal {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

}  // namespace ctx::internal

#endif  // CTX_SRC_RUNTIME_SANITIZERS_H_
