// SPDX-License-Identifier: Apache-2.0
// Fan-out: a parent with N WithCancel children; the time from the parent's
// cancel() until every child has been observed done (each child's Done()
// checked once cancel returns). Setup and teardown are not timed.
// DoneMaterialized is Go's variant where every child's Done() was called
// before the cancel (Go then allocates a channel per child); ctx's signal
// always exists, so it is the same work here.

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "ctx/context.h"

namespace {

void BM_FanOut(benchmark::State& state, int n, bool materialize) {
  std::vector<ctx::Context> children;
  children.reserve(n);
  double total_s = 0;
  for (auto _ : state) {
    auto [parent, cancel] = ctx::WithCancel(ctx::Background());
    for (int i = 0; i < n; ++i)
      children.push_back(ctx::WithCancel(parent).context);
    if (materialize) {
      for (const ctx::Context& c : children)
        benchmark::DoNotOptimize(&c.Done());
    }
    const auto start = std::chrono::steady_clock::now();
    cancel();
    for (const ctx::Context& c : children) {
      if (!c.Done().Ready()) state.SkipWithError("child not done");
    }
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start;
    state.SetIterationTime(elapsed.count());
    total_s += elapsed.count();
    children.clear();
  }
  state.counters["ns/child"] =
      total_s * 1e9 /
      (static_cast<double>(n) * static_cast<double>(state.iterations()));
}

void RegisterFanOut() {
  for (int n : {1000, 100000}) {
    const std::string name = "FanOut/children=" + std::to_string(n);
    benchmark::RegisterBenchmark(name.c_str(), BM_FanOut, n, false)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("FanOut/children=100000/DoneMaterialized",
                               BM_FanOut, 100000, true)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}
[[maybe_unused]] const int kRegistered = (RegisterFanOut(), 0);

}  // namespace
