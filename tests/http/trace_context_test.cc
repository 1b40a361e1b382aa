// SPDX-License-Identifier: Apache-2.0
// The trace context over real HTTP hops: three ctx::http::Servers, A -> B -> C,
// each forwarding with a ctx::http::Client. The trace id stays, each hop gets
// a new span id, tracestate and baggage travel as received; configured
// pass-through headers travel unchanged.

#include "ctx/trace_context.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ctx/http/client.h"
#include "ctx/http/server.h"
#include "ctx/pass_through.h"
#include "test_util.h"

namespace ctx::http {
namespace {

using testing::RunningServer;

constexpr char kTraceparent[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Hop is one server: it records the trace context its handler saw, then
// either answers or calls the next hop.
class Hop {
 public:
  explicit Hop(Hop* next, ServerOptions options = {})
      : server_(std::move(options)) {
    server_.server().Get(
        "/", [this, next](const Context& c, const httplib::Request&,
                          httplib::Response& res) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            const TraceContext* tc = c.Value(kTraceContextKey);
            if (tc != nullptr) seen_ = *tc;
            const PassThroughHeaders* pass = c.Value(kPassThroughKey);
            if (pass != nullptr) passed_ = *pass;
            called_ = true;
          }
          if (next == nullptr) {
            res.set_content("end", "text/plain");
            return;
          }
          Client client("127.0.0.1", next->port());
          Result r = client.Get(c, "/");
          res.status = r ? r->status : 502;
        });
    server_.Start();
  }

  [[nodiscard]] int port() const { return server_.port(); }
  // seen returns the trace context the handler saw (nullopt: none, or the
  // handler never ran; `called` says which).
  std::optional<TraceContext> seen(bool* called = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    if (called != nullptr) *called = called_;
    return seen_;
  }
  // passed returns the pass-through headers the handler saw (nullopt: none).
  std::optional<PassThroughHeaders> passed() {
    std::lock_guard<std::mutex> lock(mu_);
    return passed_;
  }

 private:
  RunningServer server_;
  std::mutex mu_;
  std::optional<TraceContext> seen_;
  std::optional<PassThroughHeaders> passed_;
  bool called_ = false;
};

class HttpTraceTest : public ::testing::Test {
 protected:
  // Get calls A with `headers` and returns each hop's trace context, A first.
  std::vector<TraceContext> Get(const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", a_.port());
    auto res = client.Get("/", headers);
    EXPECT_TRUE(res) << "GET A: no response";
    if (res) {
      EXPECT_EQ(res->status, 200) << "GET A: status";
    }
    std::vector<TraceContext> traces;
    for (Hop* hop : {&a_, &b_, &c_}) {
      std::optional<TraceContext> tc = hop->seen();
      EXPECT_TRUE(tc) << "a hop saw no trace context";
      traces.push_back(tc.value_or(TraceContext{}));
    }
    return traces;
  }

  Hop c_{nullptr};
  Hop b_{&c_};
  Hop a_{&b_};
};

TEST_F(HttpTraceTest, ClientTraceKeepsItsIdWithANewSpanPerHop) {
  const std::vector<TraceContext> t =
      Get({{"traceparent", kTraceparent},
           {"tracestate", "congo=t61rcWkgMzE"},
           {"tracestate", "rojo=00f067aa0ba902b7"},
           {"baggage", "userId=alice"}});
  for (const TraceContext& hop : t) {
    EXPECT_EQ(hop.trace_id.ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(hop.sampled());
    EXPECT_EQ(hop.tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    EXPECT_EQ(hop.baggage, "userId=alice");
  }
  EXPECT_EQ(t[0].parent_id.ToHex(), "00f067aa0ba902b7") << "A's parent";
  EXPECT_NE(t[1].parent_id, t[0].parent_id) << "B got A's caller's span";
  EXPECT_NE(t[2].parent_id, t[1].parent_id) << "C got B's caller's span";
  EXPECT_NE(t[2].parent_id, t[0].parent_id);
}

TEST_F(HttpTraceTest, TraceStartedAtAReachesC) {
  const std::vector<TraceContext> t = Get({});
  EXPECT_TRUE(t[0].trace_id.IsValid());
  EXPECT_FALSE(t[0].sampled()) << "traces started here are not sampled";
  EXPECT_EQ(t[1].trace_id, t[0].trace_id) << "B is in another trace";
  EXPECT_EQ(t[2].trace_id, t[0].trace_id) << "C is in another trace";
}

TEST_F(HttpTraceTest, InvalidTraceparentRestartsWithoutItsTracestate) {
  const std::vector<TraceContext> t =
      Get({{"traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
           {"tracestate", "congo=t61rcWkgMzE"},
           {"baggage", "userId=alice"}});
  EXPECT_NE(t[0].trace_id.ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t[2].trace_id, t[0].trace_id);
  EXPECT_EQ(t[2].tracestate, "") << "a restarted trace keeps no tracestate";
  EXPECT_EQ(t[2].baggage, "userId=alice") << "baggage is not the trace's";
}

TEST(HttpTracePolicy, StartTraceFalseLeavesTheTraceAbsent) {
  ServerOptions options;
  options.headers.trace.start_trace = false;
  Hop hop(nullptr, options);
  httplib::Client client("127.0.0.1", hop.port());
  ASSERT_TRUE(client.Get("/"));
  bool called = false;
  EXPECT_FALSE(hop.seen(&called)) << "no traceparent, policy starts none";
  EXPECT_TRUE(called);
}

TEST(HttpPassThrough, ConfiguredHeaderReachesCUnchanged) {
  ServerOptions options;
  options.headers.pass_through = MakePassThroughNames({"x-b3-traceid"});
  Hop c(nullptr, options);
  Hop b(&c, options);
  Hop a(&b, options);
  httplib::Client client("127.0.0.1", a.port());
  ASSERT_TRUE(client.Get("/", {{"X-B3-TraceId", "80f198ee56343ba8"},
                               {"x-other", "not-configured"}}));
  std::optional<PassThroughHeaders> at_c = c.passed();
  ASSERT_TRUE(at_c) << "C saw no pass-through headers";
  ASSERT_EQ(at_c->size(), 1u);
  EXPECT_EQ((*at_c)[0].name, "x-b3-traceid");
  EXPECT_EQ((*at_c)[0].value, "80f198ee56343ba8");
}

TEST(HttpPassThrough, InvalidValueIsDropped) {
  ServerOptions options;
  options.headers.pass_through = MakePassThroughNames({"b3"});
  Hop c(nullptr, options);
  Hop a(&c, options);
  httplib::Client client("127.0.0.1", a.port());
  ASSERT_TRUE(client.Get("/", {{"b3", std::string(300, 'x')}}));
  EXPECT_FALSE(c.passed()) << "an oversized value was passed on";
}

}  // namespace
}  // namespace ctx::http
