// SPDX-License-Identifier: Apache-2.0
// Test servers and services for the gRPC bridge suite. See test_support.h.

#include "test_support.h"

#include <grpcpp/alarm.h>

#include <utility>

#include "ctx/clock.h"
#include "ctx/grpc/call_context.h"
#include "ctx/grpc/client_context.h"
#include "ctx/grpc/status.h"
#include "ctx/internal/clock_pair.h"
#include "ctx/propagation.h"
#include "gpr_clock.h"

namespace ctx::grpc::testing {
namespace {

// Head is the first element of a '/'-separated action list; Rest is what
// follows it.
std::string Head(const std::string& action) {
  return action.substr(0, action.find('/'));
}
std::string Rest(const std::string& action) {
  const std::size_t slash = action.find('/');
  return slash == std::string::npos ? std::string() : action.substr(slash + 1);
}

// FinalStatus is what a "wait" handler returns: the context's end, or ABORTED
// if kCap ran out first.
::grpc::Status FinalStatus(const Context& c) {
  if (!c.Err())
    return ::grpc::Status(::grpc::StatusCode::ABORTED, "test cap reached");
  return StatusFromContext(c);
}

}  // namespace

// --- Recorder, Executor ---

void Recorder::Record(const Context& c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.push_back(c);
  }
  cv_.notify_all();
}

bool Recorder::WaitForCount(std::size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, kCap, [&] { return contexts_.size() >= n; });
}

Context Recorder::Get(std::size_t i) {
  std::lock_guard<std::mutex> lock(mu_);
  return contexts_.at(i);
}

std::size_t Recorder::Count() {
  std::lock_guard<std::mutex> lock(mu_);
  return contexts_.size();
}

Executor::Executor() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and drained
      std::function<void()> f = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      f();
      lock.lock();
    }
  });
}

Executor::~Executor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Executor::Post(std::function<void()> f) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(f));
  }
  cv_.notify_all();
}

::testing::AssertionResult CancelReachesHandler(Recorder& recorder,
                                                const CancelFunc& cancel) {
  if (!recorder.WaitForCount(1)) {
    cancel();
    return ::testing::AssertionFailure() << "the handler never ran";
  }
  cancel();
  const Context server_ctx = recorder.Get(0);
  if (!server_ctx.Done().WaitFor(kCap)) {
    return ::testing::AssertionFailure()
           << "client canceled: the handler's context is still live";
  }
  if (server_ctx.Err() != Errc::kCanceled) {
    return ::testing::AssertionFailure()
           << "handler context ended with " << server_ctx.Err().message()
           << ", want context canceled";
  }
  return ::testing::AssertionSuccess();
}

void Fill(const Context& c, ctxtest::EchoResponse* response) {
  if (const std::string* id = c.Value(kRequestIdKey))
    response->set_request_id(*id);
  if (const std::string* id = c.Value(kSessionIdKey))
    response->set_session_id(*id);
  const std::optional<Clock::duration> left = Remaining(c);
  response->set_deadline_ms(
      left
          ? std::chrono::duration_cast<std::chrono::milliseconds>(*left).count()
          : -1);
}

void FillDeadlineVsGrpc(const Context& c, const ::grpc::ServerContextBase& sc,
                        ctxtest::EchoResponse* response) {
  const std::optional<TimePoint> deadline = c.Deadline();
  gpr_timespec raw = sc.raw_deadline();
  if (!deadline || gpr_time_cmp(raw, gpr_inf_future(raw.clock_type)) == 0)
    return;
  // Both on CLOCK_MONOTONIC: ctx::Clock is steady_clock, and gpr's monotonic
  // clock reads the same clock.
  if (raw.clock_type != GPR_CLOCK_MONOTONIC)
    raw = gpr_convert_clock_type(raw, GPR_CLOCK_MONOTONIC);
  const __int128 ns =
      ctx::internal::NanosOf(*deadline) - internal::NanosOf(raw);
  response->set_deadline_vs_grpc_us(static_cast<int64_t>(ns / 1000));
}

void AnswerEcho(Env& env, const Context& c, const ::grpc::ServerContextBase& sc,
                ctxtest::EchoResponse* response) {
  env.recorder.Record(c);
  Fill(c, response);
  FillDeadlineVsGrpc(c, sc, response);
}

// --- SyncService ---

