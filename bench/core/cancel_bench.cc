// SPDX-License-Identifier: Apache-2.0
// Creating and canceling contexts: the rows of Go's benchmark_test.go
// (CommonParentCancel, CancelTree, CheckCanceled, ContextCancelDone) and
// reference.md's WithCancel / WithTimeout + cancel. Names match the Go file in
// bench/go so bench/compare can pair them.

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "alloc_hook.h"
#include "ctx/context.h"

namespace {

using namespace std::chrono_literals;

// WithCancel(Background()) + cancel: allocate a cancel node, cancel it, free
// it.
void BM_WithCancelBackground(benchmark::State& state) {
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    auto [c, cancel] = ctx::WithCancel(ctx::Background());
    cancel();
  }
  bench::ReportAllocs(state, before);
}
BENCHMARK(BM_WithCancelBackground)->Name("WithCancel/Root=Background");

// WithCancel(live cancelable parent) + cancel: also registers with and
// unregisters from the parent.
void BM_WithCancelLive(benchmark::State& state) {
  auto [parent, parent_cancel] = ctx::WithCancel(ctx::Background());
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    auto [c, cancel] = ctx::WithCancel(parent);
    cancel();
  }
  bench::ReportAllocs(state, before);
  parent_cancel();
}
BENCHMARK(BM_WithCancelLive)->Name("WithCancel/Root=Live");

// WithTimeout(Background(), 1h) + cancel: also arms and disarms a timer.
void BM_WithTimeoutCancel(benchmark::State& state) {
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    auto [c, cancel] = ctx::WithTimeout(ctx::Background(), 1h);
    cancel();
  }
  bench::ReportAllocs(state, before);
}
BENCHMARK(BM_WithTimeoutCancel)->Name("WithTimeoutCancel");

// Go: BenchmarkCheckCanceled/Err.
void BM_CheckCanceledErr(benchmark::State& state) {
  auto [c, cancel] = ctx::WithCancel(ctx::Background());
  cancel();
  for (auto _ : state) benchmark::DoNotOptimize(c.Err());
}
BENCHMARK(BM_CheckCanceledErr)->Name("CheckCanceled/Err");

// Go: BenchmarkCheckCanceled/Done (a non-blocking receive on Done()).
void BM_CheckCanceledDone(benchmark::State& state) {
  auto [c, cancel] = ctx::WithCancel(ctx::Background());
  cancel();
  for (auto _ : state) benchmark::DoNotOptimize(c.Done().Ready());
}
BENCHMARK(BM_CheckCanceledDone)->Name("CheckCanceled/Done");

// Non-blocking Done check on a live context (reference.md's "live" column).
void BM_CheckLiveDone(benchmark::State& state) {
  auto [c, cancel] = ctx::WithCancel(ctx::Background());
  for (auto _ : state) benchmark::DoNotOptimize(c.Done().Ready());
  cancel();
}
BENCHMARK(BM_CheckLiveDone)->Name("CheckLive/Done");

// Go: BenchmarkContextCancelDone — both threads poll one live context.
std::optional<ctx::ContextAndCancel> g_polled;

void BM_ContextCancelDone(benchmark::State& state) {
  if (state.thread_index() == 0) g_polled = ctx::WithCancel(ctx::Background());
  for (auto _ : state) {
    // The loop's start is a barrier: thread 0's setup is visible here.
    benchmark::DoNotOptimize(g_polled->context.Done().Ready());
  }
  if (state.thread_index() == 0) g_polled.reset();
}
BENCHMARK(BM_ContextCancelDone)
    ->Name("ContextCancelDone")
    ->Threads(2)
    ->UseRealTime();

// Go: BenchmarkCommonParentCancel — two threads each create a child of one
// shared parent, read a value through it, and cancel it, with the same busy
// work (100 dependent divisions) before and after the cancel.
const ctx::Key<std::string> kKey{"key"};
std::optional<ctx::ContextAndCancel> g_shared;

void Spin(int64_t& x) {
  for (int i = 0; i < 100; ++i) x /= x + 1;
}

void BM_CommonParentCancel(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_shared = ctx::WithCancel(
        ctx::WithValue(ctx::Background(), kKey, std::string("value")));
  }
  int64_t x = 0;
  benchmark::DoNotOptimize(x);  // x is unknown to the compiler, as in Go
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    auto [c, cancel] = ctx::WithCancel(g_shared->context);
    if (*c.Value(kKey) != "value") state.SkipWithError("value not found");
    Spin(x);
    cancel();
    Spin(x);
  }
  benchmark::DoNotOptimize(x);
  bench::ReportAllocs(state, before);
  if (state.thread_index() == 0) {
    g_shared->cancel();
    g_shared.reset();
  }
}
BENCHMARK(BM_CommonParentCancel)
    ->Name("CommonParentCancel")
    ->Threads(2)
    ->UseRealTime();

// The same busy work alone, to show how much of CommonParentCancel it is.
void BM_CommonParentCancelSpinOnly(benchmark::State& state) {
  int64_t x = 0;
  benchmark::DoNotOptimize(x);
  for (auto _ : state) {
    Spin(x);
    Spin(x);
  }
  benchmark::DoNotOptimize(x);
}
BENCHMARK(BM_CommonParentCancelSpinOnly)
    ->Name("CommonParentCancelSpinOnly")
    ->Threads(2)
    ->UseRealTime();

// Go: BenchmarkCancelTree — a chain of `depth` WithCancel contexts under a
// Background root, a live root that is canceled afterwards, or a root that is
// already canceled (every child is born done). The chain is kept alive until
// after the root's cancel, as it is in Go (where the root's children map holds
// it), so the cancel reaches every node; then dropping the leaf frees it.
ctx::Context BuildContextTree(ctx::Context root, int depth) {
  for (int d = 0; d < depth; ++d) root = ctx::WithCancel(root).context;
  return root;
}

enum class Root { kBackground, kOpenCanceler, kClosedCanceler };

void BM_CancelTree(benchmark::State& state, Root root, int depth) {
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    switch (root) {
      case Root::kBackground: {
        ctx::Context leaf = BuildContextTree(ctx::Background(), depth);
        benchmark::DoNotOptimize(leaf);
        break;
      }
      case Root::kOpenCanceler: {
        auto [c, cancel] = ctx::WithCancel(ctx::Background());
        ctx::Context leaf = BuildContextTree(c, depth);
        cancel();
        break;
      }
      case Root::kClosedCanceler: {
        auto [c, cancel] = ctx::WithCancel(ctx::Background());
        cancel();
        ctx::Context leaf = BuildContextTree(c, depth);
        benchmark::DoNotOptimize(leaf);
        break;
      }
    }
  }
  bench::ReportAllocs(state, before);
}

void RegisterCancelTree() {
  for (int depth : {1, 10, 100, 1000}) {
    const std::string prefix = "CancelTree/depth=" + std::to_string(depth);
    benchmark::RegisterBenchmark((prefix + "/Root=Background").c_str(),
                                 BM_CancelTree, Root::kBackground, depth);
    benchmark::RegisterBenchmark((prefix + "/Root=OpenCanceler").c_str(),
                                 BM_CancelTree, Root::kOpenCanceler, depth);
    benchmark::RegisterBenchmark((prefix + "/Root=ClosedCanceler").c_str(),
                                 BM_CancelTree, Root::kClosedCanceler, depth);
  }
}
[[maybe_unused]] const int kRegistered = (RegisterCancelTree(), 0);

}  // namespace
