// SPDX-License-Identifier: Apache-2.0
// bench/grpc/call_bench.cc: the bridge's own work for one server call, apart
// from gRPC: what the interceptor does from the client's metadata to the end
// of the call, run in a loop on one thread (Google Benchmark).
//
//   ctx_grpc_call_bench [--benchmark_repetitions=N]
//
// Each iteration builds a call's context from a parsed metadata map (BuildCall,
// as POST_RECV_INITIAL_METADATA does), makes its CallState and registers it,
// reads it back as a handler does (CallContext, Err, the request id), ends it
// with the finished cause, unregisters it and destroys it (as the
// interceptor's destructor does). The ServerContext is not in a call: the
// peer is never read, and gRPC's own work (filling the metadata map, the
// interceptor's allocation, the hooks) is not here; ctx_grpc_bridge_load
// --own=1 times that too, with a load's noise. Server deadline: the
// default_timeout (30 s), so every call arms and disarms a timer. The Evicted
// variant writes over a buffer between calls, so that each call finds its
// code and data as far from the CPU as in a server.

#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "call_builder.h"
#include "call_registry.h"
#include "call_state.h"
#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/server_interceptor.h"
#include "sync_watcher.h"

namespace {

namespace cg = ctx::grpc::internal;

constexpr char kMethod[] = "/ctxtest.TestService/Echo";

// Evictor writes one byte per cache line of a buffer, pushing out of the
// caches what the previous call left there, as gRPC's own work between two
// calls does in a server.
class Evictor {
 public:
  explicit Evictor(std::size_t bytes) : junk_(bytes) {}
  void Run() {
    for (std::size_t i = 0; i < junk_.size(); i += 64) ++junk_[i];
    benchmark::DoNotOptimize(junk_.data());
    benchmark::ClobberMemory();
  }

 private:
  std::vector<unsigned char> junk_;
};

// RunCalls runs the loop over `metadata` (the client's, as gRPC parsed it).
// With an evictor, it runs it between calls and times each call by hand
// (two clock reads included).
void RunCalls(benchmark::State& state, const cg::Metadata& metadata,
              Evictor* evictor = nullptr) {
  ctx::grpc::ServerOptions raw;
  raw.default_timeout = std::chrono::seconds(30);
  const ctx::grpc::ServerOptions options = cg::NormalizeOptions(raw);
  cg::SyncWatcher watcher;
  for (auto _ : state) {
    if (evictor != nullptr) evictor->Run();
    const auto start = std::chrono::steady_clock::now();
    grpc::CallbackServerContext sc;
    std::optional<cg::CallState> call;
    const ctx::TimePoint now = ctx::Clock::now();
    cg::BuiltCall built =
        cg::BuildCall(options, &sc, metadata, kMethod, /*generic=*/false,
                      /*echo=*/true, /*arrived=*/now, now);
    call.emplace(std::move(built.context), std::move(built.end_call),
                 built.deadline, built.deadline_slack, &sc,
                 /*callback_api=*/true, &watcher);
    cg::CallRegistry::Global().Insert(&*call);
    {
      const ctx::Context c = ctx::grpc::CallContext(&sc);
      benchmark::DoNotOptimize(c.Err());
      benchmark::DoNotOptimize(c.Value(ctx::kRequestIdKey));
    }
    watcher.Unwatch(&*call);
    call->End(cg::CallFinishedCause());
    cg::CallRegistry::Global().Erase(&*call);
    call.reset();
    if (evictor != nullptr) {
      state.SetIterationTime(std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count());
    }
  }
}

// A client that sends a valid request id (no echo, no generated id).
void BM_CallWithClientId(benchmark::State& state) {
  const std::string key = "x-request-id";
  const std::string id = "4bf92f3577b34da6a3ce929d0e0e4736";
  cg::Metadata metadata;
  metadata.emplace(grpc::string_ref(key), grpc::string_ref(id));
  RunCalls(state, metadata);
}
BENCHMARK(BM_CallWithClientId);

// The same call after `KiB` of other memory was written since the previous
// one: what the call costs once its code and data are no longer in the
// caches nearest the CPU (a server's case; the loop above keeps them there).
void BM_CallWithClientIdEvicted(benchmark::State& state) {
  const std::string key = "x-request-id";
  const std::string id = "4bf92f3577b34da6a3ce929d0e0e4736";
  cg::Metadata metadata;
  metadata.emplace(grpc::string_ref(key), grpc::string_ref(id));
  Evictor evictor(static_cast<std::size_t>(state.range(0)) << 10);
  RunCalls(state, metadata, &evictor);
}
BENCHMARK(BM_CallWithClientIdEvicted)
    ->ArgName("KiB")
    ->Arg(0)
    ->Arg(1024)
    ->Arg(4096)
    ->UseManualTime();

// A client that sends no metadata: the id is generated and echoed.
void BM_CallWithoutMetadata(benchmark::State& state) {
  RunCalls(state, cg::Metadata());
}
BENCHMARK(BM_CallWithoutMetadata);

// The loop's ServerContext alone: gRPC's part of each iteration, to take off
// the figures above.
void BM_ServerContextOnly(benchmark::State& state) {
  for (auto _ : state) {
    grpc::CallbackServerContext sc;
    benchmark::DoNotOptimize(&sc);
  }
}
BENCHMARK(BM_ServerContextOnly);

}  // namespace
