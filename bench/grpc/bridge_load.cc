// SPDX-License-Identifier: Apache-2.0
// bench/grpc/bridge_load.cc: load figures for the gRPC bridge (ctx::grpc), over
// loopback.
//
//   ctx_grpc_bridge_load echo   [--seconds=S] [--rounds=R] [--concurrency=C]
//                               [--qps=Q] [--echo_id=0|1] [--cap=0|1]
//                               [--trace=0|1] [--send_id=0|1] [--pin=0|1]
//                               [--own=0|1|2]
//   ctx_grpc_bridge_load cancel [--calls=N] [--busy=B]
//   ctx_grpc_bridge_load storm  [--calls=N] [--rounds=R] [--wake=0|1]
//                               [--callback=0|1]
//   ctx_grpc_bridge_load watch  [--calls=N] [--rounds=R] [--hold_us=H]
//   ctx_grpc_bridge_load disconnect [--calls=N]
//
// echo: unary Echo on callback servers in a child process (forked first, so
// its CPU time and allocations are the server's alone), one per variant: bare;
// with an interceptor that only proceeds (gRPC's interceptor machinery by
// itself); with the bridge's interceptor; with the bridge's interceptor-free
// path (bridge-free: MakeContextAllocator and UnaryReactorFor,
// ctx/grpc/callback_server.h). The client (this process) keeps C calls in
// flight and runs the variants in alternating rounds (bare, noop, bridge,
// bridge-free, bare, ...). Per variant it prints QPS and p50/p99 latency over
// its rounds, the server's CPU time (user + system) and heap allocations
// (malloc_count.h) per call, and the median and range over rounds of each
// round's QPS ratio to the bare round of the same cycle. The bridged handler
// also reads its context (CallContext, Err, request id), as real handlers do.
// --echo_id=0, --cap=0 and --trace=0 (ablations) run the bridge without
// echoing the request id, without the 5-minute deadline cap, and without
// starting a trace for a call that brings none (ServerOptions::
// echo_request_id, max_timeout, trace.start_trace). --send_id=1 makes the
// client send a valid x-request-id on every call, to every variant, as a caller
// inside a traced system does: the bridge then keeps the id and echoes nothing.
// By default the client sends none, and the bridge generates and echoes one per
// call.
// --pin=1 runs the server process on the last CPU and the client on the
// others, as if they were on separate machines: the client no longer takes
// the server's CPU or moves its threads, which otherwise makes a round's
// server CPU per call vary by microseconds.
// --qps=Q (open loop) starts Q calls a second on a fixed schedule instead of
// keeping C in flight, so every variant serves the same load below the
// server's peak. At its peak (the default, closed loop) a variant's CPU per
// call also depends on its own pace: a slower server writes fewer responses
// per sendmsg and wake-up, which adds gRPC and kernel time to each call.
// --own=1 also times, in the server, the no-op's and the bridge's interceptor
// code apart from the gRPC work around it, and the bridged handlers' reads of
// their context (own_time.h); prints p10/p50/p90/p99/mean ns per call and the
// slowest 1 %'s part of the mean. --own=2 also reads the server thread's
// preemptions and page faults around each timed span and counts the calls
// that had one apart (their system calls slow every call: it explains the
// tail of an --own=1 run, not its figures).
//
// cancel: for each server API (sync, callback, async), N calls one after
// another: once the handler has its context, the client cancels its own context
// (BoundClientContext -> TryCancel) and the time until the handler's context is
// done (stamped by an AfterFunc) is recorded; prints p50/p99. B threads spin
// on the CPU meanwhile (CPU contention).
//
// storm: N sync calls in flight on one bridged sync server, all under one
// client context; once every handler has its context the client cancels it,
// and the time from that cancel until each handler's context is done
// (stamped by an AfterFunc) is recorded; prints p50/p99/max over all handlers
// of R rounds. Also prints how long the client's cancel() itself took (it
// cancels every call in this process, on this thread). --callback=1 serves the
// calls with the callback API instead (gRPC's own floor for the storm);
// --wake=0 keeps the sync handlers asleep until the round ends (only the
// delivery is measured).
//
// watch: what watching a sync call for cancellation costs. N back-to-back
// unary calls to a bridged sync server whose handler holds the call H µs
// (sleeping), in alternating rounds: `plain` (the handler does not read its
// context: the call is never watched) and `watched` (it calls CallContext
// first, which enrolls the call with the watcher). Prints the process's CPU
// time (client and server) and heap allocations per call for each; their
// difference is the cost of CallContext and the watch.
//
// disconnect: a forked client process starts N sync calls on a bridged sync
// server and is killed (SIGKILL: the kernel closes its connection, nothing is
// canceled); prints the time from the kill until each handler's context is
// done, p50/p99/max.

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/callback_server.h"
#include "ctx/grpc/client_context.h"
#include "ctx/grpc/server_interceptor.h"
#include "ctx/grpc/status.h"
#include "ctx/propagation.h"
#include "ctx_test.grpc.pb.h"
#include "malloc_count.h"
#include "own_time.h"

namespace {

using Clock = std::chrono::steady_clock;
using Stub = ctxtest::TestService::Stub;

constexpr std::chrono::seconds kCap{30};

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// CpuSeconds returns the CPU time (user + system) this process has used.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// Percentile of sorted samples (nearest rank).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t i = static_cast<std::size_t>(
      p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

struct Server {
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  int port = 0;
};

// NoopInterceptor only proceeds: the cost of gRPC's interceptor machinery
// itself, without the bridge's work.
class NoopInterceptor final : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    m->Proceed();
  }
};

class NoopFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo*) override {
    return new NoopInterceptor;
  }
};

enum class Variant { kBare, kNoop, kBridged, kNoInterceptor };

