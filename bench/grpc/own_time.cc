// SPDX-License-Identifier: Apache-2.0
// Timing an interceptor's own code. See own_time.h.

#include "own_time.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace bench {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::InterceptorBatchMethods;

// Ticks reads the time-stamp counter (elsewhere: the steady clock, in ns). The
// fences keep the timed code from moving across the read.
uint64_t Ticks() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_lfence();
  const uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
#else
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
#endif
}

struct Calibration {
  double ns_per_tick = 1;
  double read_ticks = 0;  // what one span between two reads costs by itself
};

Calibration Measure() {
  Calibration c;
  using SteadyClock = std::chrono::steady_clock;
  const SteadyClock::time_point t0 = SteadyClock::now();
  const uint64_t k0 = Ticks();
  SteadyClock::time_point t1;
  while ((t1 = SteadyClock::now()) - t0 < std::chrono::milliseconds(20)) {
  }
  const uint64_t k1 = Ticks();
  c.ns_per_tick =
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0)
              .count()) /
      static_cast<double>(std::max<uint64_t>(1, k1 - k0));
  std::vector<uint64_t> empty(1001);
  for (uint64_t& e : empty) {
    const uint64_t a = Ticks();
    e = Ticks() - a;
  }
  std::nth_element(empty.begin(), empty.begin() + 500, empty.end());
  c.read_ticks = static_cast<double>(empty[500]);
  return c;
}

const Calibration& Calibrated() {
  static const Calibration c = Measure();
  return c;
}

// OwnNs is the time of `spans` spans that read `ticks` in all, less what the
// reads themselves cost, in nanoseconds.
double OwnNs(uint64_t ticks, uint64_t spans) {
  const Calibration& c = Calibrated();
  const double own =
      static_cast<double>(ticks) - c.read_ticks * static_cast<double>(spans);
  return std::max(0.0, own) * c.ns_per_tick;
}

// Since is what happened to this thread since `before` (ReadThreadEvents).
ThreadEvents Since(const ThreadEvents& before) {
  const ThreadEvents now = ReadThreadEvents();
  return {now.preemptions - before.preemptions, now.faults - before.faults};
}

class TimedInterceptor;

// Proxy hands the wrapped interceptor its hook's methods, and pauses the
// wrapper's clock across Proceed().
class Proxy final : public InterceptorBatchMethods {
 public:
  // The span starts now. With `classify`, the thread's events are read first.
  Proxy(InterceptorBatchMethods* real, TimedInterceptor* owner, bool classify)
      : real_(real),
        owner_(owner),
        events_(classify ? ReadThreadEvents() : ThreadEvents{}),
        start_(Ticks()) {}

  bool proceeded() const { return proceeded_; }
  uint64_t start() const { return start_; }
  const ThreadEvents& events() const { return events_; }

  bool QueryInterceptionHookPoint(InterceptionHookPoints type) override {
    return real_->QueryInterceptionHookPoint(type);
  }
  void Proceed() override;
  void Hijack() override { real_->Hijack(); }
  grpc::ByteBuffer* GetSerializedSendMessage() override {
    return real_->GetSerializedSendMessage();
  }
  const void* GetSendMessage() override { return real_->GetSendMessage(); }
  void ModifySendMessage(const void* message) override {
    real_->ModifySendMessage(message);
  }
  bool GetSendMessageStatus() override { return real_->GetSendMessageStatus(); }
  std::multimap<std::string, std::string>* GetSendInitialMetadata() override {
    return real_->GetSendInitialMetadata();
  }
  grpc::Status GetSendStatus() override { return real_->GetSendStatus(); }
  void ModifySendStatus(const grpc::Status& status) override {
    real_->ModifySendStatus(status);
  }
  std::multimap<std::string, std::string>* GetSendTrailingMetadata() override {
    return real_->GetSendTrailingMetadata();
  }
  void* GetRecvMessage() override { return real_->GetRecvMessage(); }
  std::multimap<grpc::string_ref, grpc::string_ref>* GetRecvInitialMetadata()
      override {
    return real_->GetRecvInitialMetadata();
  }
  grpc::Status* GetRecvStatus() override { return real_->GetRecvStatus(); }
  std::multimap<grpc::string_ref, grpc::string_ref>* GetRecvTrailingMetadata()
      override {
    return real_->GetRecvTrailingMetadata();
  }
  std::unique_ptr<grpc::ChannelInterface> GetInterceptedChannel() override {
    return real_->GetInterceptedChannel();
  }
  void FailHijackedRecvMessage() override { real_->FailHijackedRecvMessage(); }
  void FailHijackedSendMessage() override { real_->FailHijackedSendMessage(); }

 private:
  InterceptorBatchMethods* const real_;
  TimedInterceptor* const owner_;
  const ThreadEvents events_;
  const uint64_t start_;
  bool proceeded_ = false;
};

