// SPDX-License-Identifier: Apache-2.0
// Tests for ctx/trace_context.h: W3C Trace Context and Baggage.

#include "ctx/trace_context.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ctx/context.h"

namespace ctx {
namespace {

using namespace std::string_literals;

constexpr std::string_view kTraceIdHex = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParentIdHex = "00f067aa0ba902b7";
constexpr std::string_view kValid =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// Traceparent builds a traceparent from its parts.
std::string Tp(std::string_view version, std::string_view trace_id,
               std::string_view parent_id, std::string_view flags) {
  std::string s(version);
  s.append("-").append(trace_id).append("-").append(parent_id).append("-");
  return s.append(flags);
}

// Members returns n list-members "k<i>=<value>" joined with ',' (built by
// appending: GCC 12 warns falsely on `"k" + std::to_string(i)`).
std::string Members(int n, std::string_view value) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (!out.empty()) out += ',';
    out.append("k").append(std::to_string(i)).append("=").append(value);
  }
  return out;
}

// --- traceparent ---

TEST(ParseTraceparent, AcceptsVersion00) {
  ParseResult<Traceparent> r = ParseTraceparent(kValid);
  ASSERT_TRUE(r) << "parse " << kValid << ": " << r.error;
  EXPECT_EQ(r.value->version, 0);
  EXPECT_EQ(r.value->trace_id.ToHex(), kTraceIdHex);
  EXPECT_EQ(r.value->parent_id.ToHex(), kParentIdHex);
  EXPECT_EQ(r.value->flags, 0x01);
}

TEST(ParseTraceparent, KeepsUnknownFlagsAsSent) {
  ParseResult<Traceparent> r =
      ParseTraceparent(Tp("00", kTraceIdHex, kParentIdHex, "ff"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r.value->flags, 0xff);
}

TEST(ParseTraceparent, RejectsVersion00WithExtraFields) {
  const std::string v = std::string(kValid) + "-extra";
  EXPECT_FALSE(ParseTraceparent(v)) << "parse " << v << ": got ok, want error";
}

TEST(ParseTraceparent, AcceptsHigherVersionWithExactLength) {
  ParseResult<Traceparent> r =
      ParseTraceparent(Tp("cc", kTraceIdHex, kParentIdHex, "01"));
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r.value->version, 0xcc);
  EXPECT_EQ(r.value->trace_id.ToHex(), kTraceIdHex);
}

TEST(ParseTraceparent, AcceptsHigherVersionWithExtraFieldsAfterDash) {
  const std::string v =
      Tp("cc", kTraceIdHex, kParentIdHex, "01") + "-what-the-future-holds";
  ParseResult<Traceparent> r = ParseTraceparent(v);
  ASSERT_TRUE(r) << "parse " << v << ": " << r.error;
  EXPECT_EQ(r.value->parent_id.ToHex(), kParentIdHex);
  EXPECT_EQ(r.value->flags, 0x01);
}

TEST(ParseTraceparent, RejectsHigherVersionWithoutDashAfterFlags) {
  const std::string v = Tp("cc", kTraceIdHex, kParentIdHex, "01") + "x";
  EXPECT_FALSE(ParseTraceparent(v)) << "parse " << v << ": got ok, want error";
}

TEST(ParseTraceparent, RejectsVersionFF) {
  EXPECT_FALSE(ParseTraceparent(Tp("ff", kTraceIdHex, kParentIdHex, "01")));
}

TEST(ParseTraceparent, RejectsAllZeroTraceId) {
  ParseResult<Traceparent> r = ParseTraceparent(
      Tp("00", "00000000000000000000000000000000", kParentIdHex, "01"));
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, "traceparent: trace id is all zeros");
}

TEST(ParseTraceparent, RejectsAllZeroParentId) {
  ParseResult<Traceparent> r =
      ParseTraceparent(Tp("00", kTraceIdHex, "0000000000000000", "01"));
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, "traceparent: parent id is all zeros");
}

TEST(ParseTraceparent, RejectsUppercaseHex) {
  for (const std::string& v :
       {Tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kParentIdHex, "01"),
        Tp("00", kTraceIdHex, "00F067AA0BA902B7", "01"),
        Tp("00", kTraceIdHex, kParentIdHex, "0A"),
        Tp("0A", kTraceIdHex, kParentIdHex, "01")}) {
    EXPECT_FALSE(ParseTraceparent(v)) << "parse " << v << ": got ok";
  }
}