// With `own`, the interceptor's own code is timed into it (own_time.h).
Server Start(grpc::Service* service, Variant variant,
             const ctx::grpc::ServerOptions& options, bool want_cq = false,
             bench::OwnTimes* own = nullptr) {
  grpc::ServerBuilder builder;
  Server s;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &s.port);
  builder.RegisterService(service);
  if (variant == Variant::kNoInterceptor) {
    builder.SetContextAllocator(ctx::grpc::MakeContextAllocator(options));
  } else if (variant != Variant::kBare) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        v;
    if (variant == Variant::kBridged) {
      v.push_back(ctx::grpc::MakeServerInterceptorFactory(options));
    } else {
      v.push_back(std::make_unique<NoopFactory>());
    }
    if (own != nullptr) v.back() = bench::TimeOwnCode(std::move(v.back()), own);
    builder.experimental().SetInterceptorCreators(std::move(v));
  }
  if (want_cq) s.cq = builder.AddCompletionQueue();
  s.server = builder.BuildAndStart();
  return s;
}

std::unique_ptr<Stub> Connect(int port) {
  return ctxtest::TestService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

// --- echo ---

class EchoService final : public ctxtest::TestService::CallbackService {
 public:
  // With `reads`, the handler's reads of its context are timed into it.
  explicit EchoService(bool bridged, bench::OwnTimes* reads = nullptr)
      : bridged_(bridged), reads_(reads) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* sc,
                                 const ctxtest::EchoRequest* q,
                                 ctxtest::EchoResponse* r) override {
    r->set_message(q->message());
    if (bridged_) {
      bench::OwnSpan span(reads_);
      const ctx::Context c = ctx::grpc::CallContext(sc);
      // Read what a handler reads, without changing the response's size
      // (the comparison is about the bridge, not the payload).
      const std::string* id = c.Value(ctx::kRequestIdKey);
      volatile bool live = !c.Err() && id != nullptr;
      (void)live;
    }
    // The bridge's own reactor on the interceptor-free path, else (bare, and
    // the interceptor's path) DefaultReactor.
    grpc::ServerUnaryReactor* reactor =
        bridged_ ? ctx::grpc::UnaryReactorFor(sc) : sc->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  const bool bridged_;
  bench::OwnTimes* const reads_;
};

struct RoundResult {
  std::vector<double> latencies_us;
  double seconds = 0;
};

// Runs `concurrency` chains of back-to-back calls for `length`; with
// `send_id`, every call carries a valid request id (one per chain).
RoundResult RunRound(Stub* stub, int concurrency, Clock::duration length,
                     bool send_id) {
  struct Chain {
    Stub* stub;
    std::string request_id;  // empty: none sent
    Clock::time_point end;
    std::unique_ptr<grpc::ClientContext> client;
    ctxtest::EchoRequest request;
    ctxtest::EchoResponse response;
    Clock::time_point start;
    std::vector<double> latencies_us;
    std::mutex* mu;
    std::condition_variable* cv;
    int* running;

    void Next() {
      client = std::make_unique<grpc::ClientContext>();
      if (!request_id.empty())
        client->AddMetadata(std::string(ctx::kRequestIdHeader), request_id);
      start = Clock::now();
      stub->async()->Echo(client.get(), &request, &response,
                          [this](grpc::Status s) {
                            const Clock::time_point now = Clock::now();
                            if (s.ok())
                              latencies_us.push_back(Micros(now - start));
                            if (now < end) {
                              Next();
                              return;
                            }
                            std::lock_guard<std::mutex> lock(*mu);
                            if (--*running == 0) cv->notify_all();
                          });
    }
  };
  std::mutex mu;
  std::condition_variable cv;
  int running = concurrency;
  const Clock::time_point begin = Clock::now();
  std::vector<std::unique_ptr<Chain>> chains;
  for (int i = 0; i < concurrency; ++i) {
    auto c = std::make_unique<Chain>();
    c->stub = stub;
    if (send_id) c->request_id = ctx::NewRequestId();
    c->end = begin + length;
    c->request.set_message("hello");
    c->mu = &mu;
    c->cv = &cv;
    c->running = &running;
    chains.push_back(std::move(c));
  }
  for (auto& c : chains) c->Next();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return running == 0; });
  }
  RoundResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  for (auto& c : chains) {
    r.latencies_us.insert(r.latencies_us.end(), c->latencies_us.begin(),
                          c->latencies_us.end());
  }
  return r;
}

// --- echo: servers in a child process ---

// The echo servers run in a forked child, so that the CPU time and the
// allocations measured there are the server's alone. The parent asks for a
// snapshot before and after each round over a pipe.
struct ServerSnapshot {
  double cpu_seconds = 0;  // the child's CPU time, user + system
  uint64_t mallocs = 0;    // the child's heap allocations (malloc_count.h)
};

constexpr int kEchoVariants = 4;
constexpr const char* kEchoNames[kEchoVariants] = {"bare", "noop-icpt",
                                                   "bridge", "bridge-free"};
// --own=1's figures (EchoServerProcess::OwnTimesTaken).
constexpr int kOwnFigures = 4;
constexpr const char* kOwnNames[kOwnFigures] = {
    "noop-icpt: interceptor", "bridge: interceptor", "bridge: handler reads",
    "bridge-free: handler reads (builds the context)"};

