// SPDX-License-Identifier: Apache-2.0
// Uses the installed ctx::log (and spdlog through it); exits 0 when they
// behave.
#include "ctx/log/log.h"

#include <cstdio>
#include <string>

#include "ctx/context.h"
#include "ctx/log/prefix.h"
#include "ctx/propagation.h"

int main() {
  ctx::Context c = ctx::WithValue(ctx::Background(), ctx::kRequestIdKey,
                                  std::string("consumer-1"));
  std::string prefix = ctx::log::Prefix(c);
  if (prefix.find("consumer-1") == std::string::npos) {
    std::fprintf(
        stderr,
        "Prefix(request id consumer-1): got \"%s\", want it to name the id\n",
        prefix.c_str());
    return 1;
  }
  ctx::log::Info(c, "ctx::log: prefix {}", prefix);
  return 0;
}