TEST(ParseTraceparent, RejectsNonHexCharacters) {
  for (const std::string& v :
       {Tp("00", "4bf92f3577b34da6a3ce929d0e0e473g", kParentIdHex, "01"),
        Tp("00", kTraceIdHex, "00f067aa0ba902b.", "01"),
        Tp("00", kTraceIdHex, kParentIdHex, "0x"),
        Tp("0z", kTraceIdHex, kParentIdHex, "01")}) {
    EXPECT_FALSE(ParseTraceparent(v)) << "parse " << v << ": got ok";
  }
}

TEST(ParseTraceparent, RejectsWrongFieldLengths) {
  for (const std::string& v :
       {Tp("00", "4bf92f3577b34da6a3ce929d0e0e473", kParentIdHex, "01"),
        Tp("00", "4bf92f3577b34da6a3ce929d0e0e47361", kParentIdHex, "01"),
        Tp("00", kTraceIdHex, "00f067aa0ba902b", "01"),
        Tp("00", kTraceIdHex, "00f067aa0ba902b71", "01"),
        Tp("00", kTraceIdHex, kParentIdHex, "1"),
        Tp("00", kTraceIdHex, kParentIdHex, "011"),
        Tp("0", kTraceIdHex, kParentIdHex, "01"), ""s}) {
    EXPECT_FALSE(ParseTraceparent(v)) << "parse \"" << v << "\": got ok";
  }
}

TEST(ParseTraceparent, RejectsOtherSeparators) {
  std::string v(kValid);
  v[35] = '_';
  EXPECT_FALSE(ParseTraceparent(v)) << "parse " << v << ": got ok";
}

TEST(ParseTraceparent, RejectsSurroundingSpaces) {
  EXPECT_FALSE(ParseTraceparent(" "s + std::string(kValid)));
  EXPECT_FALSE(ParseTraceparent(std::string(kValid) + " "));
}

// --- tracestate ---

TEST(ParseTracestate, NormalizesWhitespaceAndEmptyMembers) {
  ParseResult<std::string> r =
      ParseTracestate(" congo=t61rcWkgMzE ,\t, rojo=00f067aa0ba902b7\t");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(*r.value, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}

TEST(ParseTracestate, AcceptsMultiTenantKeys) {
  ParseResult<std::string> r =
      ParseTracestate("fw529a3039@dt=abc,0tenant@sys=1");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(*r.value, "fw529a3039@dt=abc,0tenant@sys=1");
}

TEST(ParseTracestate, RejectsKeysOutsideTheGrammar) {
  for (std::string_view v :
       {"Upper=1", "1digitfirst=1", "a@=1", "@b=1", "a@1sys=1",
        "a@abcdefghijklmno=1", "a@b@c=1", "sp ace=1", "=1"}) {
    EXPECT_FALSE(ParseTracestate(v)) << "parse " << v << ": got ok";
  }
}

TEST(ParseTracestate, KeyLengthLimitIs256) {
  const std::string ok = "a" + std::string(255, 'b') + "=1";
  const std::string too_long = "a" + std::string(256, 'b') + "=1";
  EXPECT_TRUE(ParseTracestate(ok));
  EXPECT_FALSE(ParseTracestate(too_long));
}

TEST(ParseTracestate, TenantAndSystemLengthLimits) {
  EXPECT_TRUE(ParseTracestate(std::string(241, 't') + "@" +
                              std::string(14, 's') + "=1"));
  EXPECT_FALSE(ParseTracestate(std::string(242, 't') + "@s=1"));
  EXPECT_FALSE(ParseTracestate("t@" + std::string(15, 's') + "=1"));
}

TEST(ParseTracestate, RejectsValuesOutsideTheGrammar) {
  for (std::string_view v : {"a=", "a=b=c", "a=\x01", "a=caf\xc3\xa9", "a"}) {
    EXPECT_FALSE(ParseTracestate(v)) << "parse " << v << ": got ok";
  }
}

TEST(ParseTracestate, ValueLengthLimitIs256) {
  EXPECT_TRUE(ParseTracestate("a=" + std::string(256, 'v')));
  EXPECT_FALSE(ParseTracestate("a=" + std::string(257, 'v')));
}

TEST(ParseTracestate, AllowsSpacesInsideValues) {
  ParseResult<std::string> r = ParseTracestate("a= x y");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(*r.value, "a= x y");
}

TEST(ParseTracestate, RejectsRepeatedKeys) {
  ParseResult<std::string> r = ParseTracestate("a=1,b=2,a=3");
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, "tracestate: repeated key");
}