class EchoServerProcess {
 public:
  // Forks the child, which serves each variant on a port of its own. Call
  // before anything in this process touches gRPC.
  // With `pin`, the child runs on the last CPU and this process on the others.
  // With `own` 1 or 2, the server times the interceptors' own code and the
  // bridged handlers' reads of their context (see OwnTimesTaken); with 2 it
  // classifies the calls (bench::OwnTimes).
  EchoServerProcess(const ctx::grpc::ServerOptions& bridge_options, bool pin,
                    int own) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) Die("pipe");
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (pin && (cpus < 2 || cpus > CPU_SETSIZE)) {
      std::fprintf(stderr, "--pin=1 needs 2 to %d CPUs, this machine has %ld\n",
                   CPU_SETSIZE, cpus);
      std::exit(2);
    }
    pid_ = fork();
    if (pid_ < 0) Die("fork");
    // Before either process starts a thread: gRPC's threads inherit it.
    if (pin) PinTo(pid_ == 0 ? cpus - 1 : 0, pid_ == 0 ? cpus : cpus - 1);
    if (pid_ == 0) {
      close(to_child[1]);
      close(from_child[0]);
      Serve(to_child[0], from_child[1], bridge_options, own);  // never returns
    }
    close(to_child[0]);
    close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    ReadAll(from_child_, ports_, sizeof(ports_));
  }
  ~EchoServerProcess() {
    const char quit = 'q';
    (void)!write(to_child_, &quit, 1);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(to_child_);
    close(from_child_);
  }
  int port(int variant) const { return ports_[variant]; }
  // OwnTimesTaken returns, over all calls so far: the no-op interceptor's own
  // code, the bridge's, and the handler's reads of its context with the bridge
  // and with the bridge-free path (which builds the context there).
  std::array<bench::OwnTimes::Summary, kOwnFigures> OwnTimesTaken() {
    std::array<bench::OwnTimes::Summary, kOwnFigures> s;
    Ask('o', s.data(), sizeof(s));
    return s;
  }
  ServerSnapshot Snapshot() {
    ServerSnapshot s;
    Ask('s', &s, sizeof(s));
    return s;
  }

 private:
  // Ask sends the child `command` and reads its n-byte answer into `out`.
  void Ask(char command, void* out, std::size_t n) {
    if (write(to_child_, &command, 1) != 1) Die("write to server process");
    ReadAll(from_child_, out, n);
  }
  [[noreturn]] static void Die(const char* what) {
    std::perror(what);
    std::exit(1);
  }
  // PinTo keeps this thread, and the threads it starts, on CPUs [first, end).
  static void PinTo(long first, long end) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (long cpu = first; cpu < end; ++cpu)
      CPU_SET(static_cast<int>(cpu), &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) Die("sched_setaffinity");
  }
  static void ReadAll(int fd, void* out, std::size_t n) {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const ssize_t got = read(fd, p, n);
      if (got <= 0) Die("read from server process");
      p += got;
      n -= static_cast<std::size_t>(got);
    }
  }
  [[noreturn]] static void Serve(int in, int out,
                                 const ctx::grpc::ServerOptions& options,
                                 int own) {
    const bool classify = own == 2;
    std::array<bench::OwnTimes, kOwnFigures> times{
        {bench::OwnTimes(classify), bench::OwnTimes(classify),
         bench::OwnTimes(classify), bench::OwnTimes(classify)}};
    static_assert(kOwnFigures == 4);
    const auto timed = [&](int i) { return own != 0 ? &times[i] : nullptr; };
    EchoService bare(false), noop(false), bridged(true, timed(2)),
        free(true, timed(3));
    Server servers[kEchoVariants] = {
        Start(&bare, Variant::kBare, {}),
        Start(&noop, Variant::kNoop, {}, false, timed(0)),
        Start(&bridged, Variant::kBridged, options, false, timed(1)),
        Start(&free, Variant::kNoInterceptor, options)};
    int ports[kEchoVariants];
    for (int v = 0; v < kEchoVariants; ++v) ports[v] = servers[v].port;
    if (write(out, ports, sizeof(ports)) != sizeof(ports)) Die("write ports");
    char command;
    while (read(in, &command, 1) == 1 && (command == 's' || command == 'o')) {
      if (command == 'o') {
        std::array<bench::OwnTimes::Summary, kOwnFigures> o;
        for (int i = 0; i < kOwnFigures; ++i) o[i] = times[i].Summarize();
        if (write(out, o.data(), sizeof(o)) != sizeof(o)) Die("write times");
        continue;
      }
      ServerSnapshot s{CpuSeconds(), bench::Mallocs()};
      if (write(out, &s, sizeof(s)) != sizeof(s)) Die("write snapshot");
    }
    for (Server& s : servers)
      s.server->Shutdown(std::chrono::system_clock::now());
    std::_Exit(0);
  }

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  int ports_[kEchoVariants] = {};
};

// Runs an open loop for `length`: one thread starts calls at `qps` a second
// on a fixed schedule (a late wake-up starts every call that has come due),
// whatever the server's pace, with at most kMaxInFlight in flight (beyond
// that the round falls behind its schedule and says so: its QPS is below
// `qps`). Every variant then serves the same load, so its CPU per call is its
// work per call, not also how well its calls batch at its own peak.
RoundResult RunPacedRound(Stub* stub, int qps, Clock::duration length,
                          bool send_id) {
  constexpr int kMaxInFlight = 4096;
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    std::vector<double> latencies_us;
  } shared;
  struct Call {
    grpc::ClientContext client;
    ctxtest::EchoRequest request;
    ctxtest::EchoResponse response;
    Clock::time_point start;
  };
  const std::string request_id = send_id ? ctx::NewRequestId() : "";
  const Clock::time_point begin = Clock::now();
  const Clock::time_point end = begin + length;
  const Clock::duration interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) /
      qps;
  int64_t started = 0;
  for (Clock::time_point now = begin; now < end; now = Clock::now()) {
    const int64_t due = (now - begin) / interval + 1;
    for (; started < due; ++started) {
      {
        std::unique_lock<std::mutex> lock(shared.mu);
        if (shared.in_flight >= kMaxInFlight) break;
        ++shared.in_flight;
      }
      auto* call = new Call;
      if (!request_id.empty())
        call->client.AddMetadata(std::string(ctx::kRequestIdHeader),
                                 request_id);
      call->request.set_message("hello");
      call->start = Clock::now();
      stub->async()->Echo(&call->client, &call->request, &call->response,
                          [call, &shared](grpc::Status s) {
                            const double us =
                                Micros(Clock::now() - call->start);
                            delete call;
                            std::lock_guard<std::mutex> lock(shared.mu);
                            if (s.ok()) shared.latencies_us.push_back(us);
                            if (--shared.in_flight == 0) shared.cv.notify_all();
                          });
    }
    std::this_thread::sleep_until(begin + started * interval);
  }
  std::unique_lock<std::mutex> lock(shared.mu);
  shared.cv.wait(lock, [&] { return shared.in_flight == 0; });
  RoundResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  r.latencies_us = std::move(shared.latencies_us);
  return r;
}

