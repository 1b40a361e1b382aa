// SPDX-License-Identifier: Apache-2.0
// Tests for ctx/propagation.h: the wire formats both bridges share.

#include "ctx/propagation.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "random_bytes.h"

namespace ctx {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using namespace std::string_literals;

// --- grpc-timeout parsing ---

TEST(ParseGrpcTimeout, AcceptsEveryUnit) {
  EXPECT_EQ(ParseGrpcTimeout("3H").value, hours(3));
  EXPECT_EQ(ParseGrpcTimeout("3M").value, minutes(3));
  EXPECT_EQ(ParseGrpcTimeout("3S").value, seconds(3));
  EXPECT_EQ(ParseGrpcTimeout("3m").value, milliseconds(3));
  EXPECT_EQ(ParseGrpcTimeout("3u").value, microseconds(3));
  EXPECT_EQ(ParseGrpcTimeout("3n").value, nanoseconds(3));
}

TEST(ParseGrpcTimeout, AcceptsEightDigitsAndLeadingZeros) {
  EXPECT_EQ(ParseGrpcTimeout("99999999n").value, nanoseconds(99'999'999));
  EXPECT_EQ(ParseGrpcTimeout("00000250m").value,
            milliseconds(250));  // leading zeros count as digits
  EXPECT_FALSE(ParseGrpcTimeout("000000250m"));
}

TEST(ParseGrpcTimeout, ZeroIsAnExpiredBudget) {
  ParseResult<nanoseconds> r = ParseGrpcTimeout("0n");
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(*r.value, nanoseconds::zero());
  EXPECT_TRUE(r.error.empty());
}

TEST(ParseGrpcTimeout, RejectsNineDigits) {
  ParseResult<nanoseconds> r = ParseGrpcTimeout("123456789S");
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.error, "grpc-timeout: more than 8 digits");
}

TEST(ParseGrpcTimeout, RejectsEmpty) {
  ParseResult<nanoseconds> r = ParseGrpcTimeout("");
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, "grpc-timeout: empty");
}

TEST(ParseGrpcTimeout, RejectsMissingUnit) {
  EXPECT_EQ(ParseGrpcTimeout("100").error, "grpc-timeout: missing unit");
  EXPECT_EQ(ParseGrpcTimeout("5").error, "grpc-timeout: missing unit");
}

TEST(ParseGrpcTimeout, RejectsMissingDigits) {
  EXPECT_EQ(ParseGrpcTimeout("S").error,
            "grpc-timeout: no digits before the unit");
}

TEST(ParseGrpcTimeout, RejectsBadUnit) {
  for (const char* v : {"1s", "1h", "1x", "1U", "1N", "1ms", "1 "}) {
    ParseResult<nanoseconds> r = ParseGrpcTimeout(v);
    EXPECT_FALSE(r) << "parsing '" << v << "': got a value, want an error";
  }
  EXPECT_EQ(ParseGrpcTimeout("1s").error,
            "grpc-timeout: unit must be one of H M S m u n");
}

TEST(ParseGrpcTimeout, RejectsSignsSpacesAndFractions) {
  for (const char* v :
       {"-1S", "+1S", " 1S", "1 S", "1.5S", "1,5S", "0x1S", "1e3m"}) {
    EXPECT_FALSE(ParseGrpcTimeout(v))
        << "parsing '" << v << "': got a value, want an error";
  }
}

TEST(ParseGrpcTimeout, RejectsControlBytesAndNonAscii) {
  EXPECT_FALSE(ParseGrpcTimeout("1S\r\n"));
  EXPECT_FALSE(ParseGrpcTimeout("1\r\nS"));
  EXPECT_FALSE(ParseGrpcTimeout("1\0S"s));
  EXPECT_FALSE(ParseGrpcTimeout("1S\0"s));
  EXPECT_FALSE(ParseGrpcTimeout("\xd9\xa1S"));  // ARABIC-INDIC DIGIT ONE
  EXPECT_FALSE(ParseGrpcTimeout("1\xc2\xb5"));  // "1µ"
}

