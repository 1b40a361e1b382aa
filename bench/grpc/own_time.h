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

// ThreadEvents counts what the kernel did to the calling thread: involuntary
// context switches (preemptions) and page faults.
struct ThreadEvents {
  long preemptions = 0;
  long faults = 0;
};
// ReadThreadEvents is one getrusage(RUSAGE_THREAD): a system call, which
// disturbs the caches of the code timed next to it.
ThreadEvents ReadThreadEvents();

// OwnTimes collects one figure per finished call, in nanoseconds.
// Thread-safe. A classifying OwnTimes (made with classify = true) also has its
// spans read the thread's events around each span (outside the timed part)
// and keeps the calls preempted or faulting inside a span apart from the
// others; the system calls make every call slower, so its figures explain the
// tail of an unclassified run rather than replace them.
class OwnTimes {
 public:
  explicit OwnTimes(bool classify = false) : classify_(classify) {}
  [[nodiscard]] bool classify() const { return classify_; }
  // Add records one call; `during` is what happened inside its spans (zero
  // when not classifying).
  void Add(double ns, ThreadEvents during = {});
  // Summary is over every call added so far; when classifying, p10 to mean
  // are over the calls neither preempted nor faulting.
  struct Summary {
    uint64_t calls = 0;
    double p10 = 0, p50 = 0, p90 = 0, p99 = 0, mean = 0;
    // top1_share: the slowest 1 % of calls' sum over all calls (their part
    // of the mean).
    double top1_share = 0;
    // When classifying: the calls preempted inside a span, and those that
    // faulted (and were not preempted), with their mean.
    uint64_t preempted = 0, faulted = 0;
    double preempted_mean = 0, faulted_mean = 0;
  };
  Summary Summarize() const;

 private:
  const bool classify_;
  mutable std::mutex mu_;
  std::vector<float> ns_;
  std::vector<float> preempted_, faulted_;
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
  ThreadEvents events_;
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