int RunEcho(int seconds, int rounds, int concurrency, int qps, bool send_id,
            bool pin, int own, const ctx::grpc::ServerOptions& bridge_options) {
  EchoServerProcess server_process(bridge_options, pin, own);
  std::unique_ptr<Stub> stubs[kEchoVariants];
  for (int v = 0; v < kEchoVariants; ++v) {
    stubs[v] = Connect(server_process.port(v));
    // Warm up each connection (and the server's pools).
    RunRound(stubs[v].get(), concurrency, std::chrono::milliseconds(500),
             send_id);
  }

  std::vector<double> lat[kEchoVariants];
  double secs[kEchoVariants] = {};
  double server_cpu[kEchoVariants] = {};  // server CPU seconds in its rounds
  double mallocs[kEchoVariants] = {};     // server allocations in its rounds
  std::vector<double> round_qps[kEchoVariants];
  std::vector<double> round_cpu_us[kEchoVariants];  // server CPU us per call
  for (int i = 0; i < kEchoVariants * rounds; ++i) {
    const int v = i % kEchoVariants;  // bare, noop, bridge, free, bare, ...
    const ServerSnapshot before = server_process.Snapshot();
    RoundResult r = qps > 0
                        ? RunPacedRound(stubs[v].get(), qps,
                                        std::chrono::seconds(seconds), send_id)
                        : RunRound(stubs[v].get(), concurrency,
                                   std::chrono::seconds(seconds), send_id);
    const ServerSnapshot after = server_process.Snapshot();
    server_cpu[v] += after.cpu_seconds - before.cpu_seconds;
    mallocs[v] += static_cast<double>(after.mallocs - before.mallocs);
    round_qps[v].push_back(static_cast<double>(r.latencies_us.size()) /
                           r.seconds);
    round_cpu_us[v].push_back(
        1e6 * (after.cpu_seconds - before.cpu_seconds) /
        std::max<double>(1, static_cast<double>(r.latencies_us.size())));
    secs[v] += r.seconds;
    lat[v].insert(lat[v].end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  std::printf(
      "unary echo, callback server in a child process, loopback, %s %d, %d x "
      "%d s rounds per variant, alternating, client %s%s\n",
      qps > 0 ? "open loop at QPS" : "concurrency", qps > 0 ? qps : concurrency,
      rounds, seconds, send_id ? "sends a request id" : "sends no request id",
      pin ? ", server and client pinned to CPUs of their own" : "");
  std::printf("%-10s %9s %8s %8s %8s %9s %9s  %s\n", "variant", "QPS", "p50 us",
              "p99 us", "srv CPU", "mallocs", "QPS/bare",
              "(per-round ratio: median, range)");
  std::printf("%-10s %9s %8s %8s %8s %9s %9s\n", "", "", "", "", "us/call",
              "/call", "median");
  for (int v = 0; v < kEchoVariants; ++v) {
    std::sort(lat[v].begin(), lat[v].end());
    const double calls = static_cast<double>(lat[v].size());
    // Round i of each variant ran right after bare's round i: their ratio is
    // less exposed to other load on the machine than the ratio of the sums.
    std::vector<double> ratios;
    for (int i = 0; i < rounds; ++i)
      ratios.push_back(100.0 * round_qps[v][i] / round_qps[0][i]);
    std::sort(ratios.begin(), ratios.end());
    std::printf("%-10s %9.0f %8.1f %8.1f %8.2f %9.1f %8.1f%%  (%.1f-%.1f %%)\n",
                kEchoNames[v], calls / secs[v], Percentile(lat[v], 0.50),
                Percentile(lat[v], 0.99), 1e6 * server_cpu[v] / calls,
                mallocs[v] / calls, Percentile(ratios, 0.5), ratios.front(),
                ratios.back());
  }
  // A variant's CPU over its reference, per cycle: the two rounds ran next to
  // each other, so a slow spell of the machine shifts both.
  std::printf(
      "server CPU per call over the reference, per cycle: median "
      "(range), us\n");
  const int kOver[][2] = {{1, 0}, {2, 1}, {3, 0}};
  for (const auto& [v, ref] : kOver) {
    std::vector<double> d;
    for (int i = 0; i < rounds; ++i)
      d.push_back(round_cpu_us[v][i] - round_cpu_us[ref][i]);
    std::sort(d.begin(), d.end());
    std::printf("  %-11s over %-9s %6.2f  (%.2f to %.2f)\n", kEchoNames[v],
                kEchoNames[ref], Percentile(d, 0.5), d.front(), d.back());
  }
  if (own != 0) {
    // Includes the warm-up calls.
    std::printf(
        "own code per call, ns (time-stamp counter, own_time.h; the timing "
        "also adds to the CPU figures above):\n");
    std::printf("  %-48s %9s %7s %7s %7s %7s %7s %8s\n", "", "calls", "p10",
                "p50", "p90", "p99", "mean", "top 1 %");
    const auto taken = server_process.OwnTimesTaken();
    for (int i = 0; i < kOwnFigures; ++i) {
      std::printf("  %-48s %9llu %7.0f %7.0f %7.0f %7.0f %7.0f %8.0f\n",
                  kOwnNames[i], static_cast<unsigned long long>(taken[i].calls),
                  taken[i].p10, taken[i].p50, taken[i].p90, taken[i].p99,
                  taken[i].mean, taken[i].top1_share);
    }
    if (own == 2) {
      std::printf(
          "calls set apart above (--own=2): preempted or faulting inside a "
          "span, count and mean ns:\n");
      for (int i = 0; i < kOwnFigures; ++i) {
        std::printf("  %-48s preempted %6llu %9.0f   faulted %6llu %9.0f\n",
                    kOwnNames[i],
                    static_cast<unsigned long long>(taken[i].preempted),
                    taken[i].preempted_mean,
                    static_cast<unsigned long long>(taken[i].faulted),
                    taken[i].faulted_mean);
      }
    }
  }
  return 0;
}

// --- cancel latency ---

// Slot hands the handler's context to the client and stamps when it ends.
class Slot {
 public:
  void Publish(const ctx::Context& c) {
    (void)ctx::AfterFunc(c, [this] {
      std::lock_guard<std::mutex> lock(mu_);
      done_at_ = Clock::now();
      cv_.notify_all();
    });
    std::lock_guard<std::mutex> lock(mu_);
    published_ = true;
    cv_.notify_all();
  }
  bool WaitPublished() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kCap, [this] { return published_; });
  }
  std::optional<Clock::time_point> WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kCap, [this] { return done_at_.has_value(); }))
      return std::nullopt;
    return done_at_;
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    published_ = false;
    done_at_.reset();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool published_ = false;
  std::optional<Clock::time_point> done_at_;
};

