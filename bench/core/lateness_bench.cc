// SPDX-License-Identifier: Apache-2.0
// Timer lateness: how long after its deadline a waiting thread sees a context
// done, with 100,000 other timers armed. Reports p50/p99/max in microseconds;
// the benchmark's own time is the p99.
//
//   TimerLateness/outstanding=100000  the others are armed for 1-10 s (idle)
//   TimerLateness/firing=100000       the others fire during the measurement
//                                     (about 100 per millisecond)

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "ctx/context.h"

namespace {

using namespace std::chrono_literals;

constexpr int kTimers = 100000;
constexpr int kProbes = 800;

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void BM_TimerLateness(benchmark::State& state, bool firing) {
  std::mt19937_64 rng(42);
  for (auto _ : state) {
    // The load: firing spreads deadlines over the next second, so they fire
    // while the probes run; otherwise they stay armed for 1-10 s.
    std::uniform_int_distribution<int64_t> load_us(
        firing ? 10'000 : 1'000'000, firing ? 1'000'000 : 10'000'000);
    std::vector<ctx::CancelFunc> load;
    load.reserve(kTimers);
    for (int i = 0; i < kTimers; ++i) {
      load.push_back(ctx::WithTimeout(ctx::Background(),
                                      std::chrono::microseconds(load_us(rng)))
                         .cancel);
    }
    // The probes, one at a time: a 0.5-2 ms timeout, waited on by this
    // thread.
    std::uniform_int_distribution<int64_t> probe_us(500, 2000);
    std::vector<double> lateness_us;
    lateness_us.reserve(kProbes);
    for (int i = 0; i < kProbes; ++i) {
      auto [c, cancel] = ctx::WithTimeout(
          ctx::Background(), std::chrono::microseconds(probe_us(rng)));
      const ctx::TimePoint deadline = *c.Deadline();
      c.Done().Wait();
      const ctx::TimePoint seen = ctx::Clock::now();
      lateness_us.push_back(
          std::chrono::duration<double, std::micro>(seen - deadline).count());
    }
    for (const ctx::CancelFunc& f : load) f();
    const double p99 = Percentile(lateness_us, 0.99);
    state.SetIterationTime(p99 / 1e6);
    state.counters["p50_us"] = Percentile(lateness_us, 0.50);
    state.counters["p99_us"] = p99;
    state.counters["max_us"] = Percentile(lateness_us, 1.0);
  }
}
BENCHMARK_CAPTURE(BM_TimerLateness, outstanding, false)
    ->Name("TimerLateness/outstanding=100000")
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TimerLateness, firing, true)
    ->Name("TimerLateness/firing=100000")
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
