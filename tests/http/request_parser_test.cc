// SPDX-License-Identifier: Apache-2.0
// The request framing on its own (http/src/request_parser.h): the same
// requests come out however the bytes are split, and what it hands httplib.

#include "request_parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ctx::http::internal {
namespace {

using State = RequestParser::State;

// FeedBytewise feeds `input` one byte at a time and takes every request.
std::vector<ParsedRequest> FeedBytewise(const std::string& input, State& last) {
  RequestParser parser{ParserLimits{}};
  std::vector<ParsedRequest> out;
  for (const char c : input) {
    last = parser.Feed(std::string_view(&c, 1));
    while (last == State::kComplete) {
      out.push_back(parser.Take());
      last = parser.state();
    }
  }
  return out;
}

TEST(RequestParser, BodyBytesAreHeldOnlyInTheRequest) {
  RequestParser parser{ParserLimits{}};
  constexpr size_t kChunk = 10'000;
  constexpr size_t kChunks = 10;
  parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " +
              std::to_string(kChunk * kChunks) + "\r\n\r\n");
  for (size_t i = 0; i < kChunks; ++i) {
    parser.Feed(std::string(kChunk, 'b'));
    EXPECT_EQ(parser.buffered_input(), 0u)
        << "after body chunk " << i << ": input still held; want 0 bytes";
  }
  ASSERT_EQ(parser.state(), State::kComplete);
  EXPECT_EQ(parser.Take().body.size(), kChunk * kChunks);
}

// LimitsWithBudget are the default limits with a body budget of `bytes`.
ParserLimits LimitsWithBudget(size_t bytes) {
  ParserLimits limits;
  limits.body_budget = std::make_shared<BodyBudget>(bytes);
  return limits;
}