// Executor runs posted functions on a thread of its own (callback handlers
// finish there).
class Executor {
 public:
  Executor() : thread_([this] { Loop(); }) {}
  ~Executor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Post(std::function<void()> f) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(f));
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto f = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      f();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

class SyncWait final : public ctxtest::TestService::Service {
 public:
  explicit SyncWait(Slot* slot) : slot_(slot) {}
  grpc::Status Echo(grpc::ServerContext* sc, const ctxtest::EchoRequest*,
                    ctxtest::EchoResponse*) override {
    const ctx::Context c = ctx::grpc::CallContext(sc);
    slot_->Publish(c);
    (void)c.Done().WaitFor(kCap);
    return ctx::grpc::StatusFromContext(c);
  }

 private:
  Slot* const slot_;
};

class CallbackWait final : public ctxtest::TestService::CallbackService {
 public:
  CallbackWait(Slot* slot, Executor* executor)
      : slot_(slot), executor_(executor) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* sc,
                                 const ctxtest::EchoRequest*,
                                 ctxtest::EchoResponse*) override {
    grpc::ServerUnaryReactor* reactor = sc->DefaultReactor();
    const ctx::Context c = ctx::grpc::CallContext(sc);
    slot_->Publish(c);
    Executor* executor = executor_;
    (void)ctx::AfterFunc(c, [executor, reactor, c] {
      executor->Post(
          [reactor, c] { reactor->Finish(ctx::grpc::StatusFromContext(c)); });
    });
    return reactor;
  }

 private:
  Slot* const slot_;
  Executor* const executor_;
};

// AsyncWait serves one waiting Echo at a time on a completion-queue thread.
class AsyncWait {
 public:
  AsyncWait(Slot* slot, const ctx::grpc::ServerOptions& options) : slot_(slot) {
    server_ = Start(&service_, Variant::kBridged, options, /*want_cq=*/true);
    Request();
    thread_ = std::thread([this] { Loop(); });
  }
  ~AsyncWait() {
    server_.server->Shutdown(std::chrono::system_clock::now());
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    server_.cq->Shutdown();
    thread_.join();
    for (Call* c : live_) delete c;
  }
  int port() const { return server_.port; }

 private:
  struct Call {
    grpc::ServerContext sc;
    ctxtest::EchoRequest request;
    ctxtest::EchoResponse response;
    grpc::ServerAsyncResponseWriter<ctxtest::EchoResponse> responder{&sc};
    grpc::Alarm alarm;
    ctx::Context context;
    int step = 0;  // 0 requested, 1 waiting, 2 finishing
  };
  void Request() {
    auto* c = new Call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        delete c;
        return;
      }
      live_.push_back(c);
    }
    service_.RequestEcho(&c->sc, &c->request, &c->responder, server_.cq.get(),
                         server_.cq.get(), c);
  }
  void Forget(Call* c) {
    live_.erase(std::find(live_.begin(), live_.end(), c));
    delete c;
  }
  void Loop() {
    void* tag;
    bool ok;
    while (server_.cq->Next(&tag, &ok)) {
      auto* c = static_cast<Call*>(tag);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || !ok || c->step == 2) {
          Forget(c);
          continue;
        }
      }
      if (c->step == 0) {
        Request();
        c->context = ctx::grpc::CallContext(&c->sc);
        c->step = 1;
        slot_->Publish(c->context);
        (void)ctx::AfterFunc(c->context, [this, c] {
          std::lock_guard<std::mutex> lock(mu_);
          if (!stopping_)
            c->alarm.Set(server_.cq.get(), std::chrono::system_clock::now(), c);
        });
      } else {
        c->step = 2;
        c->responder.Finish(c->response,
                            ctx::grpc::StatusFromContext(c->context), c);
      }
    }
  }

  Slot* const slot_;
  ctxtest::TestService::AsyncService service_;
  Server server_;
  std::mutex mu_;
  bool stopping_ = false;
  std::vector<Call*> live_;
  std::thread thread_;
};