TEST(ParseTracestate, AcceptsThirtyTwoMembers) {
  ParseResult<std::string> r = ParseTracestate(Members(32, "v"));
  ASSERT_TRUE(r) << r.error;
}

TEST(ParseTracestate, RejectsThirtyThreeMembers) {
  ParseResult<std::string> r = ParseTracestate(Members(33, "v"));
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, "tracestate: more than 32 members");
}

TEST(ParseTracestate, OverBudgetDropsLongMembersFirst) {
  // Four members of 140 characters and one of 10: 571 with commas.
  std::string v;
  for (int i = 0; i < 4; ++i) {
    v += "long" + std::to_string(i) + "=" + std::string(134, 'x') + ",";
  }
  v += "short=1234";
  ParseResult<std::string> r = ParseTracestate(v);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(*r.value, "short=1234");
}

TEST(ParseTracestate, OverBudgetThenDropsFromTheEnd) {
  // 40 members cannot be valid; use 30 members of 20 characters: 629 > 512.
  std::string v;
  for (int i = 10; i < 40; ++i) {
    if (!v.empty()) v += ',';
    v += "key" + std::to_string(i) + "=" + std::string(14, 'v');
  }
  ParseResult<std::string> r = ParseTracestate(v);
  ASSERT_TRUE(r) << r.error;
  EXPECT_LE(r.value->size(), kTracestateBudget);
  EXPECT_EQ(r.value->size(), 24u * 21 - 1) << "kept members: want 24";
  EXPECT_EQ(r.value->substr(0, 6), "key10=") << "the first member stays";
}

TEST(ParseTracestate, EmptyIsValidAndEmpty) {
  ParseResult<std::string> r = ParseTracestate(" , ");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(*r.value, "");
}

// --- baggage ---

TEST(FilterBaggage, KeepsValidMembersWithProperties) {
  EXPECT_EQ(FilterBaggage("userId=alice,serverNode=DF%2028;p1;p2=v"),
            "userId=alice,serverNode=DF%2028;p1;p2=v");
}

TEST(FilterBaggage, RemovesOptionalWhitespace) {
  EXPECT_EQ(FilterBaggage(" a = 1 ;\tp1 ; p2\t=\tv ,\tb\t=2"),
            "a=1;p1;p2=v,b=2");
}

TEST(FilterBaggage, DropsInvalidMembersOneByOne) {
  EXPECT_EQ(FilterBaggage("a=1,bad key=2,c=\"q\",=4,noequals,e=5"), "a=1,e=5");
}

TEST(FilterBaggage, AllowsEmptyValues) { EXPECT_EQ(FilterBaggage("a="), "a="); }

TEST(FilterBaggage, DropsControlAndNonAsciiBytes) {
  EXPECT_EQ(FilterBaggage("a=\x01,b=caf\xc3\xa9,c=ok"), "c=ok");
}

TEST(FilterBaggage, KeepsAtMostSixtyFourMembers) {
  const std::string out = FilterBaggage(Members(70, "v"));
  EXPECT_EQ(std::count(out.begin(), out.end(), ',') + 1, 64);
  EXPECT_EQ(out.substr(0, 5), "k0=v,");
}

TEST(FilterBaggage, KeepsAtMost8192Bytes) {
  const std::string out = FilterBaggage(Members(10, std::string(1000, 'v')));
  EXPECT_LE(out.size(), kMaxBaggageBytes);
  EXPECT_EQ(std::count(out.begin(), out.end(), ',') + 1, 8)
      << "members of 1003 bytes: want 8 kept";
}

// --- ids, children, formatting ---

TEST(NewTrace, HasValidRandomIds) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    TraceContext tc = NewTrace();
    ASSERT_TRUE(tc.trace_id.IsValid());
    ASSERT_TRUE(tc.parent_id.IsValid());
    EXPECT_TRUE(seen.insert(tc.trace_id.ToHex()).second) << "repeated id";
  }
}

TEST(NewTrace, SampledFlagFollowsTheArgument) {
  EXPECT_TRUE(NewTrace(true).sampled());
  EXPECT_FALSE(NewTrace(false).sampled());
}

