// SPDX-License-Identifier: Apache-2.0
// Canceling a parent reaches every descendant (a grandchild here), never an
// ancestor, and AfterFunc reports each end on the canceling thread.

#include <cstdio>

#include "ctx/context.h"

int main() {
  auto [root, cancel_root] = ctx::WithCancel(ctx::Background());
  auto [parent, cancel_parent] = ctx::WithCancelCause(root);
  auto [child, cancel_child] = ctx::WithTimeout(parent, std::chrono::hours(1));
  auto [grandchild, cancel_grandchild] = ctx::WithCancel(child);

  auto report = [](const char* name, const ctx::Context& c) {
    return ctx::AfterFunc(c, [name, c] {
      std::printf("  %-10s done: err=%-16s cause=%s\n", name,
                  c.Err().message().c_str(), ctx::Cause(c).message().c_str());
    });
  };
  ctx::StopFunc stops[] = {report("parent", parent), report("child", child),
                           report("grandchild", grandchild),
                           report("root", root)};

  std::printf("cancel(parent, \"shutting down\"):\n");
  cancel_parent(ctx::Error(ctx::Errc::kCanceled, "shutting down"));
  std::printf("root still live: %s\n", root.Done().Ready() ? "no" : "yes");
  std::printf("grandchild: %s\n", grandchild.ToString().c_str());
  std::printf("stop(root's AfterFunc) prevented it: %s\n",
              stops[3]() ? "yes" : "no");
  cancel_root();
  return 0;
}
