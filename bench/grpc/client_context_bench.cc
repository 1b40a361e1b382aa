// SPDX-License-Identifier: Apache-2.0
// bench/grpc/client_context_bench.cc: what binding an outgoing call to a
// context costs the caller (ctx::grpc::BoundClientContext), with and without a
// deadline to forward. No call is made: the ClientContext is built and
// destroyed.
//
//   ctx_grpc_client_bench [--benchmark_repetitions=N]

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <chrono>

#include "ctx/context.h"
#include "ctx/grpc/client_context.h"

namespace {

void BM_BoundClientContextNoDeadline(benchmark::State& state) {
  const ctx::Context c = ctx::Background();
  for (auto _ : state) {
    ctx::grpc::BoundClientContext bound(c);
    benchmark::DoNotOptimize(bound.get());
  }
}
BENCHMARK(BM_BoundClientContextNoDeadline);

void BM_BoundClientContextWithDeadline(benchmark::State& state) {
  const ctx::ContextAndCancel d =
      ctx::WithTimeout(ctx::Background(), std::chrono::minutes(5));
  for (auto _ : state) {
    ctx::grpc::BoundClientContext bound(d.context);
    benchmark::DoNotOptimize(bound.get());
  }
}
BENCHMARK(BM_BoundClientContextWithDeadline);

}  // namespace