TEST(ParseGrpcTimeout, Rejects64KiBInput) {
  EXPECT_FALSE(ParseGrpcTimeout(std::string(64 * 1024, '9') + "S"));
  EXPECT_FALSE(ParseGrpcTimeout(std::string(64 * 1024, 'x')));
}

TEST(ParseGrpcTimeout, SaturatesBeyondNanosecondRange) {
  // 99999999 hours is about 11,400 years; nanoseconds hold about 292.
  EXPECT_EQ(ParseGrpcTimeout("99999999H").value, nanoseconds::max());
  EXPECT_EQ(ParseGrpcTimeout("2562048H").value, nanoseconds::max());
  // 2562047 hours and 99999999 minutes (190 years) still fit exactly.
  EXPECT_EQ(ParseGrpcTimeout("2562047H").value, hours(2'562'047));
  EXPECT_EQ(ParseGrpcTimeout("99999999M").value, minutes(99'999'999));
}

TEST(ParseGrpcTimeout, ErrorsContainNoInputBytes) {
  const std::string hostile = "1\r\nX-Admin: yes";
  ParseResult<nanoseconds> r = ParseGrpcTimeout(hostile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error.find("Admin"), std::string_view::npos)
      << "error: " << r.error;
}

// --- grpc-timeout formatting ---

TEST(FormatGrpcTimeout, UsesCoarsestExactUnit) {
  EXPECT_EQ(FormatGrpcTimeout(seconds(2)), "2S");
  EXPECT_EQ(FormatGrpcTimeout(milliseconds(250)), "250m");
  EXPECT_EQ(FormatGrpcTimeout(minutes(5)), "5M");
  EXPECT_EQ(FormatGrpcTimeout(hours(2)), "2H");
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds(7)), "7n");
  EXPECT_EQ(FormatGrpcTimeout(microseconds(1500)), "1500u");
}

TEST(FormatGrpcTimeout, UsesFinestUnitThatFitsEightDigits) {
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds(99'999'999)), "99999999n");
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds(123'456'789)), "123457u");
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds(100'000'001)), "100001u");
}

TEST(FormatGrpcTimeout, RoundsUpNeverDown) {
  // 100 s + 1 ns: microseconds would need 9 digits, so round up to the next
  // millisecond.
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds(100'000'000'001)), "100001m");
  // 5000 s + 1 ns: microseconds would need 10 digits, milliseconds fit.
  EXPECT_EQ(FormatGrpcTimeout(seconds(5000) + nanoseconds(1)), "5000001m");
  // 100000 s + 1 ns: 100000001 ms is 9 digits, so round up to the next second.
  EXPECT_EQ(FormatGrpcTimeout(seconds(100'000) + nanoseconds(1)), "100001S");
  EXPECT_EQ(FormatGrpcTimeout(milliseconds(1) + nanoseconds(1)), "1000001n");
}

TEST(FormatGrpcTimeout, NonPositiveIsExpired) {
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds::zero()), "0n");
  EXPECT_EQ(FormatGrpcTimeout(seconds(-3)), "0n");
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds::min()), "0n");
}

TEST(FormatGrpcTimeout, MaxDurationFitsInHours) {
  EXPECT_EQ(FormatGrpcTimeout(nanoseconds::max()), "2562048H");
}

