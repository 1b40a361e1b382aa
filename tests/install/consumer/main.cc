// Uses the installed ctx headers and library; exits 0 when they behave.
#include <chrono>
#include <cstdio>

#include "ctx/context.h"

int main() {
  auto [c, cancel] =
      ctx::WithTimeout(ctx::Background(), std::chrono::milliseconds(1));
  if (!c.Done().WaitFor(std::chrono::seconds(20))) return 1;
  if (c.Err() != ctx::Errc::kDeadlineExceeded) return 2;
  std::printf("%s: %s\n", c.ToString().c_str(), c.Err().message().c_str());
  return 0;
}
