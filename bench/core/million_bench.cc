// SPDX-License-Identifier: Apache-2.0
// One million live WithTimeout contexts (random 1-10 s deadlines): time to
// create them, what each costs in memory, and time to cancel them all; and the
// same under one cancelable parent, canceled once to reach all of them.
//
// Counters (per context unless noted): create_ns, cancel_ns (each cancel
// called in turn) or parent_cancel_ms (total, one cancel), release_ns (dropping
// the last handles), heap_B (live heap footprint counted by the bench's
// operator new, usable size + glibc's chunk header, node pool blocks, and the
// timer heaps' arrays) and rss_B (resident set growth). Run each in
// a fresh process (bench/ compare does): memory freed by earlier benchmarks
// would hide RSS growth.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <vector>

#include "alloc_hook.h"
#include "ctx/context.h"
#include "timer_service.h"

namespace {

constexpr int kContexts = 1'000'000;

// RssBytes returns the resident set size from /proc/self/statm.
double RssBytes() {
  long size = 0, pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
    std::fclose(f);
  }
  return static_cast<double>(pages) *
         static_cast<double>(sysconf(_SC_PAGESIZE));
}

// TimerHeapBytes returns what the timer service's heaps hold: their arrays
// are mapped pages, not operator new memory.
double TimerHeapBytes() {
  return static_cast<double>(ctx::internal::TimerService::Get().HeapBytes());
}

double NsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::nano>(
             std::chrono::steady_clock::now() - start)
      .count();
}

void BM_MillionTimeouts(benchmark::State& state, bool under_parent) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> ns(1'000'000'000, 10'000'000'000);
  std::vector<std::chrono::nanoseconds> timeouts;
  timeouts.reserve(kContexts);
  for (int i = 0; i < kContexts; ++i)
    timeouts.emplace_back(std::chrono::nanoseconds(ns(rng)));
  std::vector<ctx::CancelFunc> cancels;
  cancels.reserve(kContexts);
  const double n = kContexts;

  for (auto _ : state) {
    std::optional<ctx::ContextAndCancel> parent;
    if (under_parent) parent = ctx::WithCancel(ctx::Background());
    const ctx::Context root = parent ? parent->context : ctx::Background();

    const bench::AllocCounts heap0 = bench::ThreadAllocs();
    const double timer_heap0 = TimerHeapBytes();
    const double rss0 = RssBytes();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kContexts; ++i)
      cancels.push_back(ctx::WithTimeout(root, timeouts[i]).cancel);
    const double create_ns = NsSince(start);
    state.SetIterationTime(create_ns / 1e9);
    state.counters["create_ns"] = create_ns / n;
    state.counters["heap_B"] =
        (bench::HeapFootprint(bench::ThreadAllocs()) -
         bench::HeapFootprint(heap0) + TimerHeapBytes() - timer_heap0) /
        n;
    state.counters["rss_B"] = (RssBytes() - rss0) / n;

    const auto cancel_start = std::chrono::steady_clock::now();
    if (parent) {
      parent->cancel();
      state.counters["parent_cancel_ms"] = NsSince(cancel_start) / 1e6;
    } else {
      for (const ctx::CancelFunc& f : cancels) f();
      state.counters["cancel_ns"] = NsSince(cancel_start) / n;
    }
    const auto release_start = std::chrono::steady_clock::now();
    cancels.clear();
    state.counters["release_ns"] = NsSince(release_start) / n;
  }
}
BENCHMARK_CAPTURE(BM_MillionTimeouts, plain, false)
    ->Name("MillionTimeouts")
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MillionTimeouts, under_parent, true)
    ->Name("MillionTimeouts/UnderParent")
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
