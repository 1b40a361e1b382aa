// SPDX-License-Identifier: Apache-2.0
// Value lookups: a key found `depth` layers up a chain of WithValue contexts,
// and Go's BenchmarkDeepValueSameGoRoutine (a missing key through `depth`
// layers); making and freeing value nodes.

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "alloc_hook.h"
#include "ctx/context.h"

namespace {

// ValueChain is a chain of `depth` WithValue contexts with distinct keys; keys_
// [0] is the layer nearest the root, so looking it up from leaf() walks the
// whole chain.
class ValueChain {
 public:
  explicit ValueChain(int depth) {
    for (int i = 0; i < depth; ++i) {
      keys_.push_back(std::make_unique<ctx::Key<int>>("k"));
      leaf_ = ctx::WithValue(leaf_, *keys_.back(), i);
    }
  }
  const ctx::Context& leaf() const { return leaf_; }
  const ctx::Key<int>& deepest_key() const { return *keys_.front(); }

 private:
  std::vector<std::unique_ptr<ctx::Key<int>>> keys_;  // outlive leaf_
  ctx::Context leaf_;
};

// Value/depth=N: the key is N layers up (depth 1: the leaf itself holds it).
void BM_Value(benchmark::State& state, int depth) {
  const ValueChain chain(depth);
  const ctx::Key<int>& key = chain.deepest_key();
  for (auto _ : state) {
    const int* v = chain.leaf().Value(key);
    benchmark::DoNotOptimize(v);
  }
}

// Go: BenchmarkDeepValueSameGoRoutine — a key that no layer holds.
void BM_DeepValueSameGoRoutine(benchmark::State& state, int depth) {
  const ValueChain chain(depth);
  const ctx::Key<int> missing{"missing"};
  for (auto _ : state) {
    const int* v = chain.leaf().Value(missing);
    benchmark::DoNotOptimize(v);
  }
}

const ctx::Key<std::string> kName{"name"};
const ctx::Key<std::string> kSession{"session"};
const ctx::Key<int> kCount{"count"};

// WithValue/string: a value node made and freed (a request-scoped string
// attached to a live parent, as a handler or a bridge does per request).
void BM_WithValueString(benchmark::State& state) {
  const ctx::ContextAndCancel parent = ctx::WithCancel(ctx::Background());
  const std::string value = "a short id";
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    ctx::Context c = ctx::WithValue(parent.context, kName, value);
    benchmark::DoNotOptimize(c);
  }
  bench::ReportAllocs(state, before);
  parent.cancel();
}

// WithValues/3: one node holding three values, the way the gRPC bridge
// attaches a call's values.
void BM_WithValuesThree(benchmark::State& state) {
  const ctx::ContextAndCancel parent = ctx::WithCancel(ctx::Background());
  using ctx::internal::OptionalValue;
  const bench::AllocCounts before = bench::ThreadAllocs();
  for (auto _ : state) {
    ctx::Context c = ctx::internal::WithValues(
        parent.context, OptionalValue<std::string>{&kName, "a short id"},
        OptionalValue<std::string>{&kSession, "s1"},
        OptionalValue<int>{&kCount, 3});
    benchmark::DoNotOptimize(c);
  }
  bench::ReportAllocs(state, before);
  parent.cancel();
}

void RegisterValueBenchmarks() {
  benchmark::RegisterBenchmark("WithValue/string", BM_WithValueString);
  benchmark::RegisterBenchmark("WithValues/3", BM_WithValuesThree);
  for (int depth : {1, 8, 64}) {
    benchmark::RegisterBenchmark(
        ("Value/depth=" + std::to_string(depth)).c_str(), BM_Value, depth);
  }
  for (int depth : {10, 100}) {
    benchmark::RegisterBenchmark(
        ("DeepValueSameGoRoutine/depth=" + std::to_string(depth)).c_str(),
        BM_DeepValueSameGoRoutine, depth);
  }
}
[[maybe_unused]] const int kRegistered = (RegisterValueBenchmarks(), 0);

}  // namespace
