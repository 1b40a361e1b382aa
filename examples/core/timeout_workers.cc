// SPDX-License-Identifier: Apache-2.0
// Two workers share one context with a 2 s timeout; each stops as soon as the
// timeout fires. (The seed notes' first Go example, in ctx.)

#include <chrono>
#include <cstdio>
#include <thread>

#include "ctx/context.h"

namespace {

void Log(const char* fmt, int id) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count() %
                  100000;
  std::printf("[%05lld ms] ", static_cast<long long>(ms));
  std::printf(fmt, id);
  std::printf("\n");
  std::fflush(stdout);
}

// SubMission works in 500 ms steps until its context is done. WaitFor doubles
// as the sleep, so the worker reacts the moment the context ends instead of
// after its current step.
void SubMission(const ctx::Context& c, int task_id) {
  Log("task %d: start work", task_id);
  while (!c.Done().WaitFor(std::chrono::milliseconds(500)))
    Log("task %d: working", task_id);
  Log("task %d: end work", task_id);
}

}  // namespace

int main() {
  auto [c, cancel] =
      ctx::WithTimeout(ctx::Background(), std::chrono::seconds(2));
  std::printf("context: %s\n", c.ToString().c_str());
  std::thread w1(SubMission, c, 1);
  std::thread w2(SubMission, c, 2);
  c.Done().Wait();
  std::printf("main: %s\n", c.Err().message().c_str());
  w1.join();
  w2.join();
  cancel();  // releases the context at once (here it has already ended)
  return 0;
}