::grpc::Status SyncService::Echo(::grpc::ServerContext* sc,
                                 const ctxtest::EchoRequest* request,
                                 ctxtest::EchoResponse* response) {
  const Context c = CallContext(sc);
  const std::string head = Head(request->action());
  if (head == "echo") {
    AnswerEcho(*env_, c, *sc, response);
    return ::grpc::Status::OK;
  }
  if (head == "wait") {
    env_->recorder.Record(c);
    (void)c.Done().WaitFor(kCap);
    Fill(c, response);
    return FinalStatus(c);
  }
  if (head == "forward") {
    env_->recorder.Record(c);
    if (env_->downstream == nullptr) {
      return ::grpc::Status(::grpc::StatusCode::FAILED_PRECONDITION,
                            "no downstream");
    }
    ctxtest::EchoRequest next;
    next.set_action(Rest(request->action()));
    BoundClientContext call(c);
    ::grpc::Status s = env_->downstream->Echo(call.get(), next, response);
    if (!s.ok() && c.Err()) return StatusFromContext(c);
    return s;
  }
  return ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, "unknown action");
}

::grpc::Status SyncService::ServerStream(
    ::grpc::ServerContext* sc, const ctxtest::EchoRequest* request,
    ::grpc::ServerWriter<ctxtest::EchoResponse>* writer) {
  const Context c = CallContext(sc);
  env_->recorder.Record(c);
  for (int i = 0; request->count() == 0 || i < request->count(); ++i) {
    if (c.Done().Ready()) return StatusFromContext(c);
    ctxtest::EchoResponse r;
    Fill(c, &r);
    r.set_message(std::to_string(i));
    if (!writer->Write(r)) break;
    (void)c.Done().WaitFor(std::chrono::milliseconds(1));  // pace the stream
  }
  return c.Err() ? StatusFromContext(c) : ::grpc::Status::OK;
}

::grpc::Status SyncService::ClientStream(
    ::grpc::ServerContext* sc,
    ::grpc::ServerReader<ctxtest::EchoRequest>* reader,
    ctxtest::EchoResponse* response) {
  const Context c = CallContext(sc);
  env_->recorder.Record(c);
  ctxtest::EchoRequest r;
  int n = 0;
  while (!c.Done().Ready() && reader->Read(&r)) ++n;
  Fill(c, response);
  response->set_message(std::to_string(n));
  return c.Err() ? StatusFromContext(c) : ::grpc::Status::OK;
}

::grpc::Status SyncService::Bidi(
    ::grpc::ServerContext* sc,
    ::grpc::ServerReaderWriter<ctxtest::EchoResponse, ctxtest::EchoRequest>*
        stream) {
  const Context c = CallContext(sc);
  env_->recorder.Record(c);
  ctxtest::EchoRequest r;
  while (!c.Done().Ready() && stream->Read(&r)) {
    ctxtest::EchoResponse out;
    Fill(c, &out);
    out.set_message(r.message());
    if (!stream->Write(out)) break;
  }
  return c.Err() ? StatusFromContext(c) : ::grpc::Status::OK;
}

// --- CallbackService ---

::grpc::ServerUnaryReactor* CallbackService::Echo(
    ::grpc::CallbackServerContext* sc, const ctxtest::EchoRequest* request,
    ctxtest::EchoResponse* response) {
  return ServeUnary(sc, [&](::grpc::ServerUnaryReactor* reactor) {
    const Context c = CallContext(sc);
    const std::string head = Head(request->action());
    if (head == "echo") {
      AnswerEcho(*env_, c, *sc, response);
      reactor->Finish(::grpc::Status::OK);
    } else if (head == "wait") {
      env_->recorder.Record(c);
      Env* env = env_;
      // AfterFunc runs on the canceling thread, possibly inside a gRPC hook:
      // finish elsewhere.
      (void)AfterFunc(c, [env, reactor, c, response] {
        env->executor.Post([reactor, c, response] {
          Fill(c, response);
          reactor->Finish(FinalStatus(c));
        });
      });
    } else {
      reactor->Finish(::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT,
                                     "unknown action"));
    }
  });
}

