// SPDX-License-Identifier: Apache-2.0
// The header rules of ctx/http/request_headers.h, one test per rule, without
// sockets.

#include "ctx/http/request_headers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ctx/propagation.h"

namespace ctx::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

RequestHeaders Read(const httplib::Headers& h, const HeaderPolicy& p = {}) {
  return ReadRequestHeaders(h, p);
}

TEST(RequestTimeout, MillisecondsBecomeTheBudget) {
  RequestHeaders r = Read({{"X-Request-Timeout", "1500"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.timeout, nanoseconds(milliseconds(1500)));
}

TEST(RequestTimeout, NameIsCaseInsensitive) {
  RequestHeaders r = Read({{"x-request-timeout", "7"}});
  EXPECT_EQ(r.timeout, nanoseconds(milliseconds(7)));
}

TEST(RequestTimeout, ZeroMeansBudgetSpent) {
  RequestHeaders r = Read({{"X-Request-Timeout", "0"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.timeout, nanoseconds::zero());
}

TEST(RequestTimeout, MalformedValuesAreRejected) {
  for (const char* bad : {"", "-5", "+5", "1.5", "abc", " 5", "5 ", "5ms",
                          "0x10", "99999999999999999999999"}) {
    RequestHeaders r = Read({{"X-Request-Timeout", bad}});
    EXPECT_FALSE(r.ok()) << "X-Request-Timeout: \"" << bad
                         << "\" was accepted, want 400";
    EXPECT_EQ(r.rejected_header, kRequestTimeoutHeader);
    EXPECT_FALSE(r.timeout.has_value());
  }
}

TEST(RequestTimeout, RepeatedHeaderIsRejected) {
  RequestHeaders r =
      Read({{"X-Request-Timeout", "100"}, {"X-Request-Timeout", "100"}});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.rejected_header, kRequestTimeoutHeader);
  EXPECT_EQ(r.error, "repeated header");
}

TEST(RequestTimeout, HugeValueSaturatesThenIsCapped) {
  HeaderPolicy p;
  p.max_timeout = seconds(30);
  RequestHeaders r = Read({{"X-Request-Timeout", "9223372036854775807"}}, p);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.timeout, nanoseconds(seconds(30)));
  RequestHeaders uncapped = Read({{"X-Request-Timeout", "9223372036854775"}});
  ASSERT_TRUE(uncapped.ok());
  EXPECT_EQ(uncapped.timeout, nanoseconds::max());
}

TEST(GrpcTimeout, UnitsAreHonoured) {
  EXPECT_EQ(Read({{"grpc-timeout", "250m"}}).timeout,
            nanoseconds(milliseconds(250)));
  EXPECT_EQ(Read({{"grpc-timeout", "2S"}}).timeout, nanoseconds(seconds(2)));
  EXPECT_EQ(Read({{"grpc-timeout", "5u"}}).timeout, nanoseconds(5000));
}

TEST(GrpcTimeout, MalformedValuesAreRejected) {
  for (const char* bad :
       {"", "5", "m", "5x", "-5m", "1.5S", "123456789m", "5 m", "5mm"}) {
    RequestHeaders r = Read({{"grpc-timeout", bad}});
    EXPECT_FALSE(r.ok()) << "grpc-timeout: \"" << bad
                         << "\" was accepted, want 400";
    EXPECT_EQ(r.rejected_header, kGrpcTimeoutHeader);
  }
}

TEST(GrpcTimeout, RepeatedHeaderIsRejected) {
  RequestHeaders r = Read({{"grpc-timeout", "1S"}, {"grpc-timeout", "2S"}});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.rejected_header, kGrpcTimeoutHeader);
}

TEST(Timeout, SmallerOfBothSyntaxesWins) {
  EXPECT_EQ(
      Read({{"X-Request-Timeout", "100"}, {"grpc-timeout", "2S"}}).timeout,
      nanoseconds(milliseconds(100)));
  EXPECT_EQ(
      Read({{"X-Request-Timeout", "5000"}, {"grpc-timeout", "20m"}}).timeout,
      nanoseconds(milliseconds(20)));
}

TEST(Timeout, DefaultAppliesWhenNoneSent) {
  HeaderPolicy p;
  p.default_timeout = seconds(3);
  EXPECT_EQ(Read({}, p).timeout, nanoseconds(seconds(3)));
  EXPECT_EQ(Read({{"X-Request-Timeout", "10"}}, p).timeout,
            nanoseconds(milliseconds(10)));
}

TEST(Timeout, NoHeaderNoDefaultNoCapMeansNoDeadline) {
  EXPECT_FALSE(Read({}).timeout.has_value());
}

TEST(Timeout, CapAppliesToSentDefaultAndMissingBudgets) {
  HeaderPolicy p;
  p.max_timeout = seconds(1);
  EXPECT_EQ(Read({{"X-Request-Timeout", "5000"}}, p).timeout,
            nanoseconds(seconds(1)));
  EXPECT_EQ(Read({}, p).timeout, nanoseconds(seconds(1)));
  p.default_timeout = seconds(10);
  EXPECT_EQ(Read({}, p).timeout, nanoseconds(seconds(1)));
}

TEST(RequestId, ValidIdIsKept) {
  RequestHeaders r = Read({{"X-Request-Id", "abc-123_x.y:z"}});
  EXPECT_EQ(r.request_id, "abc-123_x.y:z");
  EXPECT_EQ(r.request_id_source, IdSource::kIncoming);
}

TEST(RequestId, MissingIdIsGenerated) {
  RequestHeaders r = Read({});
  EXPECT_TRUE(IsValidRequestId(r.request_id)) << r.request_id;
  EXPECT_EQ(r.request_id_source, IdSource::kGenerated);
}

TEST(RequestId, InvalidIdsAreReplacedNeverCopied) {
  const std::string bad[] = {
      "",
      "a\r\nSet-Cookie: x=y",
      std::string("a\0b", 3),
      "caf\xc3\xa9",
      "has space",
      std::string(64 * 1024, 'a'),
  };
  for (const std::string& id : bad) {
    RequestHeaders r = Read({{"X-Request-Id", id}});
    EXPECT_TRUE(r.ok()) << "an invalid request id must not reject the request";
    EXPECT_EQ(r.request_id_source, IdSource::kReplaced);
    EXPECT_TRUE(IsValidRequestId(r.request_id)) << LogSafe(r.request_id);
    EXPECT_NE(r.request_id, id);
  }
}

TEST(RequestId, RepeatedIdIsReplaced) {
  RequestHeaders r = Read({{"X-Request-Id", "one"}, {"X-Request-Id", "two"}});
  EXPECT_EQ(r.request_id_source, IdSource::kReplaced);
  EXPECT_NE(r.request_id, "one");
  EXPECT_NE(r.request_id, "two");
}

TEST(RequestId, RejectedRequestStillGetsAnId) {
  RequestHeaders r =
      Read({{"X-Request-Id", "keep-me"}, {"X-Request-Timeout", "bad"}});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.request_id, "keep-me");
}