TEST(RequestParser, BodyRoomGrowsByDoublingAndIsHeldUntilTheRequestIsGone) {
  const ParserLimits limits = LimitsWithBudget(1'000'000);
  RequestParser parser(limits);
  parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
  EXPECT_EQ(limits.body_budget->held(), 0u) << "a declared length took some";
  parser.Feed(std::string(1'000, 'b'));
  EXPECT_EQ(limits.body_budget->held(), 4'096u) << "the first room";
  parser.Feed(std::string(4'000, 'b'));
  EXPECT_EQ(limits.body_budget->held(), 8'192u) << "doubled";
  parser.Feed(std::string(4'000, 'b'));
  EXPECT_EQ(limits.body_budget->held(), 16'384u) << "doubled";
  ASSERT_EQ(parser.Feed(std::string(91'000, 'b')), State::kComplete);
  EXPECT_EQ(limits.body_budget->held(), 100'000u) << "not past the length";
  {
    const ParsedRequest request = parser.Take();
    EXPECT_EQ(request.body.capacity(), 100'000u) << "the room is the memory";
    EXPECT_EQ(limits.body_budget->held(), 100'000u) << "given back early";
  }
  EXPECT_EQ(limits.body_budget->held(), 0u);
}

// The room stops at the declared length, and the memory is the room (a
// string's reserve would round 10000 up to twice 8192).
TEST(RequestParser, BodyRoomIsTheBuffersCapacity) {
  const ParserLimits limits = LimitsWithBudget(1'000'000);
  RequestParser parser(limits);
  parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n" +
              std::string(1'000, 'b'));
  parser.Feed(std::string(4'000, 'b'));
  EXPECT_EQ(limits.body_budget->held(), 8'192u);
  ASSERT_EQ(parser.Feed(std::string(5'000, 'b')), State::kComplete);
  EXPECT_EQ(limits.body_budget->held(), 10'000u);
  EXPECT_EQ(parser.Take().body.capacity(), 10'000u);
}

TEST(RequestParser, BodyPastTheBudgetIsRefusedWith503) {
  const ParserLimits limits = LimitsWithBudget(10'000);
  RequestParser first(limits);
  RequestParser second(limits);
  ASSERT_EQ(first.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3000"
                       "\r\n\r\n" +
                       std::string(3'000, 'b')),
            State::kComplete);
  EXPECT_EQ(limits.body_budget->held(), 3'000u);
  second.Feed(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3e8\r\n" +
      std::string(1'000, 'c') + "\r\n");
  EXPECT_EQ(limits.body_budget->held(), 3'000u + 4'096u);
  // The next room (8 KiB) would pass the budget.
  ASSERT_EQ(second.Feed("fa0\r\n" + std::string(4'000, 'c') + "\r\n"),
            State::kError);
  EXPECT_EQ(second.error_status(), 503);
  EXPECT_EQ(limits.body_budget->held(), 3'000u)
      << "the refused body's room was not given back";
}

// The bytes of bodies past their first `small` leave the reserve untaken;
// small bodies may use it.
TEST(BodyBudget, LargeBodiesLeaveTheReserveToSmallOnes) {
  BodyBudget budget(/*limit=*/100, /*small=*/10, /*reserve=*/40);
  EXPECT_EQ(budget.LargestBody(), 70u);
  ASSERT_TRUE(budget.TryTake(60, 60));  // 50 past its first 10
  ASSERT_TRUE(budget.TryTake(20, 20));  // 10 more: the large share is full
  EXPECT_FALSE(budget.TryTake(10, 30)) << "a large body took the reserve";
  EXPECT_FALSE(budget.Fits(11));
  EXPECT_TRUE(budget.Fits(10));
  EXPECT_TRUE(budget.TryTake(10, 10)) << "a small body was refused";
  EXPECT_TRUE(budget.TryTake(10, 10)) << "a small body was refused";
  EXPECT_FALSE(budget.TryTake(1, 1)) << "past the limit";
  EXPECT_EQ(budget.held(), 100u);
  budget.Give(60, 60);
  EXPECT_EQ(budget.held(), 40u);
  EXPECT_TRUE(budget.TryTake(50, 60)) << "the share given back stayed taken";
}

// What small bodies hold does not shrink the large bodies' share: only the
// total limit bounds both.
TEST(BodyBudget, SmallBodiesDoNotShrinkTheLargeShare) {
  BodyBudget budget(/*limit=*/100, /*small=*/10, /*reserve=*/40);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(budget.TryTake(10, 10));
  EXPECT_TRUE(budget.Fits(60));
  EXPECT_TRUE(budget.TryTake(60, 60)) << "small bodies held the large share";
}

TEST(RequestParser, RejectedRequestGivesItsBodyRoomBack) {
  const ParserLimits limits = LimitsWithBudget(1'000'000);
  RequestParser parser(limits);
  parser.Feed(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nabcde");
  EXPECT_GT(limits.body_budget->held(), 0u);
  ASSERT_EQ(parser.Feed("XX"), State::kError);  // not the CRLF after the data
  EXPECT_EQ(parser.error_status(), 400);
  EXPECT_EQ(limits.body_budget->held(), 0u);
}

TEST(RequestParser, DroppedRequestGivesItsBodyRoomBack) {
  const ParserLimits limits = LimitsWithBudget(1'000'000);
  RequestParser parser(limits);
  parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab");
  EXPECT_GT(limits.body_budget->held(), 0u);
  parser.DropRequest();
  EXPECT_EQ(limits.body_budget->held(), 0u);
  EXPECT_EQ(parser.Feed("cdefghij"), State::kError) << "parsed on";
}

TEST(RequestParser, AbsoluteFormBecomesOriginFormWithTheTargetsHost) {
  RequestParser parser{ParserLimits{}};
  ASSERT_EQ(parser.Feed("GET http://example.com:8080/a?b=1 HTTP/1.1\r\n"
                        "Host: other\r\n\r\n"),
            State::kComplete);
  EXPECT_EQ(parser.Take().head,
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
}

TEST(RequestParser, AbsoluteFormWithUserinfoIsRejected) {
  RequestParser parser{ParserLimits{}};
  EXPECT_EQ(parser.Feed("GET http://u@example.com/ HTTP/1.1\r\n"
                        "Host: example.com\r\n\r\n"),
            State::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(RequestParser, ByteAtATimeFramesPipelinedRequests) {
  const std::string input =
      "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nab\r\n1;e=1\r\nc\r\n0\r\nT: v\r\n\r\n"
      "GET /c HTTP/1.0\r\n\r\n";
  State last = State::kIdle;
  const std::vector<ParsedRequest> got = FeedBytewise(input, last);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].head,
            "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(got[0].body, "xyz");
  EXPECT_EQ(got[1].head,
            "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(got[1].body, "abc");
  EXPECT_EQ(got[2].head, "GET /c HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(got[2].http10);
  EXPECT_EQ(last, State::kIdle);
}

TEST(RequestParser, StatesFollowTheRequest) {
  RequestParser parser{ParserLimits{}};
  EXPECT_EQ(parser.state(), State::kIdle);
  EXPECT_EQ(parser.Feed("POST / HTTP/1.1\r\nHo"), State::kHead);
  EXPECT_EQ(parser.Feed("st: h\r\nContent-Length: 2\r\n\r\n"), State::kBody);
  EXPECT_EQ(parser.Feed("ok"), State::kComplete);
}

TEST(RequestParser, ExpectContinueIsAskedOnceAndNotPassedOn) {
  RequestParser parser{ParserLimits{}};
  parser.Feed(
      "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
      "Content-Length: 1\r\n\r\n");
  EXPECT_TRUE(parser.WantsContinue());
  EXPECT_FALSE(parser.WantsContinue()) << "asked twice";
  ASSERT_EQ(parser.Feed("x"), State::kComplete);
  EXPECT_EQ(parser.Take().head.find("Expect"), std::string::npos);
}

TEST(RequestParser, NothingAfterAnErrorIsParsed) {
  RequestParser parser{ParserLimits{}};
  EXPECT_EQ(parser.Feed("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            State::kError);
  EXPECT_EQ(parser.error_status(), 400);
  EXPECT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), State::kError);
}

TEST(RequestParser, OverlongLineFailsBeforeItsEnd) {
  ParserLimits limits;
  limits.max_request_line = 16;
  RequestParser parser{limits};
  EXPECT_EQ(parser.Feed("GET /" + std::string(20, 'a')), State::kError)
      << "waited for the end of a line already over the limit";
  EXPECT_EQ(parser.error_status(), 414);
}

TEST(RequestParser, ZeroContentLengthIsKeptForHttplib) {
  RequestParser parser{ParserLimits{}};
  ASSERT_EQ(
      parser.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
      State::kComplete);
  EXPECT_EQ(parser.Take().head,
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
}

TEST(RequestParser, NulInHeaderValueIsRejected) {
  RequestParser parser{ParserLimits{}};
  EXPECT_EQ(parser.Feed(std::string(
                "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 35)),
            State::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

// Like nginx: an escape byte cannot move a boundary; the header's own rules
// (a request id's) decide what to do with it.
TEST(RequestParser, OtherControlCharactersInValuesPass) {
  RequestParser parser{ParserLimits{}};
  EXPECT_EQ(parser.Feed(
                "GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: a\x1b[31m\r\n\r\n"),
            State::kComplete);
}

TEST(RequestParser, ChunkSizeFollowedOnlyByWhitespaceIsRejected) {
  RequestParser parser{ParserLimits{}};
  const State got = parser.Feed(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5 \r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(got, State::kError) << "chunk size line \"5 \"";
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(RequestParser, HugeBodyLimitReservesNothingUpFront) {
  ParserLimits limits;
  limits.max_body_bytes = SIZE_MAX;  // "no limit"
  RequestParser parser{limits};
  // A declared length no allocator could satisfy: the head alone must not
  // try to allocate it.
  EXPECT_EQ(parser.Feed("POST / HTTP/1.1\r\nHost: h\r\n"
                        "Content-Length: 999999999999999999\r\n\r\n"),
            State::kBody);
  EXPECT_EQ(parser.Feed("abc"), State::kBody);
}

}  // namespace
}  // namespace ctx::http::internal
