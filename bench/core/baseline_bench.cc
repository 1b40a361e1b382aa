// SPDX-License-Identifier: Apache-2.0
// The C++ floor: std::stop_source + std::stop_callback doing what WithCancel +
// cancel does (allocate a stop state, register, request stop). It has no tree,
// deadline, value or cause. Rows as in reference.md.
//
// libstdc++'s request_stop takes a slower path (a futex call) once the process
// has started any thread (__libc_single_threaded turns false for good). Each
// row reports which case it ran in (counter single_threaded: 1 or 0); the
// .../ThreadStarted rows start and join a thread first, so they always measure
// the multi-threaded case, which is every ctx process that used a deadline.

#include <benchmark/benchmark.h>
#include <sys/single_threaded.h>

#include <stop_token>
#include <thread>

#include "alloc_hook.h"

namespace {

struct Noop {
  void operator()() const noexcept {}
};

// ReportThreading records whether the process was still single-threaded.
void ReportThreading(benchmark::State& state) {
  state.counters["single_threaded"] = __libc_single_threaded ? 1 : 0;
}

// StartThread makes the process multi-threaded (once; the thread is joined).
void StartThread() {
  static const bool started = [] {
    std::thread([] {}).join();
    return true;
  }();
  (void)started;
}

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
  ReportThreading(state);
}
BENCHMARK(BM_StopSourceCallback)->Name("StopSource/Callback");

void BM_StopSourceCallbackThreaded(benchmark::State& state) {
  StartThread();
  BM_StopSourceCallback(state);
}
BENCHMARK(BM_StopSourceCallbackThreaded)
    ->Name("StopSource/Callback/ThreadStarted");

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
  ReportThreading(state);
}
BENCHMARK(BM_StopSourceLinkedChild)->Name("StopSource/LinkedChild");

void BM_StopSourceLinkedChildThreaded(benchmark::State& state) {
  StartThread();
  BM_StopSourceLinkedChild(state);
}
BENCHMARK(BM_StopSourceLinkedChildThreaded)
    ->Name("StopSource/LinkedChild/ThreadStarted");

// stop_requested() on a stopped token: the counterpart of Done().Ready().
void BM_StopRequested(benchmark::State& state) {
  std::stop_source source;
  source.request_stop();
  const std::stop_token token = source.get_token();
  for (auto _ : state) benchmark::DoNotOptimize(token.stop_requested());
}
BENCHMARK(BM_StopRequested)->Name("StopSource/StopRequested");

}  // namespace