TEST(SessionId, ValidHeaderIsUsed) {
  EXPECT_EQ(Read({{"X-Session-Id", "s-1"}}).session_id, "s-1");
}

TEST(SessionId, InvalidOrRepeatedHeaderIsIgnored) {
  EXPECT_FALSE(Read({{"X-Session-Id", "a\r\nb"}}).session_id.has_value());
  EXPECT_FALSE(Read({{"X-Session-Id", ""}}).session_id.has_value());
  EXPECT_FALSE(Read({{"X-Session-Id", "a"}, {"X-Session-Id", "b"}})
                   .session_id.has_value());
}

TEST(SessionId, CookieUsedOnlyWhenNamedAndHeaderAbsent) {
  HeaderPolicy p;
  p.session_cookie = "sid";
  const httplib::Headers cookie{{"Cookie", "a=1; sid=abc; b=2"}};
  EXPECT_FALSE(Read(cookie).session_id.has_value())
      << "cookies must be ignored unless the policy names one";
  EXPECT_EQ(Read(cookie, p).session_id, "abc");
  httplib::Headers both = cookie;
  both.emplace("X-Session-Id", "from-header");
  EXPECT_EQ(Read(both, p).session_id, "from-header");
}

TEST(SessionId, InvalidHeaderDoesNotFallBackToCookie) {
  HeaderPolicy p;
  p.session_cookie = "sid";
  EXPECT_FALSE(Read({{"X-Session-Id", "bad value"}, {"Cookie", "sid=ok"}}, p)
                   .session_id.has_value());
}

TEST(FindCookie, ParsesPairsAcrossHeadersAndStripsQuotes) {
  const httplib::Headers h{{"Cookie", "a=1;b = \"two\" "}, {"Cookie", "c=3"}};
  EXPECT_EQ(FindCookie(h, "a"), "1");
  EXPECT_EQ(FindCookie(h, "b"), "two");
  EXPECT_EQ(FindCookie(h, "c"), "3");
  EXPECT_FALSE(FindCookie(h, "d").has_value());
}

// Found by session_id_fuzzer: quotes are stripped, spaces inside them kept.
TEST(FindCookie, QuotedValueKeepsInnerSpaces) {
  const httplib::Headers h{{"Cookie", "a=1; sid=\" sidq\"; =b=2b="}};
  EXPECT_EQ(FindCookie(h, "sid"), " sidq");
  HeaderPolicy p;
  p.session_cookie = "sid";
  EXPECT_FALSE(Read(h, p).session_id.has_value())
      << "a session id with a space must be ignored";
}

// Found by request_timeout_fuzzer (in the fuzzer's own round trip): the
// largest int64 of milliseconds must saturate, not overflow, as nanoseconds.
TEST(RequestTimeout, Int64MaxMillisecondsSaturates) {
  RequestHeaders r = Read({{"X-Request-Timeout", "9223372036854775807"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.timeout, nanoseconds::max());
}

TEST(FindCookie, DuplicateNameIsAmbiguous) {
  EXPECT_FALSE(FindCookie({{"Cookie", "sid=a; sid=b"}}, "sid").has_value());
  EXPECT_FALSE(FindCookie({{"Cookie", "sid=a"}, {"Cookie", "sid=b"}}, "sid")
                   .has_value());
}

TEST(FindCookie, MalformedPairsAreSkipped) {
  EXPECT_EQ(FindCookie({{"Cookie", ";;novalue; =x; sid=ok;"}}, "sid"), "ok");
  EXPECT_FALSE(FindCookie({{"Cookie", "sid"}}, "sid").has_value());
  EXPECT_FALSE(FindCookie({{"Cookie", "sid=1"}}, "").has_value());
}

}  // namespace
}  // namespace ctx::http
