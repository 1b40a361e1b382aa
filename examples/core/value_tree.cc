// SPDX-License-Identifier: Apache-2.0
// Request-scoped values flow down the tree: every descendant sees its nearest
// ancestor's value.

#include <cstdio>
#include <string>

#include "ctx/context.h"

namespace {

inline constexpr ctx::Key<std::string> kRequestId("request_id");
inline constexpr ctx::Key<std::string> kUser("user");

void Handle(const ctx::Context& c, const char* where) {
  const std::string* id = c.Value(kRequestId);
  const std::string* user = c.Value(kUser);
  std::printf("%-10s request_id=%s user=%s\n", where,
              id ? id->c_str() : "(none)", user ? user->c_str() : "(none)");
}

}  // namespace

int main() {
  ctx::Context request =
      ctx::WithValue(ctx::Background(), kRequestId, "req-42");
  Handle(request, "handler");
  auto [db, cancel_db] =
      ctx::WithCancel(ctx::WithValue(request, kUser, "gopher"));
  Handle(db, "db call");
  ctx::Context audit = ctx::WithValue(ctx::WithoutCancel(db), kUser,
                                      "auditor");  // nearest value wins
  Handle(audit, "audit log");
  std::printf("\n%s\n", audit.ToString().c_str());
  return 0;
}