namespace {

// StreamWriter streams responses until its context is done or `count` were
// sent.
class StreamWriter final
    : public ::grpc::ServerWriteReactor<ctxtest::EchoResponse> {
 public:
  StreamWriter(Env* env, ::grpc::CallbackServerContext* sc, int count)
      : sc_(sc), context_(CallContext(sc)), count_(count) {
    env->recorder.Record(context_);
    Next();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(StatusFromContext(context_).ok() ? ::grpc::Status::CANCELLED
                                              : StatusFromContext(context_));
      return;
    }
    Next();
  }
  void OnCancel() override { NotifyCallCanceled(sc_); }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (context_.Done().Ready()) {
      Finish(StatusFromContext(context_));
      return;
    }
    if (count_ != 0 && sent_ == count_) {
      Finish(::grpc::Status::OK);
      return;
    }
    response_.Clear();
    Fill(context_, &response_);
    response_.set_message(std::to_string(sent_++));
    StartWrite(&response_);
  }

  ::grpc::CallbackServerContext* const sc_;
  const Context context_;
  const int count_;
  int sent_ = 0;
  ctxtest::EchoResponse response_;
};

// Echoer answers each message of a bidi stream until the stream or the context
// ends.
class Echoer final : public ::grpc::ServerBidiReactor<ctxtest::EchoRequest,
                                                      ctxtest::EchoResponse> {
 public:
  Echoer(Env* env, ::grpc::CallbackServerContext* sc)
      : sc_(sc), context_(CallContext(sc)) {
    env->recorder.Record(context_);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok || context_.Done().Ready()) {
      Finish(context_.Err() ? StatusFromContext(context_) : ::grpc::Status::OK);
      return;
    }
    response_.Clear();
    Fill(context_, &response_);
    response_.set_message(request_.message());
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(context_.Err() ? StatusFromContext(context_)
                            : ::grpc::Status::CANCELLED);
      return;
    }
    StartRead(&request_);
  }
  void OnCancel() override { NotifyCallCanceled(sc_); }
  void OnDone() override { delete this; }

 private:
  ::grpc::CallbackServerContext* const sc_;
  const Context context_;
  ctxtest::EchoRequest request_;
  ctxtest::EchoResponse response_;
};

}  // namespace

::grpc::ServerWriteReactor<ctxtest::EchoResponse>*
CallbackService::ServerStream(::grpc::CallbackServerContext* sc,
                              const ctxtest::EchoRequest* request) {
  return new StreamWriter(env_, sc, request->count());
}

::grpc::ServerBidiReactor<ctxtest::EchoRequest, ctxtest::EchoResponse>*
CallbackService::Bidi(::grpc::CallbackServerContext* sc) {
  return new Echoer(env_, sc);
}

// --- servers ---

namespace {

const char* StateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "IDLE";
    case GRPC_CHANNEL_CONNECTING:
      return "CONNECTING";
    case GRPC_CHANNEL_READY:
      return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN:
      return "SHUTDOWN";
  }
  return "unknown";
}

}  // namespace

std::unique_ptr<ctxtest::TestService::Stub> TestServer::NewStub() const {
  // A channel of its own subchannels: with gRPC's process-wide pool, a
  // channel to a port that an earlier test's server used (ports are reused)
  // would share that dead server's subchannel and wait out its reconnect
  // backoff (seconds, growing), failing this test by time.
  ::grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<::grpc::Channel> channel =
      ::grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                  ::grpc::InsecureChannelCredentials(), args);
  // Connect now, so that the tests' deadlines measure calls, not the
  // connection's setup (hundreds of milliseconds under TSan). A channel that
  // does not connect fails the test here, by name, instead of as a test's
  // later symptom (a call that never reaches a handler).
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + kCap)) {
    ADD_FAILURE() << "connecting a channel to 127.0.0.1:" << port
                  << " (WaitForConnected, cap " << kCap.count()
                  << " s): got state " << StateName(channel->GetState(false))
                  << ", want READY";
  }
  return ctxtest::TestService::NewStub(channel);
}

TestServer StartServer(::grpc::Service* service, const ServerOptions& options,
                       bool with_interceptor,
                       std::unique_ptr<::grpc::ServerCompletionQueue>* cq) {
  ::grpc::ServerBuilder builder;
  TestServer s;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(),
                           &s.port);
  builder.RegisterService(service);
  if (with_interceptor) {
    std::vector<std::unique_ptr<
        ::grpc::experimental::ServerInterceptorFactoryInterface>>
        creators;
    creators.push_back(MakeServerInterceptorFactory(options));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  if (cq != nullptr) *cq = builder.AddCompletionQueue();
  s.server = builder.BuildAndStart();
  return s;
}