// TimedInterceptor owns the wrapped interceptor and adds up the ticks spent in
// it: its creation, each hook up to Proceed(), and its destruction. gRPC may
// run two hooks of one call at once (a send batch and the close), so each
// span's start is the hook's own (in its Proxy) and the sums are atomic.
class TimedInterceptor final : public grpc::experimental::Interceptor {
 public:
  TimedInterceptor(grpc::experimental::Interceptor* inner, uint64_t made_in,
                   ThreadEvents made_with, OwnTimes* times)
      : inner_(inner),
        times_(times),
        ticks_(made_in),
        spans_(1),
        preemptions_(made_with.preemptions),
        faults_(made_with.faults) {}

  ~TimedInterceptor() override {
    const ThreadEvents before =
        times_->classify() ? ReadThreadEvents() : ThreadEvents{};
    const uint64_t start = Ticks();
    delete inner_;
    AddSpan(start, before);
    times_->Add(OwnNs(ticks_.load(), spans_.load()),
                {preemptions_.load(), faults_.load()});
  }

  void Intercept(InterceptorBatchMethods* methods) override {
    Proxy proxy(methods, this, times_->classify());
    inner_->Intercept(&proxy);
    // After a Proceed() this wrapper may be gone (a sync handler runs nested
    // in it, and the call can end there): only the proxy, on this stack, is
    // read.
    if (!proxy.proceeded()) AddSpan(proxy.start(), proxy.events());
  }

  // AddSpan counts the span from `start` until now, and when classifying, the
  // thread's events since `before`.
  void AddSpan(uint64_t start, const ThreadEvents& before) {
    ticks_.fetch_add(Ticks() - start, std::memory_order_relaxed);
    spans_.fetch_add(1, std::memory_order_relaxed);
    if (!times_->classify()) return;
    const ThreadEvents d = Since(before);
    preemptions_.fetch_add(d.preemptions, std::memory_order_relaxed);
    faults_.fetch_add(d.faults, std::memory_order_relaxed);
  }

 private:
  grpc::experimental::Interceptor* const inner_;
  OwnTimes* const times_;
  std::atomic<uint64_t> ticks_;
  std::atomic<uint64_t> spans_;
  std::atomic<long> preemptions_;
  std::atomic<long> faults_;
};

void Proxy::Proceed() {
  owner_->AddSpan(start_, events_);
  proceeded_ = true;
  real_->Proceed();
}

class TimedFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  TimedFactory(
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
          inner,
      OwnTimes* times)
      : inner_(std::move(inner)), times_(times) {
    (void)Calibrated();  // before any call is timed
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const ThreadEvents before =
        times_->classify() ? ReadThreadEvents() : ThreadEvents{};
    const uint64_t start = Ticks();
    grpc::experimental::Interceptor* inner =
        inner_->CreateServerInterceptor(info);
    const uint64_t made_in = Ticks() - start;
    const ThreadEvents made_with =
        times_->classify() ? Since(before) : ThreadEvents{};
    if (inner == nullptr) return nullptr;
    return new TimedInterceptor(inner, made_in, made_with, times_);
  }

 private:
  const std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
      inner_;
  OwnTimes* const times_;
};

}  // namespace

ThreadEvents ReadThreadEvents() {
  rusage r{};
  getrusage(RUSAGE_THREAD, &r);
  return {r.ru_nivcsw, r.ru_minflt + r.ru_majflt};
}

OwnSpan::OwnSpan(OwnTimes* times) : times_(times) {
  if (times_ != nullptr) {
    (void)Calibrated();
    if (times_->classify()) events_ = ReadThreadEvents();
    start_ = Ticks();
  }
}

OwnSpan::~OwnSpan() {
  if (times_ == nullptr) return;
  const uint64_t ticks = Ticks() - start_;
  times_->Add(OwnNs(ticks, 1),
              times_->classify() ? Since(events_) : ThreadEvents{});
}

void OwnTimes::Add(double ns, ThreadEvents during) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<float>& to = during.preemptions > 0 ? preempted_
                           : during.faults > 0    ? faulted_
                                                  : ns_;
  to.push_back(static_cast<float>(ns));
}

namespace {
double Mean(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x);
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}
}  // namespace

OwnTimes::Summary OwnTimes::Summarize() const {
  std::vector<float> v;
  Summary s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v = ns_;
    s.preempted = preempted_.size();
    s.preempted_mean = Mean(preempted_);
    s.faulted = faulted_.size();
    s.faulted_mean = Mean(faulted_);
  }
  s.calls = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const auto at = [&v](double p) {
    return static_cast<double>(
        v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))]);
  };
  s.p10 = at(0.1);
  s.p50 = at(0.5);
  s.p90 = at(0.9);
  s.p99 = at(0.99);
  s.mean = Mean(v);
  // The slowest 1 %: what they add to the mean.
  double tail = 0;
  for (std::size_t i = v.size() - v.size() / 100; i < v.size(); ++i)
    tail += static_cast<double>(v[i]);
  s.top1_share = tail / static_cast<double>(v.size());
  return s;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
TimeOwnCode(
    std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
        inner,
    OwnTimes* times) {
  return std::make_unique<TimedFactory>(std::move(inner), times);
}

}  // namespace bench
