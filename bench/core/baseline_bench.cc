// The C++ floor: std::stop_source + std::stop_callback doing what WithCancel +
// cancel does (allocate a stop state, register, request stop). It has no tree,
// deadline, value or cause. Rows as in reference.md.

#include <benchmark/benchmark.h>

#include <stop_token>

#include "alloc_hook.h"

namespace {

struct Noop {
  void operator()() const noexcept {}
};

// A stop_source with one stop_callback, then request_stop: the counterpart of
// WithCancel(Background()) + cancel.
void BM_StopSourceCallback(benchmark::State& state) {
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    std::stop_source source;
    std::stop_callback callback(source.get_token(), Noop{});
    source.request_stop();
  }
  bench::ReportAllocs(state, before);
}
BENCHMARK(BM_StopSourceCallback)->Name("StopSource/Callback");

// A child stop_source linked to a live parent by a stop_callback, then the
// child's request_stop: the counterpart of WithCancel(live parent) + cancel.
void BM_StopSourceLinkedChild(benchmark::State& state) {
  std::stop_source parent;
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    std::stop_source child;
    std::stop_callback link(parent.get_token(),
                            [&child]() noexcept { child.request_stop(); });
    child.request_stop();
  }
  bench::ReportAllocs(state, before);
}
BENCHMARK(BM_StopSourceLinkedChild)->Name("StopSource/LinkedChild");

// stop_requested() on a stopped token: the counterpart of Done().Ready().
void BM_StopRequested(benchmark::State& state) {
  std::stop_source source;
  source.request_stop();
  const std::stop_token token = source.get_token();
  for (auto _ : state) benchmark::DoNotOptimize(token.stop_requested());
}
BENCHMARK(BM_StopRequested)->Name("StopSource/StopRequested");

}  // namespace