void ShutdownNow(::grpc::Server* server) {
  server->Shutdown(std::chrono::system_clock::now());
}

// --- AsyncServer ---

struct AsyncServer::Call {
  // Step is the operation in flight (one at a time per call).
  enum class Step {
    kRequested,
    kWriting,
    kPacing,
    kReading,
    kWaiting,
    kFinishing
  };

  explicit Call(Method m) : method(m) {}

  const Method method;
  ::grpc::ServerContext sc;
  ctxtest::EchoRequest request;
  ctxtest::EchoResponse response;
  // The one of these that `method` names carries the call.
  ::grpc::ServerAsyncResponseWriter<ctxtest::EchoResponse> responder{&sc};
  ::grpc::ServerAsyncWriter<ctxtest::EchoResponse> writer{&sc};
  ::grpc::ServerAsyncReaderWriter<ctxtest::EchoResponse, ctxtest::EchoRequest>
      stream{&sc};
  ::grpc::Alarm alarm;                  // FinishWhenDone
  std::unique_ptr<::grpc::Alarm> pace;  // ServerStream: one per message
  Context context;
  Step step = Step::kRequested;
  int sent = 0;  // ServerStream: messages written so far
};

AsyncServer::AsyncServer(Env* env, const ServerOptions& options) : env_(env) {
  server_ = StartServer(&service_, options, /*with_interceptor=*/true, &cq_);
  RequestOne(Method::kEcho);
  RequestOne(Method::kServerStream);
  RequestOne(Method::kBidi);
  thread_ = std::thread([this] { Loop(); });
}

AsyncServer::~AsyncServer() {
  ShutdownNow(server_.server.get());
  {
    // Waits for a Handle that is starting operations; the next one sees
    // shutting_down_ and starts none.
    std::lock_guard<std::mutex> ops(ops_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutting_down_ = true;
    }
    cq_->Shutdown();
  }
  thread_.join();
  for (Call* call : live_) delete call;
}

bool AsyncServer::WaitForDestroyedCalls(std::size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  return destroyed_cv_.wait_for(lock, kCap, [&] { return destroyed_ >= n; });
}

void AsyncServer::RequestOne(Method method) {
  auto* call = new Call(method);
  // Under mu_, so that the queue cannot be shut down in between.
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) {
    delete call;
    return;
  }
  live_.insert(call);
  switch (method) {
    case Method::kEcho:
      service_.RequestEcho(&call->sc, &call->request, &call->responder,
                           cq_.get(), cq_.get(), call);
      return;
    case Method::kServerStream:
      service_.RequestServerStream(&call->sc, &call->request, &call->writer,
                                   cq_.get(), cq_.get(), call);
      return;
    case Method::kBidi:
      service_.RequestBidi(&call->sc, &call->stream, cq_.get(), cq_.get(),
                           call);
      return;
  }
}

void AsyncServer::Loop() {
  void* tag;
  bool ok;
  while (cq_->Next(&tag, &ok)) Handle(static_cast<Call*>(tag), ok);
}

void AsyncServer::Handle(Call* call, bool ok) {
  using Step = Call::Step;
  std::lock_guard<std::mutex> ops(ops_mu_);
  bool drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Finished, failed before a handler ran, alarm canceled, or shutting down
    // (then start no operation: the queue may be shut down).
    drop =
        shutting_down_ || call->step == Step::kFinishing ||
        (!ok && (call->step == Step::kRequested ||
                 call->step == Step::kPacing || call->step == Step::kWaiting));
  }
  if (drop) {
    Destroy(call);
    return;
  }
  switch (call->step) {
    case Step::kRequested:
      Start(call);
      return;
    case Step::kWriting:
      if (!ok) {
        FinishWhenDone(call);  // the stream broke
      } else if (call->method == Method::kServerStream) {
        // Pace the stream (1 ms, as the sync service does) rather than flood
        // the queue that also delivers the bridge's hooks.
        call->step = Step::kPacing;
        call->pace = std::make_unique<::grpc::Alarm>();
        call->pace->Set(
            cq_.get(),
            std::chrono::system_clock::now() + std::chrono::milliseconds(1),
            call);
      } else if (call->context.Done().Ready()) {
        Finish(call, StatusFromContext(call->context));
      } else {
        call->step = Step::kReading;
        call->stream.Read(&call->request, call);
      }
      return;
    case Step::kPacing:
      NextWrite(call);
      return;
    case Step::kReading:
      if (!ok) {
        FinishWhenDone(call);  // canceled, or the client half-closed
      } else if (call->context.Done().Ready()) {
        Finish(call, StatusFromContext(call->context));
      } else {
        call->response.Clear();
        Fill(call->context, &call->response);
        call->response.set_message(call->request.message());
        call->step = Step::kWriting;
        call->stream.Write(call->response, call);
      }
      return;
    case Step::kWaiting:  // the context is done (see FinishWhenDone)
      if (call->method == Method::kEcho) Fill(call->context, &call->response);
      Finish(call, FinalStatus(call->context));
      return;
    case Step::kFinishing:
      return;  // handled above
  }
}

