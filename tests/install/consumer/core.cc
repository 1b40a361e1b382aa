// SPDX-License-Identifier: Apache-2.0
// Uses the installed ctx::core headers and library; exits 0 when they behave.
// CTX_EXPECTED_VERSION is the version the package (CMake or pkg-config)
// reported.
#include <chrono>
#include <cstdio>
#include <cstring>

#include "ctx/context.h"
#include "ctx/version.h"

int main() {
  if (std::strcmp(CTX_VERSION_STRING, CTX_EXPECTED_VERSION) != 0) {
    std::fprintf(stderr, "ctx/version.h: got %s, want the package's %s\n",
                 CTX_VERSION_STRING, CTX_EXPECTED_VERSION);
    return 1;
  }
  static_assert(CTX_VERSION_AT_LEAST(0, 2, 0));
  static_assert(!CTX_VERSION_AT_LEAST(CTX_VERSION_MAJOR + 1, 0, 0));
  auto [c, cancel] =
      ctx::WithTimeout(ctx::Background(), std::chrono::milliseconds(1));
  if (!c.Done().WaitFor(std::chrono::seconds(20))) {
    std::fprintf(stderr, "WithTimeout(1ms): not done after 20 s\n");
    return 1;
  }
  if (c.Err() != ctx::Errc::kDeadlineExceeded) {
    std::fprintf(
        stderr, "WithTimeout(1ms).Err(): got %s, want %s\n",
        c.Err().message().c_str(),
        make_error_code(ctx::Errc::kDeadlineExceeded).message().c_str());
    return 1;
  }
  std::printf("ctx %s: %s: %s\n", CTX_VERSION_STRING, c.ToString().c_str(),
              c.Err().message().c_str());
  return 0;
}
