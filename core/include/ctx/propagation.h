// SPDX-License-Identifier: Apache-2.0
// ctx/propagation.h: the wire formats both bridges share (not in Go). No
// transport code here.
//
// A request carries three things between processes: its time budget, its
// request id and (optionally) a session id. This header names the
// headers/metadata keys that carry them, parses what a peer sent and formats
// what we send. Everything that comes from the wire is untrusted: parsers
// report bad input as a value (they never throw and never assert), and LogSafe
// renders any untrusted string for a log line.
//
//   auto t = ctx::ParseGrpcTimeout("250m");     // ParseResult<nanoseconds>
//   if (!t) Log("bad grpc-timeout: ", t.error);  // a static, log-safe reason
//   std::string out = ctx::FormatGrpcTimeout(1500ms);         // "1500m"
//   ctx::AcceptedId id = ctx::AcceptRequestId(header_or_nullopt);
//   ctx::Context c = ctx::WithValue(parent, ctx::kRequestIdKey, id.id);
//   Log("request ", ctx::LogSafe(raw_header));  // never log a raw header
//
// Main names: kRequestIdHeader, kSessionIdHeader, kGrpcTimeoutHeader,
// kRequestTimeoutHeader, kRequestIdKey, kSessionIdKey, ParseResult,
// ParseGrpcTimeout, FormatGrpcTimeout, ParseRequestTimeout,
// FormatRequestTimeout, IsValidRequestId, IsValidSessionId, NewRequestId,
// AcceptRequestId, LogSafe.
//
// Thread-safety: every function is safe to call from any thread at the same
// time.

#ifndef CTX_PROPAGATION_H_
#define CTX_PROPAGATION_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "ctx/export.h"
#include "ctx/key.h"

namespace ctx {

// Header and metadata names. They are lowercase because gRPC metadata keys must
// be; HTTP header names compare case-insensitively, so the same constants serve
// both transports.
//
// kRequestIdHeader carries the request id (see IsValidRequestId); servers echo
// the id they accepted.
inline constexpr std::string_view kRequestIdHeader = "x-request-id";
// kSessionIdHeader carries an optional session id (see IsValidSessionId);
// forwarded, never generated.
inline constexpr std::string_view kSessionIdHeader = "x-session-id";
// kGrpcTimeoutHeader carries the remaining budget in gRPC's syntax (see
// ParseGrpcTimeout).
inline constexpr std::string_view kGrpcTimeoutHeader = "grpc-timeout";
// kRequestTimeoutHeader carries the remaining budget in integer milliseconds
// (see ParseRequestTimeout).
inline constexpr std::string_view kRequestTimeoutHeader = "x-request-timeout";

// kRequestIdKey is the context value under which both bridges store the request
// id of the current request (always a valid id, see IsValidRequestId), and from
// which their clients forward it.
CTX_EXPORT inline constexpr Key<std::string> kRequestIdKey{"request-id"};
// kSessionIdKey is the context value holding the session id, when the request
// carried a valid one.
CTX_EXPORT inline constexpr Key<std::string> kSessionIdKey{"session-id"};

// ParseResult is what a parser returns: a value, or the reason the input was
// rejected. It converts to true on success. `error` is empty on success; on
// failure it points to a static string (valid for the whole program) that
// contains no input bytes, so it can be logged or sent back as is.
template <class T>
struct [[nodiscard]] ParseResult {
  std::optional<T> value;
  std::string_view error;

