// SPDX-License-Identifier: Apache-2.0
// tests/core/cpu_pinning.h: running test code on chosen CPUs, so that every
// per-CPU shard (timer heaps, split children lists) is used even on a small
// machine.

#ifndef CTX_TESTS_CORE_CPU_PINNING_H_
#define CTX_TESTS_CORE_CPU_PINNING_H_

#include <pthread.h>
#include <sched.h>

#include <thread>
#include <vector>

namespace ctx {

// AllowedCpus lists the CPUs this process may run on.
inline std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return {0};
  for (int i = 0; i < CPU_SETSIZE; ++i) {
    if (CPU_ISSET(i, &set)) cpus.push_back(i);
  }
  return cpus;
}

// PinToCpu pins the calling thread to `cpu`.
inline void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// OnCpu runs f on a thread pinned to `cpu` and waits for it.
template <typename F>
void OnCpu(int cpu, F f) {
  std::thread t([cpu, &f] {
    PinToCpu(cpu);
    f();
  });
  t.join();
}

}  // namespace ctx

#endif  // CTX_TESTS_CORE_CPU_PINNING_H_