// Busy spins `n` threads until destroyed (CPU contention for `cancel`).
class Busy {
 public:
  explicit Busy(int n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        while (!stop_.load(std::memory_order_relaxed)) {
        }
      });
    }
  }
  ~Busy() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

// MeasureCancel runs `calls` wait-then-cancel rounds against the server on
// `port`.
std::vector<double> MeasureCancel(int port, Slot* slot, int calls) {
  auto stub = Connect(port);
  std::vector<double> us;
  for (int i = 0; i < calls; ++i) {
    slot->Reset();
    auto [c, cancel] = ctx::WithCancel(ctx::Background());
    ctx::grpc::BoundClientContext call(c);
    ctxtest::EchoRequest request;
    ctxtest::EchoResponse response;
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false;
    stub->async()->Echo(call.get(), &request, &response, [&](grpc::Status) {
      std::lock_guard<std::mutex> lock(mu);
      finished = true;
      cv.notify_all();
    });
    if (!slot->WaitPublished()) {
      std::fprintf(stderr, "handler never started\n");
      std::exit(1);
    }
    const Clock::time_point t0 = Clock::now();
    cancel();
    std::optional<Clock::time_point> t1 = slot->WaitDone();
    if (!t1) {
      std::fprintf(stderr, "server context never ended\n");
      std::exit(1);
    }
    us.push_back(Micros(*t1 - t0));
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, kCap, [&] { return finished; })) {
      std::fprintf(stderr, "call never completed\n");
      std::exit(1);
    }
  }
  std::sort(us.begin(), us.end());
  return us;
}

int RunCancel(int calls, int busy) {
  const Busy spinners(busy);
  const ctx::grpc::ServerOptions options;
  std::printf(
      "client TryCancel -> handler's context done, %d calls per API, %d "
      "spinning threads\n",
      calls, busy);
  std::printf("%-10s %10s %10s %10s\n", "server API", "p50 us", "p99 us",
              "max us");
  auto print = [](const char* name, const std::vector<double>& us) {
    std::printf("%-10s %10.0f %10.0f %10.0f\n", name, Percentile(us, 0.5),
                Percentile(us, 0.99), us.empty() ? 0.0 : us.back());
  };
  {
    Slot slot;
    SyncWait service(&slot);
    Server s = Start(&service, Variant::kBridged, options);
    print("sync", MeasureCancel(s.port, &slot, calls));
    s.server->Shutdown(std::chrono::system_clock::now());
  }
  {
    Slot slot;
    Executor executor;
    CallbackWait service(&slot, &executor);
    Server s = Start(&service, Variant::kBridged, options);
    print("callback", MeasureCancel(s.port, &slot, calls));
    s.server->Shutdown(std::chrono::system_clock::now());
  }
  {
    Slot slot;
    AsyncWait server(&slot, options);
    print("async", MeasureCancel(server.port(), &slot, calls));
  }
  return 0;
}

// --- storm ---

// StormStamps records when each storm handler's context ends.
class StormStamps {
 public:
  // Enroll stamps c's end, then runs then() on the canceling thread; returns
  // the handler's index.
  std::size_t Enroll(const ctx::Context& c, std::function<void()> then) {
    std::size_t i;
    {
      std::lock_guard<std::mutex> lock(mu_);
      i = done_at_.size();
      done_at_.emplace_back();
    }
    (void)ctx::AfterFunc(c, [this, i, then = std::move(then)] {
      const Clock::time_point now = Clock::now();
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_at_[i] = now;
        // Wake the waiters once, when the last context is done: a wake per
        // stamp would make the stamps contend with the waiters.
        if (++done_ == done_at_.size()) ended_.notify_all();
      }
      if (then) then();
    });
    started_.notify_all();
    return i;
  }
  // WaitStamped waits until every enrolled handler's context end is stamped
  // (one wake per handler, not one per stamp).
  void WaitStamped() {
    std::unique_lock<std::mutex> lock(mu_);
    ended_.wait_for(lock, kCap, [&] { return done_ == done_at_.size(); });
  }
  // WaitStarted waits until n handlers have their context.
  bool WaitStarted(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return started_.wait_for(lock, kCap, [&] { return done_at_.size() >= n; });
  }
  // TakeStamps waits until every started handler's context is done, returns
  // the stamps and forgets them.
  std::optional<std::vector<Clock::time_point>> TakeStamps() {
    std::unique_lock<std::mutex> lock(mu_);
    const bool all =
        ended_.wait_for(lock, kCap, [&] { return done_ == done_at_.size(); });
    if (!all) return std::nullopt;
    std::vector<Clock::time_point> stamps;
    for (const auto& t : done_at_) stamps.push_back(*t);
    done_at_.clear();
    done_ = 0;
    return stamps;
  }

 private:
  std::mutex mu_;
  // Separate wakes for the round's start and end: the handlers wait for the
  // end, and a wake of all of them per started handler would still be
  // running when the cancels arrive.
  std::condition_variable started_;
  std::condition_variable ended_;
  std::vector<std::optional<Clock::time_point>> done_at_;
  std::size_t done_ = 0;  // how many of done_at_ are set
};

// StormWait is a sync service whose Echo stamps when its context ends and
// waits for that.
class StormWait final : public ctxtest::TestService::Service {
 public:
  // wake: whether a handler waits on its context (and so wakes when it ends)
  // or on the round's end (so only the delivery of the cancels is measured).
  StormWait(StormStamps* stamps, bool wake) : stamps_(stamps), wake_(wake) {}
  grpc::Status Echo(grpc::ServerContext* sc, const ctxtest::EchoRequest*,
                    ctxtest::EchoResponse*) override {
    const ctx::Context c = ctx::grpc::CallContext(sc);
    (void)stamps_->Enroll(c, nullptr);
    if (wake_) (void)c.Done().WaitFor(kCap);
    // The stamp may still be running: wait for it before the call ends.
    stamps_->WaitStamped();
    return ctx::grpc::StatusFromContext(c);
  }