TEST(FormatGrpcTimeout, OutputAlwaysParses) {
  const std::vector<nanoseconds> samples = {nanoseconds(1),
                                            nanoseconds(999),
                                            microseconds(1),
                                            milliseconds(1),
                                            milliseconds(250),
                                            milliseconds(99'999'999),
                                            milliseconds(100'000'000),
                                            seconds(1),
                                            seconds(99'999'999),
                                            seconds(100'000'000),
                                            minutes(99'999'999),
                                            hours(2'000'000),
                                            nanoseconds::max(),
                                            nanoseconds(123'456'789'123'456)};
  for (nanoseconds d : samples) {
    const std::string s = FormatGrpcTimeout(d);
    ParseResult<nanoseconds> r = ParseGrpcTimeout(s);
    ASSERT_TRUE(r) << "format(" << d.count() << "ns) = '" << s
                   << "' does not parse: " << r.error;
    EXPECT_GE(*r.value, d) << "format(" << d.count() << "ns) = '" << s
                           << "' shortens the budget";
  }
}

TEST(FormatGrpcTimeout, RoundTripAddsLessThanOneUnit) {
  for (int64_t n = 1; n <= 2'000'000'000'000LL; n = n * 7 + 3) {
    const nanoseconds d(n);
    const std::string s = FormatGrpcTimeout(d);
    ParseResult<nanoseconds> r = ParseGrpcTimeout(s);
    ASSERT_TRUE(r) << s;
    // Rounding up adds less than one unit of the chosen size, and a unit is at
    // most 1000 times the finer one that did not fit in 8 digits: the error
    // stays below 1/10^5 of the value.
    EXPECT_GE(*r.value, d) << s;
    EXPECT_LE((*r.value - d).count(), d.count() / 100'000 + 1)
        << "format(" << n << "ns) = " << s;
  }
}

// --- X-Request-Timeout ---

TEST(ParseRequestTimeout, AcceptsIntegerMilliseconds) {
  EXPECT_EQ(ParseRequestTimeout("1500").value, milliseconds(1500));
  EXPECT_EQ(ParseRequestTimeout("007").value, milliseconds(7));
}

TEST(ParseRequestTimeout, ZeroIsAnExpiredBudget) {
  EXPECT_EQ(ParseRequestTimeout("0").value, milliseconds(0));
}

TEST(ParseRequestTimeout, RejectsEmpty) {
  EXPECT_EQ(ParseRequestTimeout("").error, "x-request-timeout: empty");
}

TEST(ParseRequestTimeout, RejectsNegativeNonNumericAndFractional) {
  for (const char* v : {"-1", "+1", "1.5", "1.0", "1e3", "abc", "1 ", " 1",
                        "0x10", "1ms", "1S"}) {
    ParseResult<milliseconds> r = ParseRequestTimeout(v);
    EXPECT_FALSE(r) << "parsing '" << v << "': got "
                    << r.value.value_or(milliseconds(-1)).count();
    EXPECT_EQ(r.error,
              "x-request-timeout: must be a non-negative integer number of "
              "milliseconds");
  }
}

TEST(ParseRequestTimeout, RejectsControlBytesAndNonAscii) {
  EXPECT_FALSE(ParseRequestTimeout("100\r\n"));
  EXPECT_FALSE(ParseRequestTimeout("1\0"s));
  EXPECT_FALSE(ParseRequestTimeout("\xef\xbc\x91"));  // FULLWIDTH DIGIT ONE
}

TEST(ParseRequestTimeout, AcceptsInt64MaxAndRejectsOverflow) {
  EXPECT_EQ(ParseRequestTimeout("9223372036854775807").value,
            milliseconds(INT64_MAX));
  EXPECT_EQ(ParseRequestTimeout("9223372036854775808").error,
            "x-request-timeout: too large");
  EXPECT_EQ(ParseRequestTimeout("99999999999999999999999").error,
            "x-request-timeout: too large");
  EXPECT_FALSE(ParseRequestTimeout(std::string(64 * 1024, '9')));
}

TEST(FormatRequestTimeout, RoundsUpToWholeMilliseconds) {
  EXPECT_EQ(FormatRequestTimeout(milliseconds(250)), "250");
  EXPECT_EQ(FormatRequestTimeout(milliseconds(250) + nanoseconds(1)), "251");
  EXPECT_EQ(FormatRequestTimeout(nanoseconds(1)), "1");
  EXPECT_EQ(FormatRequestTimeout(nanoseconds(0)), "0");
  EXPECT_EQ(FormatRequestTimeout(seconds(-1)), "0");
  EXPECT_EQ(ParseRequestTimeout(FormatRequestTimeout(nanoseconds::max())).value,
            milliseconds(nanoseconds::max().count() / 1'000'000 + 1));
}

// --- ids ---

TEST(IsValidRequestId, AcceptsSafeCharacters) {
  EXPECT_TRUE(IsValidRequestId("a"));
  EXPECT_TRUE(IsValidRequestId("0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(IsValidRequestId("req-42.A_b:c"));
  EXPECT_TRUE(IsValidRequestId("550e8400-e29b-41d4-a716-446655440000"));
  EXPECT_TRUE(IsValidRequestId(std::string(kMaxIdLength, 'x')));
}

TEST(IsValidRequestId, RejectsEmptyAndTooLong) {
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId(std::string(kMaxIdLength + 1, 'x')));
  EXPECT_FALSE(IsValidRequestId(std::string(64 * 1024, 'x')));
}

TEST(IsValidRequestId, RejectsUnsafeCharacters) {
  for (const std::string& v :
       {"a b"s, "a\r\nb"s, "a\0b"s, "a\tb"s, "\"quoted\""s, "a/b"s, "a\\b"s,
        "a%0d"s, "caf\xc3\xa9"s, "a\x7f"s, "{json}"s, "a=b"s, "a;b"s,
        "2024-01-01 ERROR user=admin logged in"s}) {
    EXPECT_FALSE(IsValidRequestId(v))
        << "IsValidRequestId(" << LogSafe(v) << ") = true, want false";
  }
}

TEST(IsValidRequestId, EveryByteIsJudgedByTheRule) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == ':' || c == '-';
    EXPECT_EQ(IsValidRequestId(std::string("x") + c), want)
        << "byte 0x" << std::hex << b;
  }
}

