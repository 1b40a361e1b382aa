// SPDX-License-Identifier: Apache-2.0
// bench/grpc/benchmark_main.cc: main() for the gRPC Google Benchmark programs.
// gRPC's library is initialized once (by a ClientContext held for the whole
// run), so that no timed loop pays for its start.

#include <benchmark/benchmark.h>
#include <grpcpp/client_context.h>

int main(int argc, char** argv) {
  const grpc::ClientContext warm;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
