// SPDX-License-Identifier: Apache-2.0
// Tests for ctx/pass_through.h: which headers may be passed on, and which
// values are.

#include "ctx/pass_through.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ctx {
namespace {

TEST(IsValidPassThroughName, AcceptsVendorHeaders) {
  for (std::string_view name : {"x-b3-traceid", "b3", "uber-trace-id",
                                "x-datadog-trace-id", "x-ot-span-context"}) {
    EXPECT_TRUE(IsValidPassThroughName(name)) << name << ": want valid";
  }
}

TEST(IsValidPassThroughName, RefusesHeadersCtxSetsItself) {
  for (std::string_view name :
       {"x-request-id", "x-session-id", "grpc-timeout", "x-request-timeout",
        "traceparent", "tracestate", "baggage"}) {
    EXPECT_FALSE(IsValidPassThroughName(name)) << name << ": want refused";
  }
}

TEST(IsValidPassThroughName, RefusesTransportAndCredentialHeaders) {
  for (std::string_view name :
       {"host", "connection", "content-length", "transfer-encoding",
        "proxy-authorization", "authorization", "cookie", "grpc-status", "te",
        "accept-encoding", "trace-bin"}) {
    EXPECT_FALSE(IsValidPassThroughName(name)) << name << ": want refused";
  }
}

TEST(IsValidPassThroughName, RefusesUppercaseEmptyAndLong) {
  EXPECT_FALSE(IsValidPassThroughName("X-B3-TraceId"));
  EXPECT_FALSE(IsValidPassThroughName(""));
  EXPECT_FALSE(IsValidPassThroughName(std::string(65, 'x')));
  EXPECT_FALSE(IsValidPassThroughName("x b3"));
}

TEST(IsValidPassThroughValue, AcceptsPrintableAscii) {
  EXPECT_TRUE(IsValidPassThroughValue(
      "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"));
  EXPECT_TRUE(IsValidPassThroughValue("a b"));
}

TEST(IsValidPassThroughValue, RefusesControlNonAsciiAndEdges) {
  using namespace std::string_literals;
  for (const std::string& v : {"a\r\nb"s, "a\0b"s, "caf\xc3\xa9"s, "a\tb"s, ""s,
                               " a"s, "a "s, std::string(257, 'v')}) {
    EXPECT_FALSE(IsValidPassThroughValue(v))
        << "value of " << v.size() << " bytes: want refused";
  }
}

TEST(MakePassThroughNames, LowercasesAndDropsRepeats) {
  const PassThroughNames names =
      MakePassThroughNames({"X-B3-TraceId", "x-b3-traceid", "B3"});
  EXPECT_EQ(names, (PassThroughNames{"x-b3-traceid", "b3"}));
}

TEST(MakePassThroughNames, ThrowsOnAnInvalidName) {
  EXPECT_THROW((void)MakePassThroughNames({"b3", "x-request-id"}),
               std::invalid_argument);
}

TEST(AcceptPassThrough, KeepsASingleValidValue) {
  PassThroughHeaders out;
  const std::string_view values[] = {"abc-1"};
  EXPECT_TRUE(AcceptPassThrough("b3", values, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "b3");
  EXPECT_EQ(out[0].value, "abc-1");
}

TEST(AcceptPassThrough, DropsRepeatedValues) {
  PassThroughHeaders out;
  const std::string_view values[] = {"a", "b"};
  EXPECT_FALSE(AcceptPassThrough("b3", values, out));
  EXPECT_TRUE(out.empty());
}

TEST(AcceptPassThrough, DropsInvalidValues) {
  PassThroughHeaders out;
  const std::string_view values[] = {"a\nb"};
  EXPECT_FALSE(AcceptPassThrough("b3", values, out));
  EXPECT_TRUE(out.empty());
}

TEST(AcceptPassThrough, AbsentHeaderAddsNothing) {
  PassThroughHeaders out;
  EXPECT_FALSE(AcceptPassThrough("b3", {}, out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace ctx