 private:
  StormStamps* const stamps_;
  const bool wake_;
};

// StormCallback is the callback API's StormWait: no handler thread waits;
// the stamp posts the reactor's Finish to an executor thread.
class StormCallback final : public ctxtest::TestService::CallbackService {
 public:
  StormCallback(StormStamps* stamps, Executor* executor)
      : stamps_(stamps), executor_(executor) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* sc,
                                 const ctxtest::EchoRequest*,
                                 ctxtest::EchoResponse*) override {
    grpc::ServerUnaryReactor* reactor = sc->DefaultReactor();
    const ctx::Context c = ctx::grpc::CallContext(sc);
    Executor* executor = executor_;
    (void)stamps_->Enroll(c, [executor, reactor, c] {
      executor->Post(
          [reactor, c] { reactor->Finish(ctx::grpc::StatusFromContext(c)); });
    });
    return reactor;
  }

 private:
  StormStamps* const stamps_;
  Executor* const executor_;
};

int RunStorm(int calls, int rounds, bool wake, bool callback) {
  const ctx::grpc::ServerOptions options;
  StormStamps storm;
  Executor executor;
  StormWait sync_service(&storm, wake);
  StormCallback callback_service(&storm, &executor);
  grpc::Service* service = &sync_service;
  if (callback) service = &callback_service;
  grpc::ServerBuilder builder;
  Server s;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &s.port);
  builder.RegisterService(service);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      v;
  v.push_back(ctx::grpc::MakeServerInterceptorFactory(options));
  builder.experimental().SetInterceptorCreators(std::move(v));
  s.server = builder.BuildAndStart();
  auto stub = Connect(s.port);
  std::printf(
      "client cancels %d sync calls at once -> each handler's context done, "
      "%d rounds, %s API, sync handlers %s\n",
      calls, rounds, callback ? "callback" : "sync",
      wake ? "wake when their context ends" : "stay asleep");
  std::vector<double> us;
  std::vector<double> cancel_ms;  // how long each round's cancel() took
  for (int r = 0; r < rounds; ++r) {
    auto [c, cancel] = ctx::WithCancel(ctx::Background());
    std::vector<std::unique_ptr<ctx::grpc::BoundClientContext>> clients;
    std::vector<ctxtest::EchoRequest> requests(calls);
    std::vector<ctxtest::EchoResponse> responses(calls);
    std::mutex mu;
    std::condition_variable cv;
    int finished = 0;
    for (int i = 0; i < calls; ++i) {
      clients.push_back(std::make_unique<ctx::grpc::BoundClientContext>(c));
      stub->async()->Echo(clients.back()->get(), &requests[i], &responses[i],
                          [&](grpc::Status) {
                            std::lock_guard<std::mutex> lock(mu);
                            ++finished;
                            cv.notify_all();
                          });
    }
    if (!storm.WaitStarted(calls)) {
      std::fprintf(stderr, "handlers never all started\n");
      std::exit(1);
    }
    const Clock::time_point t0 = Clock::now();
    cancel();
    cancel_ms.push_back(Micros(Clock::now() - t0) / 1000);
    std::optional<std::vector<Clock::time_point>> stamps = storm.TakeStamps();
    if (!stamps) {
      std::fprintf(stderr, "a server context never ended\n");
      std::exit(1);
    }
    for (Clock::time_point t : *stamps) us.push_back(Micros(t - t0));
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, kCap, [&] { return finished == calls; })) {
      std::fprintf(stderr, "calls never completed\n");
      std::exit(1);
    }
  }
  std::sort(us.begin(), us.end());
  std::printf("%10s %10s %10s\n", "p50 us", "p99 us", "max us");
  std::printf("%10.0f %10.0f %10.0f\n", Percentile(us, 0.5),
              Percentile(us, 0.99), us.empty() ? 0.0 : us.back());
  std::printf("client cancel() took (ms):");
  for (double ms : cancel_ms) std::printf(" %.0f", ms);
  std::printf("\n");
  s.server->Shutdown(std::chrono::system_clock::now());
  return 0;
}

// --- watch cost ---

// HoldService is a sync service whose Echo reads its context first when the
// action is "watched", then sleeps hold_us.
class HoldService final : public ctxtest::TestService::Service {
 public:
  explicit HoldService(int hold_us)
      : hold_(std::chrono::microseconds(hold_us)) {}
  grpc::Status Echo(grpc::ServerContext* sc, const ctxtest::EchoRequest* q,
                    ctxtest::EchoResponse*) override {
    if (q->action() == "watched") {
      const ctx::Context c = ctx::grpc::CallContext(sc);
      if (c.Err()) return ctx::grpc::StatusFromContext(c);
    }
    if (hold_.count() > 0) std::this_thread::sleep_for(hold_);
    return grpc::Status::OK;
  }

 private:
  const std::chrono::microseconds hold_;
};