  [[nodiscard]] bool ok() const noexcept { return value.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
};

// ParseGrpcTimeout parses a grpc-timeout value: 1 to 8 ASCII digits followed by
// one unit letter, H (hours), M (minutes), S (seconds), m (milliseconds), u
// (microseconds) or n (nanoseconds), with nothing before, between or after (no
// sign, no spaces). Zero ("0n") is valid and means the budget is already spent.
// Values beyond nanoseconds' range (e.g. "99999999H") saturate at
// nanoseconds::max(); a server should still cap the result with its own limit.
// Anything else is rejected with a reason.
CTX_EXPORT ParseResult<std::chrono::nanoseconds> ParseGrpcTimeout(
    std::string_view value) noexcept;

// FormatGrpcTimeout renders a budget as a grpc-timeout value that never
// shortens it: it picks the finest unit whose value fits in 8 digits and rounds
// up to it, then moves to a coarser unit while that stays exact (so 2 s is
// "2S", 250 ms is "250m" and 100000001 ns is "100001u"). Zero and negative
// budgets give "0n" (already expired). For "no deadline" send no header at all.
// Every int64 nanosecond count fits (nanoseconds::max() is "2562048H"), so
// nothing needs clamping.
CTX_EXPORT std::string FormatGrpcTimeout(std::chrono::nanoseconds timeout);

// ParseRequestTimeout parses an X-Request-Timeout value: a non-negative integer
// number of milliseconds, ASCII digits only (leading zeros allowed). Rejected:
// empty, a sign, spaces, fractions ("1.5"), any other character, and values
// that overflow int64 milliseconds. Zero is valid and means the budget is
// already spent (the request is answered as timed out), as "0n" does for
// grpc-timeout.
CTX_EXPORT ParseResult<std::chrono::milliseconds> ParseRequestTimeout(
    std::string_view value) noexcept;

// FormatRequestTimeout renders a budget as an X-Request-Timeout value, rounded
// up to whole milliseconds so it never shortens the budget; zero and negative
// budgets give "0".
CTX_EXPORT std::string FormatRequestTimeout(std::chrono::nanoseconds timeout);

// kMaxIdLength is the longest request or session id accepted (in bytes).
inline constexpr std::size_t kMaxIdLength = 128;

// IsValidRequestId reports whether `id` may be used as a request id: 1 to
// kMaxIdLength bytes, each one of A-Z a-z 0-9 and `.` `_` `:` `-`. These ids
// can be echoed in headers and written to logs unescaped: no spaces, quotes,
// control characters or non-ASCII bytes can appear in them.
[[nodiscard]] CTX_EXPORT bool IsValidRequestId(std::string_view id) noexcept;

// IsValidSessionId reports whether `id` may be used as a session id; today the
// same rule as request ids.
[[nodiscard]] CTX_EXPORT bool IsValidSessionId(std::string_view id) noexcept;

// NewRequestId returns a fresh random id: 32 lowercase hex digits (128 bits
// from the kernel's CSPRNG, so ids are unique across threads, processes and
// forks without coordination, and unpredictable). It always satisfies
// IsValidRequestId. Cost: one allocation; the random bytes come from a
// per-thread pool that one getrandom(2) call refills every ~250 ids.
[[nodiscard]] CTX_EXPORT std::string NewRequestId();

// IdSource says where an accepted id came from.
enum class IdSource {
  kIncoming,   // the peer sent a valid id; it is used as is
  kGenerated,  // the peer sent none; a new one was generated
  kReplaced,   // the peer sent an invalid one; it was dropped and a new one
               // generated
};

// AcceptedId is what AcceptRequestId returns: the id to use (always valid) and
// where it came from.
struct AcceptedId {
  std::string id;
  IdSource source = IdSource::kGenerated;
};

// AcceptRequestId returns the incoming id if it is valid, else a fresh one
// (NewRequestId), and says which. nullopt means the peer sent no id; an empty
// value counts as sent and invalid (kReplaced). The invalid value is never
// copied anywhere: log it, if at all, through LogSafe.
[[nodiscard]] CTX_EXPORT AcceptedId
AcceptRequestId(std::optional<std::string_view> incoming);

// kLogSafeDefaultMax is LogSafe's default input budget in bytes.
inline constexpr std::size_t kLogSafeDefaultMax = 64;

// LogSafe renders an untrusted string for a log line. Bytes 0x20..0x7E other
// than `\` and `"` are copied; `\` and `"` become `\\` and `\"`; every other
// byte (control characters, CR, LF, NUL, DEL, non-ASCII) becomes `\xNN`. Only
// the first `max_bytes` input bytes are rendered; a longer input ends with
// "...(+N bytes)". The result is at most 4 * max_bytes + 32 bytes long and
// holds no control characters.
[[nodiscard]] CTX_EXPORT std::string LogSafe(
    std::string_view untrusted, std::size_t max_bytes = kLogSafeDefaultMax);

}  // namespace ctx

#endif  // CTX_PROPAGATION_H_
