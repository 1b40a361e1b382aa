// SPDX-License-Identifier: Apache-2.0
// Hostile client metadata: CRLF, NUL, non-ASCII, 64 KiB values, many
// duplicates, log-line lookalikes, absurd deadlines. Values are validated and
// replaced, never stored, echoed or logged raw, and never crash the server.
//
// gRPC's own client refuses to send some of these bytes (CR, LF, NUL in a
// non-binary value), so the reading rules are tested directly on a metadata
// map, and end to end with what a client can send.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctx/grpc/call_context.h"
#include "ctx/propagation.h"
#include "ctx/proxy_headers.h"
#include "incoming_metadata.h"
#include "test_support.h"

namespace ctx::grpc::testing {
namespace {

using internal::IncomingIds;
using internal::Metadata;
using internal::ReadIncomingIds;
using namespace std::string_literals;

::grpc::string_ref Ref(const std::string& s) { return {s.data(), s.size()}; }

Metadata MetadataOf(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  Metadata md;
  for (const auto& [k, v] : entries) md.emplace(Ref(k), Ref(v));
  return md;
}

IncomingIds Read(
    const std::vector<std::pair<std::string, std::string>>& entries) {
  const Metadata md = MetadataOf(entries);
  return ReadIncomingIds(
      internal::ScanMetadata(md, "x-request-id", "x-session-id"));
}

std::vector<std::string> HostileValues() {
  return {"a\r\nx-admin: true"s,
          "a\0b"s,
          "caf\xc3\xa9"s,
          "\xff\xfe"s,
          std::string(64 * 1024, 'a'),
          "2024-01-01T00:00:00Z ERROR user=admin msg=\"logged in\""s,
          "\x1b[31mred\x1b[0m"s,
          ""s,
          " "s};
}

TEST(ReadIncomingIds, KeepsOneValidRequestId) {
  IncomingIds ids = Read({{"x-request-id", "req-1"}});
  EXPECT_EQ(ids.request_id.id, "req-1");
  EXPECT_EQ(ids.request_id.source, IdSource::kIncoming);
}

TEST(ReadIncomingIds, GeneratesMissingRequestId) {
  IncomingIds ids = Read({{"other", "x"}});
  EXPECT_EQ(ids.request_id.source, IdSource::kGenerated);
  EXPECT_TRUE(IsValidRequestId(ids.request_id.id));
}

TEST(ReadIncomingIds, ReplacesHostileRequestIds) {
  for (const std::string& v : HostileValues()) {
    IncomingIds ids = Read({{"x-request-id", v}});
    EXPECT_EQ(ids.request_id.source, IdSource::kReplaced)
        << "value " << LogSafe(v);
    EXPECT_TRUE(IsValidRequestId(ids.request_id.id)) << "value " << LogSafe(v);
    EXPECT_NE(ids.request_id.id, v);
  }
}

TEST(ReadIncomingIds, ReplacesRepeatedRequestIdEvenWhenEachIsValid) {
  std::vector<std::pair<std::string, std::string>> entries(
      1000, {"x-request-id", "req-1"});
  IncomingIds ids = Read(entries);
  EXPECT_EQ(ids.request_id.source, IdSource::kReplaced);
  EXPECT_NE(ids.request_id.id, "req-1");
}

TEST(ReadIncomingIds, DropsHostileOrRepeatedSessionIds) {
  for (const std::string& v : HostileValues()) {
    EXPECT_FALSE(Read({{"x-session-id", v}}).session_id.has_value())
        << LogSafe(v);
  }
  EXPECT_FALSE(Read({{"x-session-id", "s1"}, {"x-session-id", "s2"}})
                   .session_id.has_value());
  EXPECT_EQ(Read({{"x-session-id", "s1"}}).session_id, "s1");
}

TEST(ScanMetadata, KeepsEveryTraceValueInArrivalOrder) {
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"tracestate", "b=2"}, {"traceparent", "first"},  {"user-agent", "x"},
      {"tracestate", "a=1"}, {"traceparent", "second"}, {"baggage", "k=v"},
      {"tracestate", "c=3"}};
  const Metadata md = MetadataOf(entries);
  const internal::ScannedMetadata s =
      internal::ScanMetadata(md, "x-request-id", "x-session-id");
  EXPECT_EQ(s.traceparent, (std::vector<std::string_view>{"first", "second"}));
  EXPECT_EQ(s.tracestate, (std::vector<std::string_view>{"b=2", "a=1", "c=3"}));
  EXPECT_EQ(s.baggage, (std::vector<std::string_view>{"k=v"}));
  EXPECT_EQ(s.request_id.count, 0u);
}