void AsyncServer::Start(Call* call) {
  RequestOne(call->method);
  call->context = CallContext(&call->sc);
  switch (call->method) {
    case Method::kEcho: {
      const std::string head = Head(call->request.action());
      if (head == "wait") {
        env_->recorder.Record(call->context);
        FinishWhenDone(call);
      } else if (head == "echo") {
        AnswerEcho(*env_, call->context, call->sc, &call->response);
        Finish(call, ::grpc::Status::OK);
      } else {
        Finish(call,
               ::grpc::Status(::grpc::StatusCode::INVALID_ARGUMENT, "unknown"));
      }
      return;
    }
    case Method::kServerStream:
      env_->recorder.Record(call->context);
      NextWrite(call);
      return;
    case Method::kBidi:
      env_->recorder.Record(call->context);
      call->step = Call::Step::kReading;
      call->stream.Read(&call->request, call);
      return;
  }
}

void AsyncServer::NextWrite(Call* call) {
  if (call->context.Done().Ready()) {
    Finish(call, StatusFromContext(call->context));
    return;
  }
  const int count = call->request.count();
  if (count != 0 && call->sent == count) {
    Finish(call, ::grpc::Status::OK);
    return;
  }
  call->response.Clear();
  Fill(call->context, &call->response);
  call->response.set_message(std::to_string(call->sent++));
  call->step = Call::Step::kWriting;
  call->writer.Write(call->response, call);
}

void AsyncServer::FinishWhenDone(Call* call) {
  call->step = Call::Step::kWaiting;
  // Runs inline if the context is already done, else on the thread that ends
  // it (this queue's thread, inside a hook of the bridge, or the timer thread).
  (void)AfterFunc(call->context, [this, call] {
    std::lock_guard<std::mutex> lock(mu_);
    if (!shutting_down_)
      call->alarm.Set(cq_.get(), std::chrono::system_clock::now(), call);
  });
}

void AsyncServer::Finish(Call* call, const ::grpc::Status& status) {
  call->step = Call::Step::kFinishing;
  switch (call->method) {
    case Method::kEcho:
      call->responder.Finish(call->response, status, call);
      return;
    case Method::kServerStream:
      call->writer.Finish(status, call);
      return;
    case Method::kBidi:
      call->stream.Finish(status, call);
      return;
  }
}

void AsyncServer::Destroy(Call* call) {
  const bool started = call->step != Call::Step::kRequested;
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_.erase(call);
  }
  // Outside mu_: destroying the ServerContext destroys the call's interceptor,
  // which ends the call's context and so may run an AfterFunc that takes mu_.
  delete call;
  if (!started) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++destroyed_;
  }
  destroyed_cv_.notify_all();
}

// --- GenericCall ---

GenericCall::GenericCall(int port, const std::string& method,
                         const std::string& id)
    : channel_(::grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     ::grpc::InsecureChannelCredentials())),
      stub_(channel_) {
  client_.AddMetadata("x-request-id", id);
  client_.set_deadline(std::chrono::system_clock::now() + kCap);
  const ::grpc::Slice slice(std::string("ping"));
  request_ = ::grpc::ByteBuffer(&slice, 1);
  stub_.UnaryCall(&client_, method, ::grpc::StubOptions(), &request_,
                  &response_, [this](const ::grpc::Status& s) {
                    std::lock_guard<std::mutex> lock(mu_);
                    status_ = s;
                    cv_.notify_all();
                  });
}

GenericCall::~GenericCall() {
  client_.TryCancel();
  (void)Await();
}