TEST(IsValidRequestId, RejectsABadByteAtAnyPositionOfAnyLength) {
  for (std::size_t n = 1; n <= kMaxIdLength; ++n) {
    std::string id(n, 'a');
    ASSERT_TRUE(IsValidRequestId(id)) << "length " << n;
    for (std::size_t at = 0; at < n; ++at) {
      id[at] = ' ';
      ASSERT_FALSE(IsValidRequestId(id)) << "length " << n << ", at " << at;
      id[at] = 'a';
    }
  }
}

TEST(IsValidSessionId, FollowsRequestIdRule) {
  EXPECT_TRUE(IsValidSessionId("sess-1"));
  EXPECT_FALSE(IsValidSessionId("sess 1"));
  EXPECT_FALSE(IsValidSessionId(""));
}

TEST(NewRequestId, Is32LowercaseHexDigits) {
  const std::string id = NewRequestId();
  ASSERT_EQ(id.size(), 32u) << id;
  for (char c : id)
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
  EXPECT_TRUE(IsValidRequestId(id));
}

// WriteHex (the ids' hex form, four bytes at a time) matches a plain
// digit-table rendering for every byte value at every position, and for every
// length (the tail is written a byte at a time).
TEST(WriteHex, MatchesDigitTableForEveryByteAndLength) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t n = 0; n <= 19; ++n) {
    for (int value = 0; value < 256; ++value) {
      std::vector<unsigned char> bytes(n);
      for (std::size_t i = 0; i < n; ++i)
        bytes[i] = static_cast<unsigned char>(value + 37 * i);
      std::string want;
      for (unsigned char b : bytes) {
        want += kDigits[b >> 4];
        want += kDigits[b & 0xF];
      }
      std::string got(2 * n, '?');
      internal::WriteHex(got.data(), bytes.data(), n);
      ASSERT_EQ(got, want) << "WriteHex of " << n << " bytes from " << value;
    }
  }
}

