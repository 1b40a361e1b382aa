// SPDX-License-Identifier: Apache-2.0
// ctx_http_client_bench: what a ctx::http::Client call costs over the same
// call through httplib::Client: keep-alive GETs of a 5-byte body from a bare
// httplib::Server on loopback, in this process (its threads share the CPUs).
//
//   ctx_http_client_bench --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true   (one line)
//
// Random interleaving runs the repetitions of the variants in a shuffled
// order, so a change in the machine's load falls on every side. Time is wall
// time per call (UseRealTime); "CPU" is the calling thread's, which is where
// the client's own work runs. "mallocs" counts the whole process's heap
// allocations per call, the server's included (the same on every side).
//
// Variants: httplib::Client; ctx::http::Client with a context that has a
// deadline (so every call sends X-Request-Timeout) and a request id, with
// redirects not followed (follow:0) and followed (follow:1, where the call
// keeps a copy of its request for a next hop; no redirect is sent).

#include <benchmark/benchmark.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "ctx/context.h"
#include "ctx/http/client.h"
#include "ctx/propagation.h"
#include "malloc_count.h"

namespace {

// HelloServer serves GET /hello on an ephemeral loopback port, for the whole
// run.
class HelloServer {
 public:
  HelloServer() {
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(1'000'000'000);
    server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (port_ >= 0 && !server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HelloServer() {
    server_.stop();
    thread_.join();
  }
  HelloServer(const HelloServer&) = delete;
  HelloServer& operator=(const HelloServer&) = delete;

  [[nodiscard]] int port() const { return port_; }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
};

HelloServer& Server() {
  static HelloServer server;
  return server;
}

// Calls runs `call` (true: a 200 with the body) once per iteration and
// reports the process's allocations per call.
template <class Call>
void Calls(benchmark::State& state, Call call) {
  if (Server().port() < 0 || !call()) {  // also opens the connection
    state.SkipWithError("no answer from the server");
    return;
  }
  const uint64_t before = bench::Mallocs();
  for (auto _ : state) {
    if (!call()) {
      state.SkipWithError("a call failed");
      break;
    }
  }
  state.counters["mallocs"] =
      benchmark::Counter(static_cast<double>(bench::Mallocs() - before),
                         benchmark::Counter::kAvgIterations);
}

void BM_HttplibClient(benchmark::State& state) {
  httplib::Client client("127.0.0.1", Server().port());
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  Calls(state, [&] {
    httplib::Result r = client.Get("/hello");
    return r && r->status == 200 && r->body == "hello";
  });
}
BENCHMARK(BM_HttplibClient)->UseRealTime();

void BM_CtxClient(benchmark::State& state) {
  ctx::http::Client client("127.0.0.1", Server().port());
  client.httplib_client().set_keep_alive(true);
  client.httplib_client().set_tcp_nodelay(true);
  client.httplib_client().set_follow_location(state.range(0) != 0);
  ctx::ContextAndCancel timed =
      ctx::WithTimeout(ctx::Background(), std::chrono::minutes(10));
  const ctx::Context c = ctx::WithValue(timed.context, ctx::kRequestIdKey,
                                        std::string("bench-request-id-1"));
  Calls(state, [&] {
    ctx::http::Result r = client.Get(c, "/hello");
    return r.ok() && r->status == 200 && r->body == "hello";
  });
}
BENCHMARK(BM_CtxClient)->ArgName("follow")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
