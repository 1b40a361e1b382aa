// SPDX-License-Identifier: Apache-2.0
// fuzz/fuzz_check.h: the invariant check the fuzz targets share.
//
// CTX_FUZZ_CHECK(cond) aborts with the failed condition when an invariant of
// a parser breaks; libFuzzer then saves the input as a crash artifact. Any
// such input becomes a regular test in tests/http/.

#ifndef CTX_FUZZ_FUZZ_CHECK_H_
#define CTX_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define CTX_FUZZ_CHECK(cond)                                          \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                  \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

namespace ctx::fuzz {

// HasControlBytes reports whether s holds bytes a log line or a header value
// must never contain (C0 controls, DEL).
inline bool HasControlBytes(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace ctx::fuzz

#endif  // CTX_FUZZ_FUZZ_CHECK_H_