TEST(NewRequestId, IsUniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<std::string>> ids(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&ids, t] {
        for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewRequestId());
      });
    }
  }
  std::set<std::string> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread))
      << "duplicate ids generated";
}

// Ids come from a per-thread pool of random bytes: a child process must not
// hand out the bytes its parent's pool still holds.
TEST(NewRequestId, ForkedChildDoesNotRepeatParentIds) {
  (void)NewRequestId();  // the pool now holds unused bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string id = NewRequestId();
    const ssize_t n = write(fds[1], id.data(), id.size());
    _exit(n == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  close(fds[1]);
  const std::string parent_id = NewRequestId();
  std::string child_id(32, '\0');
  std::size_t got = 0;
  while (got < child_id.size()) {
    const ssize_t n =
        read(fds[0], child_id.data() + got, child_id.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, child_id.size());
  EXPECT_TRUE(IsValidRequestId(child_id));
  EXPECT_NE(child_id, parent_id) << "parent and child generated the same id";
}

TEST(AcceptRequestId, KeepsValidIncomingId) {
  AcceptedId a = AcceptRequestId("req-1");
  EXPECT_EQ(a.id, "req-1");
  EXPECT_EQ(a.source, IdSource::kIncoming);
}

TEST(AcceptRequestId, GeneratesWhenMissing) {
  AcceptedId a = AcceptRequestId(std::nullopt);
  EXPECT_TRUE(IsValidRequestId(a.id));
  EXPECT_EQ(a.source, IdSource::kGenerated);
}

TEST(AcceptRequestId, ReplacesInvalidId) {
  for (const std::string& v : {""s, "a\r\nX-Injected: 1"s, "a\0b"s,
                               std::string(64 * 1024, 'a'), "é"s}) {
    AcceptedId a = AcceptRequestId(v);
    EXPECT_EQ(a.source, IdSource::kReplaced) << LogSafe(v);
    EXPECT_TRUE(IsValidRequestId(a.id)) << a.id;
    EXPECT_NE(a.id, v);
  }
}

// --- LogSafe ---

TEST(LogSafe, CopiesPrintableAscii) {
  EXPECT_EQ(LogSafe("req-42 ok"), "req-42 ok");
}

TEST(LogSafe, EscapesControlBytesQuotesAndNonAscii) {
  EXPECT_EQ(LogSafe("a\r\nb"), "a\\x0D\\x0Ab");
  EXPECT_EQ(LogSafe("a\0b"s), "a\\x00b");
  EXPECT_EQ(LogSafe("\x1b[31mred"), "\\x1B[31mred");
  EXPECT_EQ(LogSafe("caf\xc3\xa9"), "caf\\xC3\\xA9");
  EXPECT_EQ(LogSafe("say \"hi\" \\o/"), "say \\\"hi\\\" \\\\o/");
  EXPECT_EQ(LogSafe("\x7f"), "\\x7F");
}

TEST(LogSafe, TruncatesLongInput) {
  EXPECT_EQ(LogSafe("abcdef", 3), "abc...(+3 bytes)");
  EXPECT_EQ(LogSafe("abc", 3), "abc");
  EXPECT_EQ(LogSafe("", 3), "");
}

TEST(LogSafe, OutputIsBoundedAndHasNoControlBytes) {
  std::string hostile(64 * 1024, '\n');
  for (std::size_t i = 0; i < hostile.size(); i += 3)
    hostile[i] = static_cast<char>(i % 256);
  const std::string out = LogSafe(hostile);
  EXPECT_LE(out.size(), 4 * kLogSafeDefaultMax + 32);
  for (char c : out) {
    const auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(b >= 0x20 && b <= 0x7E) << "byte " << int{b} << " in output";
  }
}

}  // namespace
}  // namespace ctx