::grpc::Status GenericCall::Await() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return status_.has_value(); });
  return *status_;
}

}  // namespace ctx::grpc::testing

namespace ctx::grpc::testing {

std::string ApiName(const ::testing::TestParamInfo<Api>& info) {
  switch (info.param) {
    case Api::kSync:
      return "Sync";
    case Api::kCallback:
      return "Callback";
    case Api::kAsync:
      return "Async";
    case Api::kCallbackNoInterceptor:
      return "CallbackNoInterceptor";
  }
  return "Unknown";
}

ApiServer::ApiServer(Api api, Env* env, const ServerOptions& options) {
  switch (api) {
    case Api::kSync:
      sync_ = std::make_unique<SyncService>(env);
      server_ = StartServer(sync_.get(), options);
      break;
    case Api::kCallback:
      callback_ = std::make_unique<CallbackService>(env);
      server_ = StartServer(callback_.get(), options);
      break;
    case Api::kAsync:
      async_ = std::make_unique<AsyncServer>(env, options);
      break;
    case Api::kCallbackNoInterceptor: {
      callback_ = std::make_unique<CallbackService>(env);
      ::grpc::ServerBuilder builder;
      builder.AddListeningPort(
          "127.0.0.1:0", ::grpc::InsecureServerCredentials(), &server_.port);
      builder.RegisterService(callback_.get());
      builder.SetContextAllocator(MakeContextAllocator(options));
      server_.server = builder.BuildAndStart();
      break;
    }
  }
}

ApiServer::~ApiServer() {
  if (server_.server) ShutdownNow(server_.server.get());
}

std::unique_ptr<ctxtest::TestService::Stub> ApiServer::NewStub() const {
  return async_ ? async_->NewStub() : server_.NewStub();
}

int ApiServer::port() const { return async_ ? async_->port() : server_.port; }

::grpc::Server* ApiServer::server() {
  return async_ ? async_->server() : server_.server.get();
}

::grpc::Status PendingCall::Await() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, kCap, [this] { return status_.has_value(); })) {
    return ::grpc::Status(::grpc::StatusCode::ABORTED, "test cap");
  }
  return *status_;
}

void PendingCall::Complete(::grpc::Status s) {
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(s);
  cv_.notify_all();
}

PendingCall::~PendingCall() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_ || !client) return;
  }
  client->get()->TryCancel();  // unlocked: the callback may run inline
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return status_.has_value(); });
}

std::unique_ptr<PendingCall> StartEcho(
    ctxtest::TestService::Stub* stub, const Context& c,
    const std::string& action, const ClientOptions& options,
    const std::function<void(::grpc::ClientContext*)>& prepare) {
  auto call = std::make_unique<PendingCall>();
  call->request.set_action(action);
  call->client = std::make_unique<BoundClientContext>(c, options);
  if (prepare) prepare(call->client->get());
  PendingCall* p = call.get();
  stub->async()->Echo(call->client->get(), &call->request, &call->response,
                      [p](::grpc::Status s) { p->Complete(std::move(s)); });
  return call;
}

::grpc::Status ServerStreamOf(ctxtest::TestService::Stub* stub, int count,
                              int* received) {
  ::grpc::ClientContext client;
  client.set_deadline(std::chrono::system_clock::now() + kCap);
  ctxtest::EchoRequest request;
  request.set_count(count);
  auto reader = stub->ServerStream(&client, request);
  ctxtest::EchoResponse r;
  *received = 0;
  while (reader->Read(&r)) ++*received;
  return reader->Finish();
}

::grpc::Status Echo(ctxtest::TestService::Stub* stub, const std::string& action,
                    ctxtest::EchoResponse* response,
                    const std::function<void(::grpc::ClientContext*)>& prepare,
                    std::multimap<std::string, std::string>* initial_metadata) {
  ::grpc::ClientContext client;
  client.set_deadline(std::chrono::system_clock::now() + kCap);
  if (prepare) prepare(&client);
  ctxtest::EchoRequest request;
  request.set_action(action);
  ::grpc::Status s = stub->Echo(&client, request, response);
  if (initial_metadata != nullptr) {
    for (const auto& [k, v] : client.GetServerInitialMetadata()) {
      initial_metadata->emplace(std::string(k.data(), k.size()),
                                std::string(v.data(), v.size()));
    }
  }
  return s;
}

}  // namespace ctx::grpc::testing
