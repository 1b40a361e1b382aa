// SPDX-License-Identifier: Apache-2.0
// bench/grpc/own_time.h: how long a server interceptor's own code runs per
// call, apart from the gRPC work around it.
//
// TimeOwnCode wraps an interceptor factory. Each interceptor it makes runs
// inside a wrapper that reads the CPU's time-stamp counter around every hook
// and around the interceptor's destruction, and pauses across the hook's
// Proceed() (gRPC's own work, and for sync and callback calls the handler,
// nested in it). What is left is the interceptor's code, including the gRPC
// functions it calls itself (GetRecvInitialMetadata filling its map, say). The
// cost of reading the counter is measured once and taken off each timed span.
//
// The figure is wall time between the reads, on the thread that runs the hook:
// a preemption inside a span is counted in it. The median over calls is not
// moved by the few calls preempted there; the mean is. Code after a hook's
// Proceed() is not timed (the interceptor may be gone by then); the bridge has
// none. Bench only.
#ifndef CTX_BENCH_GRPC_OWN_TIME_H_
#define CTX_BENCH_GRPC_OWN_TIME_H_

#include <grpcpp/support/server_interceptor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace bench {

// OwnTimes collects one figure per finished call, in nanoseconds.
// Thread-safe.
class OwnTimes {
 public:
  void Add(double ns);
  // Summary is over every call added so far.
  struct Summary {
    uint64_t calls = 0;
    double p10 = 0, p50 = 0, p90 = 0, p99 = 0, mean = 0;
    // top1_share: the slowest 1 % of calls' sum over all calls (their part
    // of the mean).
    double top1_share = 0;
  };
  Summary Summarize() const;

 private:
  mutable std::mutex mu_;
  std::vector<float> ns_;
};

// OwnSpan adds the time from its construction to its destruction (less the
// cost of reading the counter) to `times`, when `times` is not null.
class OwnSpan {
 public:
  explicit OwnSpan(OwnTimes* times);
  ~OwnSpan();
  OwnSpan(const OwnSpan&) = delete;
  OwnSpan& operator=(const OwnSpan&) = delete;

 private:
  OwnTimes* const times_;
  uint64_t start_ = 0;
};

// TimeOwnCode returns a factory whose interceptors are `inner`'s, each timed
// into `times` (which must outlive every interceptor the factory makes).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
TimeOwnCode(
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
        inner,
    OwnTimes* times);

}  // namespace bench

#endif  // CTX_BENCH_GRPC_OWN_TIME_H_