int RunWatch(int calls, int rounds, int hold_us) {
  HoldService service(hold_us);
  Server s = Start(&service, Variant::kBridged, ctx::grpc::ServerOptions{});
  auto stub = Connect(s.port);
  std::printf(
      "sync unary calls held %d us, %d calls x %d rounds per side, "
      "alternating; process CPU and mallocs per call (client + server)\n",
      hold_us, calls, rounds);
  const char* const kNames[] = {"plain", "watched"};
  double cpu[2] = {};
  double mallocs[2] = {};
  for (int r = 0; r < rounds; ++r) {
    for (int side = 0; side < 2; ++side) {
      ctxtest::EchoRequest request;
      request.set_action(kNames[side]);
      const double cpu0 = CpuSeconds();
      const uint64_t m0 = bench::Mallocs();
      for (int i = 0; i < calls; ++i) {
        grpc::ClientContext client;
        ctxtest::EchoResponse response;
        const grpc::Status st = stub->Echo(&client, request, &response);
        if (!st.ok()) {
          std::fprintf(stderr, "call failed: %s\n", st.error_message().c_str());
          return 1;
        }
      }
      cpu[side] += CpuSeconds() - cpu0;
      mallocs[side] += static_cast<double>(bench::Mallocs() - m0);
    }
  }
  const double n = static_cast<double>(calls) * rounds;
  std::printf("%-8s %14s %14s\n", "side", "CPU us/call", "mallocs/call");
  for (int side = 0; side < 2; ++side) {
    std::printf("%-8s %14.1f %14.1f\n", kNames[side], 1e6 * cpu[side] / n,
                mallocs[side] / n);
  }
  std::printf("%-8s %14.1f %14.1f\n", "diff", 1e6 * (cpu[1] - cpu[0]) / n,
              (mallocs[1] - mallocs[0]) / n);
  s.server->Shutdown(std::chrono::system_clock::now());
  return 0;
}

// --- disconnect ---

int RunDisconnect(int calls) {
  // Fork before this process touches gRPC: the child is a plain client.
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return 1;
  const pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    int port = 0;
    if (read(to_child[0], &port, sizeof(port)) != sizeof(port)) _exit(1);
    auto stub = Connect(port);
    std::vector<grpc::ClientContext> clients(calls);
    std::vector<ctxtest::EchoRequest> requests(calls);
    std::vector<ctxtest::EchoResponse> responses(calls);
    for (int i = 0; i < calls; ++i) {
      stub->async()->Echo(&clients[i], &requests[i], &responses[i],
                          [](grpc::Status) {});
    }
    const char started = 's';
    (void)!write(from_child[1], &started, 1);
    for (;;) pause();  // until killed
  }
  const ctx::grpc::ServerOptions options;
  StormStamps storm;
  StormWait service(&storm, /*wake=*/true);
  Server s = Start(&service, Variant::kBridged, options);
  (void)!write(to_child[1], &s.port, sizeof(s.port));
  char started = 0;
  if (read(from_child[0], &started, 1) != 1 || !storm.WaitStarted(calls)) {
    std::fprintf(stderr, "handlers never all started\n");
    kill(pid, SIGKILL);
    return 1;
  }
  std::printf(
      "client process with %d sync calls in flight killed -> each handler's "
      "context done\n",
      calls);
  const Clock::time_point t0 = Clock::now();
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::optional<std::vector<Clock::time_point>> stamps = storm.TakeStamps();
  if (!stamps) {
    std::fprintf(stderr, "a server context never ended\n");
    return 1;
  }
  std::vector<double> us;
  for (Clock::time_point t : *stamps) us.push_back(Micros(t - t0));
  std::sort(us.begin(), us.end());
  std::printf("%10s %10s %10s\n", "p50 us", "p99 us", "max us");
  std::printf("%10.0f %10.0f %10.0f\n", Percentile(us, 0.5),
              Percentile(us, 0.99), us.back());
  s.server->Shutdown(std::chrono::system_clock::now());
  return 0;
}

int Flag(int argc, char** argv, const char* name, int fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return std::atoi(argv[i] + prefix.size());
    }
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "echo") {
    // Ablations: the bridge without the request-id echo, or without its
    // deadline cap (no timer per call).
    ctx::grpc::ServerOptions bridge_options;
    bridge_options.echo_request_id = Flag(argc, argv, "echo_id", 1) != 0;
    if (Flag(argc, argv, "cap", 1) == 0) bridge_options.max_timeout.reset();
    bridge_options.trace.start_trace = Flag(argc, argv, "trace", 1) != 0;
    const int own = Flag(argc, argv, "own", 0);
    if (own < 0 || own > 2) {
      std::fprintf(stderr, "--own must be 0, 1 or 2\n");
      return 2;
    }
    return RunEcho(
        Flag(argc, argv, "seconds", 3), Flag(argc, argv, "rounds", 3),
        Flag(argc, argv, "concurrency", 32), Flag(argc, argv, "qps", 0),
        Flag(argc, argv, "send_id", 0) != 0, Flag(argc, argv, "pin", 0) != 0,
        own, bridge_options);
  }
  if (mode == "cancel") {
    return RunCancel(Flag(argc, argv, "calls", 200),
                     Flag(argc, argv, "busy", 0));
  }
  if (mode == "storm") {
    return RunStorm(
        Flag(argc, argv, "calls", 1000), Flag(argc, argv, "rounds", 3),
        Flag(argc, argv, "wake", 1) != 0, Flag(argc, argv, "callback", 0) != 0);
  }
  if (mode == "disconnect") {
    return RunDisconnect(Flag(argc, argv, "calls", 100));
  }
  if (mode == "watch") {
    return RunWatch(Flag(argc, argv, "calls", 5000),
                    Flag(argc, argv, "rounds", 3),
                    Flag(argc, argv, "hold_us", 0));
  }
  std::fprintf(
      stderr,
      "usage: %s echo [--seconds=S] [--rounds=R] [--concurrency=C] "
      "[--qps=Q]\n"
      "                 [--echo_id=0|1] [--cap=0|1] [--trace=0|1] "
      "[--send_id=0|1] [--pin=0|1] [--own=0|1|2]\n"
      "       %s cancel [--calls=N] [--busy=B]\n"
      "       %s storm [--calls=N] [--rounds=R] [--wake=0|1] [--callback=0|1]\n"
      "       %s watch [--calls=N] [--rounds=R] [--hold_us=H]\n"
      "       %s disconnect [--calls=N]\n",
      argv[0], argv[0], argv[0], argv[0], argv[0]);
  return 2;
}
