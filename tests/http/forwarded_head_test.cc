// SPDX-License-Identifier: Apache-2.0
// The head handed to httplib (http/src/forwarded_head.h): the Connection line
// it normalizes, the escaped '%', the names it drops, and its reuse after
// Finish. Host, Expect and Content-Length
// are pinned through the parser (request_parser_test.cc), Range end to end
// (range_test.cc).

#include "forwarded_head.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace ctx::http::internal {
namespace {

// AddFields tells `head` each of `lines`, written `name: value`.
void AddFields(ForwardedHead& head,
               std::initializer_list<std::string_view> lines) {
  for (const std::string_view line : lines) {
    const size_t colon = line.find(':');
    head.Field(line.substr(0, colon), line.substr(colon + 2));
  }
}

// HeadWith returns the head of a GET / whose header lines are `lines`.
std::string HeadWith(std::initializer_list<std::string_view> lines) {
  ForwardedHead head;
  head.RequestLine("GET", "/", "HTTP/1.1", "");
  AddFields(head, lines);
  return head.Finish(0);
}

TEST(ForwardedHead, KeepAliveTokenInAnyCaseBecomesHttplibsSpelling) {
  EXPECT_EQ(HeadWith({"Connection: keep-ALIVE"}),
            "GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n");
}

TEST(ForwardedHead, CloseWinsOverKeepAlive) {
  EXPECT_EQ(HeadWith({"Connection: Keep-Alive, Close"}),
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
}

TEST(ForwardedHead, OtherConnectionValuesAreJoinedAsReceived) {
  EXPECT_EQ(HeadWith({"Connection: Upgrade", "X: 1", "connection: te"}),
            "GET / HTTP/1.1\r\nX: 1\r\nConnection: Upgrade, te\r\n\r\n");
}

TEST(ForwardedHead, EachPercentInAValueIsEscapedForHttplibsDecoding) {
  EXPECT_EQ(HeadWith({"X: a%2Cb%", "Connection: %u0041"}),
            "GET / HTTP/1.1\r\nX: a%252Cb%25\r\nConnection: %25u0041\r\n\r\n");
  EXPECT_EQ(EscapedSize("a%2Cb%"), 6 + 4u);
  EXPECT_EQ(ForwardedLineSize("X", "a%2Cb%"), 3 + 6 + 4u);
}

TEST(ForwardedHead, NamesHttplibSetsItselfAreDropped) {
  EXPECT_EQ(HeadWith({"REMOTE_ADDR: 6.6.6.6", "remote_port: 1",
                      "Local_Addr: 6.6.6.6", "LOCAL_PORT: 1", "X: 1"}),
            "GET / HTTP/1.1\r\nX: 1\r\n\r\n");
}

TEST(ForwardedHead, FinishLeavesItReadyForTheNextRequest) {
  ForwardedHead head;
  head.RequestLine("POST", "/a", "HTTP/1.1", "h");
  AddFields(head, {"Content-Length: 3", "Connection: close"});
  (void)head.Finish(3);
  head.RequestLine("GET", "/b", "HTTP/1.1", "");
  EXPECT_EQ(head.Finish(0), "GET /b HTTP/1.1\r\n\r\n")
      << "second request after a first with Host, Connection and a body";
}

}  // namespace
}  // namespace ctx::http::internal
