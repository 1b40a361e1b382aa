// SPDX-License-Identifier: Apache-2.0
// Which '%' bytes of a response the client escapes before httplib decodes
// header values (http/src/response_head_escaper.h).

#include "response_head_escaper.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ctx::http::internal {
namespace {

// Escaped is `response` as the client's stream hands it to httplib.
std::string Escaped(std::string_view response) {
  ResponseHeadEscaper e;
  std::string out;
  for (const char c : response) out += e.Escapes(c) ? "%25" : std::string(1, c);
  return out;
}

TEST(ResponseHeadEscaper, PercentOfAHeaderLineIsEscaped) {
  EXPECT_EQ(Escaped("HTTP/1.1 200 OK\r\nLocation: /a%20b\r\nX: %\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nLocation: /a%2520b\r\nX: %25\r\n\r\n");
}

TEST(ResponseHeadEscaper, StatusLineAndBodyPassUnchanged) {
  EXPECT_EQ(Escaped("HTTP/1.1 200 100%\r\nX: 1\r\n\r\n%41%\r\nX: %41\r\n\r\n"),
            "HTTP/1.1 200 100%\r\nX: 1\r\n\r\n%41%\r\nX: %41\r\n\r\n");
}

TEST(ResponseHeadEscaper, HeadOfTheResponseAfter100ContinueIsEscaped) {
  EXPECT_EQ(
      Escaped("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nX: %41\r\n\r\n"
              "%41"),
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nX: %2541\r\n\r\n%41");
  EXPECT_EQ(Escaped("HTTP/1.1 100\r\n\r\nHTTP/1.1 200 OK\r\nX: %\r\n\r\n%"),
            "HTTP/1.1 100\r\n\r\nHTTP/1.1 200 OK\r\nX: %25\r\n\r\n%");
}

TEST(ResponseHeadEscaper, LineAfterA100IsSkippedWhateverItHolds) {
  // httplib reads the line after a 100's status line as its blank line.
  EXPECT_EQ(Escaped("HTTP/1.1 100 Continue\r\nX-Junk: %\r\n"
                    "HTTP/1.1 200 100%\r\nX: %\r\n\r\na\nb%41"),
            "HTTP/1.1 100 Continue\r\nX-Junk: %\r\n"
            "HTTP/1.1 200 100%\r\nX: %25\r\n\r\na\nb%41");
}

TEST(ResponseHeadEscaper, StatusLineMayEndInABareLf) {
  EXPECT_EQ(Escaped("HTTP/1.1 100\n\r\nHTTP/1.1 200 OK\nX: %\r\n\r\n%"),
            "HTTP/1.1 100\n\r\nHTTP/1.1 200 OK\nX: %25\r\n\r\n%");
}

TEST(ResponseHeadEscaper, LineHttplibDoesNotReadAsA100IsNotOne) {
  // A CR inside the reason, or a NUL, fails httplib's pattern: for CONNECT
  // the lines after it are headers.
  EXPECT_EQ(Escaped("HTTP/1.1 100 x\ry\r\nX: %\r\n\r\n"),
            "HTTP/1.1 100 x\ry\r\nX: %25\r\n\r\n");
  EXPECT_EQ(Escaped(std::string("HTTP/1.1 100 \0\r\nX: %\r\n\r\n", 25)),
            std::string("HTTP/1.1 100 \0\r\nX: %25\r\n\r\n", 27));
  EXPECT_EQ(Escaped("HTTP/1.1 100\rx\r\nX: %\r\n\r\n"),
            "HTTP/1.1 100\rx\r\nX: %25\r\n\r\n");
}

TEST(ResponseHeadEscaper, LongStatusLineIsTooLong) {
  ResponseHeadEscaper e;
  const std::string line =
      "HTTP/1.1 200 " + std::string(ResponseHeadEscaper::kMaxStatusLine, 'a');
  bool too_long = false;
  for (const char c : line) {
    (void)e.Escapes(c);
    too_long = too_long || e.status_line_too_long();
  }
  EXPECT_TRUE(too_long);
}

TEST(ResponseHeadEscaper, RepeatedContinuesAreFollowed) {
  EXPECT_EQ(Escaped("HTTP/1.1 100\r\n\r\nHTTP/1.1 100 x\r\n\r\n"
                    "HTTP/1.1 200 OK\r\nX: %\r\n\r\n%"),
            "HTTP/1.1 100\r\n\r\nHTTP/1.1 100 x\r\n\r\n"
            "HTTP/1.1 200 OK\r\nX: %25\r\n\r\n%");
}

TEST(ResponseHeadEscaper, OnlyValuesAreEscaped) {
  // httplib decodes the value after the first ':' only.
  EXPECT_EQ(Escaped("HTTP/1.1 200 OK\r\nX-100%: a:%\r\nno colon %\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nX-100%: a:%25\r\nno colon %\r\n\r\n");
}

TEST(ResponseHeadEscaper, OtherInformationalStatusEndsLikeAFinalOne) {
  // httplib skips only a 100: what follows a 103's head is its body.
  EXPECT_EQ(Escaped("HTTP/1.1 103 Early\r\nX: %\r\n\r\nY: %"),
            "HTTP/1.1 103 Early\r\nX: %25\r\n\r\nY: %");
  EXPECT_EQ(Escaped("HTTP/1.1 1000 x\r\n\r\nY: %"),
            "HTTP/1.1 1000 x\r\n\r\nY: %");
}

TEST(ResponseHeadEscaper, OnlyACrlfLineEndsTheHead) {
  // httplib skips a line that ends in a bare LF, a one-byte one too: the
  // lines after it are still headers.
  EXPECT_EQ(Escaped("HTTP/1.1 200 OK\r\nx\n\nX: %\r\n\r\n%"),
            "HTTP/1.1 200 OK\r\nx\n\nX: %25\r\n\r\n%");
}

}  // namespace
}  // namespace ctx::http::internal
