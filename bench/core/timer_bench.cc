// SPDX-License-Identifier: Apache-2.0
// Go: BenchmarkWithTimeout — two threads each create 10 WithTimeout(1h)
// contexts and cancel them, while `concurrency` other timers stay armed.

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "alloc_hook.h"
#include "ctx/context.h"

namespace {

using namespace std::chrono_literals;

std::vector<ctx::CancelFunc> g_outstanding;

void BM_WithTimeout(benchmark::State& state, int concurrency) {
  if (state.thread_index() == 0) {
    g_outstanding.reserve(concurrency);
    for (int i = 0; i < concurrency; ++i)
      g_outstanding.push_back(ctx::WithTimeout(ctx::Background(), 1h).cancel);
  }
  std::array<ctx::CancelFunc, 10> wcf;
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    for (ctx::CancelFunc& f : wcf)
      f = ctx::WithTimeout(ctx::Background(), 1h).cancel;
    for (const ctx::CancelFunc& f : wcf) f();
  }
  bench::ReportAllocs(state, before);
  if (state.thread_index() == 0) {
    for (const ctx::CancelFunc& f : g_outstanding) f();
    g_outstanding.clear();
  }
}

void RegisterWithTimeout() {
  for (int concurrency : {40, 4000, 400000}) {
    benchmark::RegisterBenchmark(
        ("WithTimeout/concurrency=" + std::to_string(concurrency)).c_str(),
        BM_WithTimeout, concurrency)
        ->Threads(2)
        ->UseRealTime();
  }
}
[[maybe_unused]] const int kRegistered = (RegisterWithTimeout(), 0);

}  // namespace