TEST(ScanMetadata, AKeyConfiguredForTwoRolesCountsForBoth) {
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"x-id", "abc"}, {"traceparent", "t"}};
  const Metadata md = MetadataOf(entries);
  const internal::ScannedMetadata s =
      internal::ScanMetadata(md, "x-id", "x-id");
  EXPECT_EQ(s.request_id.Single(), "abc");
  EXPECT_EQ(s.session.Single(), "abc");
  const internal::ScannedMetadata t =
      internal::ScanMetadata(md, "traceparent", "x-session-id");
  EXPECT_EQ(t.request_id.Single(), "t");
  EXPECT_EQ(t.traceparent, (std::vector<std::string_view>{"t"}));
}

TEST(ReadEnvoyTimeout, IgnoresARepeatedOrInvalidHeader) {
  const std::string key(kEnvoyTimeoutHeader);
  // The entries outlive the metadata that points into them.
  const std::vector<std::pair<std::string, std::string>> once = {{key, "250"}};
  const std::vector<std::pair<std::string, std::string>> twice = {{key, "250"},
                                                                  {key, "250"}};
  const std::vector<std::pair<std::string, std::string>> bad = {{key, "-1"}};
  const auto read = [](const Metadata& md) {
    return internal::ReadEnvoyTimeout(
        internal::ScanMetadata(md, "x-request-id", "x-session-id"));
  };
  EXPECT_EQ(read(MetadataOf(once)), std::chrono::milliseconds(250));
  EXPECT_EQ(read(MetadataOf(twice)), std::nullopt);
  EXPECT_EQ(read(MetadataOf(bad)), std::nullopt);
}

class HostileClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.max_timeout = std::chrono::seconds(5);
    server_ = std::make_unique<ApiServer>(Api::kSync, &env_, options);
    stub_ = server_->NewStub();
  }
  void TearDown() override {
    // The server still answers normally after whatever came before. Ask on a
    // fresh connection: gRPC may be closing the one that carried oversized
    // headers, and channels to one target share connections by default.
    ::grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto fresh = ctxtest::TestService::NewStub(::grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(server_->port()),
        ::grpc::InsecureChannelCredentials(), args));
    ctxtest::EchoResponse response;
    const ::grpc::Status s = Echo(fresh.get(), "echo", &response);
    EXPECT_TRUE(s.ok()) << "server unhealthy after the test: "
                        << s.error_message();
    stub_.reset();
    server_.reset();
  }

  Env env_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<ctxtest::TestService::Stub> stub_;
};

TEST_F(HostileClientTest, LogLineRequestIdIsReplacedAndNotEchoed) {
  const std::string hostile = "abc 2024-01-01 ERROR user=admin logged in";
  ctxtest::EchoResponse response;
  std::multimap<std::string, std::string> md;
  ASSERT_TRUE(Echo(
                  stub_.get(), "echo", &response,
                  [&](::grpc::ClientContext* c) {
                    c->AddMetadata("x-request-id", hostile);
                  },
                  &md)
                  .ok());
  EXPECT_NE(response.request_id(), hostile);
  EXPECT_TRUE(IsValidRequestId(response.request_id()));
  ASSERT_EQ(md.count("x-request-id"), 1u);
  EXPECT_EQ(md.find("x-request-id")->second, response.request_id())
      << "echoed the raw value";
  EXPECT_EQ(env_.recorder.Get(0).Value(kCallInfoKey)->request_id_source(),
            IdSource::kReplaced);
}

TEST_F(HostileClientTest, ManyDuplicateRequestIdsAreReplaced) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(
      Echo(stub_.get(), "echo", &response, [](::grpc::ClientContext* c) {
        for (int i = 0; i < 100; ++i)
          c->AddMetadata("x-request-id", "dup-" + std::to_string(i));
      }).ok());
  EXPECT_EQ(response.request_id().rfind("dup-", 0), std::string::npos)
      << response.request_id();
  EXPECT_TRUE(IsValidRequestId(response.request_id()));
}

TEST_F(HostileClientTest, OversizedRequestIdNeverReachesTheContext) {
  const std::string huge(64 * 1024, 'a');
  ctxtest::EchoResponse response;
  ::grpc::Status s = Echo(
      stub_.get(), "echo", &response,
      [&](::grpc::ClientContext* c) { c->AddMetadata("x-request-id", huge); });
  // gRPC may refuse the headers (over its metadata limit) or deliver them;
  // either way the value must not become the request id.
  if (s.ok()) {
    EXPECT_NE(response.request_id(), huge);
    EXPECT_TRUE(IsValidRequestId(response.request_id()));
  }
}

TEST_F(HostileClientTest, AbsurdClientDeadlineIsCapped) {
  ctxtest::EchoResponse response;
  ASSERT_TRUE(
      Echo(stub_.get(), "echo", &response, [](::grpc::ClientContext* c) {
        // ~100 years: grpc-timeout in hours, far beyond any sane budget.
        c->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::hours(24 * 36500));
      }).ok());
  EXPECT_LE(response.deadline_ms(), 5'000);
  EXPECT_GT(response.deadline_ms(), 0);
}

}  // namespace
}  // namespace ctx::grpc::testing