TEST(ChildForCall, KeepsTraceIdFlagsStateAndBaggageWithNewSpan) {
  TraceContext tc = NewTrace(true, "a=1");
  tc.tracestate = "congo=x";
  const TraceContext child = ChildForCall(tc);
  EXPECT_EQ(child.trace_id, tc.trace_id);
  EXPECT_NE(child.parent_id, tc.parent_id);
  EXPECT_TRUE(child.parent_id.IsValid());
  EXPECT_EQ(child.flags, tc.flags);
  EXPECT_EQ(child.tracestate, "congo=x");
  EXPECT_EQ(child.baggage, "a=1");
}

TEST(FormatTraceparent, RoundTripsThroughTheParser) {
  ParseResult<Traceparent> r = ParseTraceparent(kValid);
  ASSERT_TRUE(r);
  TraceContext tc{
      r.value->trace_id, r.value->parent_id, r.value->flags, {}, {}};
  EXPECT_EQ(FormatTraceparent(tc), kValid);
}

TEST(FormatTraceparent, SendsOnlyKnownFlags) {
  TraceContext tc = NewTrace();
  tc.flags = 0xff;
  EXPECT_EQ(FormatTraceparent(tc).substr(53), "03");
}

TEST(TraceContextKey, PrintsTheTraceparentOnly) {
  TraceContext tc = NewTrace(false, "secret=1");
  std::ostringstream os;
  os << tc;
  EXPECT_EQ(os.str(), FormatTraceparent(tc));
  const Context c = WithValue(Background(), kTraceContextKey, tc);
  EXPECT_EQ(c.Value(kTraceContextKey)->trace_id, tc.trace_id);
}

TEST(OutgoingTrace, SendsSameTraceNewSpanAndTheState) {
  TraceContext tc = NewTrace(true, "a=1");
  tc.tracestate = "congo=x";
  const OutgoingTraceHeaders out = OutgoingTrace(tc);
  ParseResult<Traceparent> tp = ParseTraceparent(out.traceparent);
  ASSERT_TRUE(tp) << "parse " << out.traceparent << ": " << tp.error;
  EXPECT_EQ(tp.value->trace_id, tc.trace_id);
  EXPECT_NE(tp.value->parent_id, tc.parent_id);
  EXPECT_EQ(tp.value->flags, kTraceFlagSampled);
  EXPECT_EQ(out.tracestate, "congo=x");
  EXPECT_EQ(out.baggage, "a=1");
}

TEST(OutgoingTrace, NewSpanIdPerCall) {
  const TraceContext tc = NewTrace();
  EXPECT_NE(OutgoingTrace(tc).traceparent, OutgoingTrace(tc).traceparent);
}

TEST(OutgoingTrace, SendsNothingForInvalidIds) {
  const OutgoingTraceHeaders out = OutgoingTrace(TraceContext{});
  EXPECT_EQ(out.traceparent, "");
  EXPECT_EQ(out.tracestate, "");
  EXPECT_EQ(out.baggage, "");
}

TEST(OutgoingTrace, DropsUnsendableStateAndBaggage) {
  TraceContext tc = NewTrace();
  tc.tracestate = "a=1\r\nx: y";
  tc.baggage = std::string(kMaxBaggageBytes + 1, 'b');
  const OutgoingTraceHeaders out = OutgoingTrace(tc);
  EXPECT_NE(out.traceparent, "");
  EXPECT_EQ(out.tracestate, "") << "CR LF must never be sent";
  EXPECT_EQ(out.baggage, "") << "over the byte limit";
}

// --- the inbound step ---

TEST(AcceptTraceContext, KeepsAValidTraceparentWithItsState) {
  const std::string_view tp[] = {kValid};
  const std::string_view ts[] = {"congo=1", "rojo=2"};
  const std::string_view bg[] = {"a=1"};
  AcceptedTrace t = AcceptTraceContext(
      {.traceparent = tp, .tracestate = ts, .baggage = bg}, {});
  ASSERT_TRUE(t.context);
  EXPECT_EQ(t.source, TraceSource::kIncoming);
  EXPECT_EQ(FormatTraceparent(*t.context), kValid);
  EXPECT_EQ(t.context->tracestate, "congo=1,rojo=2");
  EXPECT_EQ(t.context->baggage, "a=1");
  EXPECT_TRUE(t.error.empty()) << t.error;
}

TEST(AcceptTraceContext, StripsOptionalWhitespace) {
  const std::string tp_value = " \t" + std::string(kValid) + " ";
  const std::string_view tp[] = {tp_value};
  AcceptedTrace t = AcceptTraceContext({.traceparent = tp}, {});
  EXPECT_EQ(t.source, TraceSource::kIncoming) << t.error;
}

TEST(AcceptTraceContext, AbsentStartsANewTrace) {
  AcceptedTrace t = AcceptTraceContext({}, {});
  ASSERT_TRUE(t.context);
  EXPECT_EQ(t.source, TraceSource::kStarted);
  EXPECT_TRUE(t.context->trace_id.IsValid());
  EXPECT_FALSE(t.context->sampled());
}

TEST(AcceptTraceContext, AbsentWithoutStartingLeavesNoTrace) {
  AcceptedTrace t = AcceptTraceContext({}, {.start_trace = false});
  EXPECT_FALSE(t.context);
  EXPECT_EQ(t.source, TraceSource::kNone);
  EXPECT_EQ(t.error, "");
}

TEST(AcceptTraceContext, TracestateWithoutTraceparentIsIgnored) {
  const std::string_view ts[] = {"congo=1"};
  AcceptedTrace t = AcceptTraceContext({.tracestate = ts}, {});
  ASSERT_TRUE(t.context);
  EXPECT_EQ(t.source, TraceSource::kStarted);
  EXPECT_EQ(t.context->tracestate, "");
  EXPECT_EQ(t.error, "");
}

TEST(AcceptTraceContext, InvalidRestartsAndDropsTracestate) {
  const std::string_view tp[] = {"00-zz"};
  const std::string_view ts[] = {"congo=1"};
  AcceptedTrace t =
      AcceptTraceContext({.traceparent = tp, .tracestate = ts}, {});
  ASSERT_TRUE(t.context);
  EXPECT_EQ(t.source, TraceSource::kRestarted);
  EXPECT_EQ(t.context->tracestate, "");
  EXPECT_EQ(t.error, "traceparent: too short");
}

TEST(AcceptTraceContext, RepeatedTraceparentRestarts) {
  const std::string_view tp[] = {kValid, kValid};
  AcceptedTrace t = AcceptTraceContext({.traceparent = tp}, {});
  EXPECT_EQ(t.source, TraceSource::kRestarted);
  EXPECT_NE(t.context->trace_id.ToHex(), kTraceIdHex);
}

TEST(AcceptTraceContext, PolicyCanLeaveTheTraceAbsent) {
  const std::string_view tp[] = {"garbage"};
  AcceptedTrace t =
      AcceptTraceContext({.traceparent = tp}, {.start_trace = false});
  EXPECT_FALSE(t.context);
  EXPECT_EQ(t.source, TraceSource::kNone);
}

TEST(AcceptTraceContext, NewTracesAreSampledWhenThePolicySaysSo) {
  AcceptedTrace t = AcceptTraceContext({}, {.sample_new_traces = true});
  EXPECT_TRUE(t.context->sampled());
}

TEST(AcceptTraceContext, InvalidTracestateIsDroppedButTraceKept) {
  const std::string_view tp[] = {kValid};
  const std::string_view ts[] = {"a=1,a=2"};
  AcceptedTrace t =
      AcceptTraceContext({.traceparent = tp, .tracestate = ts}, {});
  EXPECT_EQ(t.source, TraceSource::kIncoming);
  EXPECT_EQ(t.context->tracestate, "");
  EXPECT_EQ(t.error, "tracestate: repeated key");
}

TEST(AcceptTraceContext, BaggageSurvivesARestartedTrace) {
  const std::string_view bg[] = {"a=1", "bad key=2", "c=3"};
  AcceptedTrace t = AcceptTraceContext({.baggage = bg}, {});
  EXPECT_EQ(t.context->baggage, "a=1,c=3");
}

TEST(AcceptTraceContext, PolicyCanRefuseBaggage) {
  const std::string_view bg[] = {"a=1"};
  AcceptedTrace t =
      AcceptTraceContext({.baggage = bg}, {.accept_baggage = false});
  EXPECT_EQ(t.context->baggage, "");
}

}  // namespace
}  // namespace ctx
