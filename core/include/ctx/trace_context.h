// SPDX-License-Identifier: Apache-2.0
// ctx/trace_context.h: W3C Trace Context and Baggage, carried from hop to hop
// without a tracing SDK (not in Go). No transport code here.
//
// A tracing system (an OpenTelemetry-instrumented client, an Envoy or nginx
// edge) names each request with three headers: `traceparent` (trace id, the
// caller's span id, flags), `tracestate` (vendor entries) and `baggage`
// (application key=value pairs). A service that does not pass them on breaks
// the trace. This header parses and validates them (everything from the wire
// is untrusted), keeps them as one typed value of the request's context, and
// formats what an outgoing call sends: the same trace id, a new span id, the
// same flags, tracestate and baggage.
//
//   // Inbound (both bridges do this for every request):
//   std::string_view tp[] = {header_value};
//   ctx::AcceptedTrace t = ctx::AcceptTraceContext({.traceparent = tp}, {});
//   if (t.context) c = ctx::WithValue(c, ctx::kTraceContextKey, *t.context);
//   // Outbound (both bridges' clients do this for every call):
//   if (const ctx::TraceContext* tc = c.Value(ctx::kTraceContextKey)) {
//     ctx::OutgoingTraceHeaders out = ctx::OutgoingTrace(*tc);
//     Send("traceparent", out.traceparent);  // + tracestate, baggage if set
//   }
//
// Main names: TraceId, SpanId, TraceContext, kTraceContextKey,
// ParseTraceparent, ParseTracestate, FilterBaggage, FormatTraceparent,
// ChildForCall, NewTrace, OutgoingTrace, TracePolicy, AcceptTraceContext.
//
// Thread-safety: every function is safe to call from any thread at the same
// time. Random ids come from a per-thread pool refilled from the kernel's
// CSPRNG (the one ctx::NewRequestId uses).

#ifndef CTX_TRACE_CONTEXT_H_
#define CTX_TRACE_CONTEXT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ctx/export.h"
#include "ctx/key.h"
#include "ctx/propagation.h"

namespace ctx {

// Header and metadata names (lowercase, as gRPC needs; HTTP compares them
// case-insensitively).
inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
inline constexpr std::string_view kBaggageHeader = "baggage";

// Limits from the specifications. A tracestate holds at most
// kMaxTracestateMembers entries; when it is longer than kTracestateBudget
// characters (commas included) it is cut as the spec recommends: entries longer
// than kTracestateLongMember first, then entries from the end. A baggage keeps
// at most kMaxBaggageMembers members and kMaxBaggageBytes bytes.
inline constexpr std::size_t kMaxTracestateMembers = 32;
inline constexpr std::size_t kTracestateBudget = 512;
inline constexpr std::size_t kTracestateLongMember = 128;
inline constexpr std::size_t kMaxBaggageMembers = 64;
inline constexpr std::size_t kMaxBaggageBytes = 8192;

// kTraceFlagSampled is the `sampled` bit of the trace flags: the caller may
// have recorded its span. kTraceFlagRandom (Trace Context Level 2) says the
// trace id's low 7 bytes are random. Other bits are unknown to version 00 and
// are never sent.
inline constexpr uint8_t kTraceFlagSampled = 0x01;
inline constexpr uint8_t kTraceFlagRandom = 0x02;
inline constexpr uint8_t kKnownTraceFlags =
    kTraceFlagSampled | kTraceFlagRandom;

// TraceId is a 16-byte trace id. All zeros is invalid (the value of a
// default-constructed TraceId).
struct CTX_EXPORT TraceId {
  std::array<uint8_t, 16> bytes{};

  // IsValid reports whether some byte is non-zero.
  [[nodiscard]] bool IsValid() const noexcept;
  // ToHex returns the 32 lowercase hex digits of the id.
  [[nodiscard]] std::string ToHex() const;
  friend bool operator==(const TraceId&, const TraceId&) = default;
};

// SpanId is an 8-byte span (parent) id. All zeros is invalid.
struct CTX_EXPORT SpanId {
  std::array<uint8_t, 8> bytes{};

  [[nodiscard]] bool IsValid() const noexcept;
  // ToHex returns the 16 lowercase hex digits of the id.
  [[nodiscard]] std::string ToHex() const;
  friend bool operator==(const SpanId&, const SpanId&) = default;
};

// Traceparent is a parsed `traceparent` header.
struct Traceparent {
  uint8_t version = 0;
  TraceId trace_id;
  SpanId parent_id;
  uint8_t flags = 0;
};

// ParseTraceparent parses a `traceparent` value, by the rules of W3C Trace
// Context:
//   version 00: exactly "vv-<32 hex>-<16 hex>-<2 hex>" (55 characters);
//   a higher version: the same first 55 characters, then either the end or a
//     '-' followed by anything (fields a future version adds, ignored);
//   rejected: version ff, uppercase or other non-hex digits, wrong lengths or
//     separators, an all-zero trace id or parent id, surrounding spaces (the
//     caller strips HTTP's optional whitespace).
// Flags are returned as sent; FormatTraceparent keeps only the known ones.
CTX_EXPORT ParseResult<Traceparent> ParseTraceparent(
    std::string_view value) noexcept;

// ParseTracestate validates a `tracestate` value (several header lines joined
// with ',') and returns it normalized: the list-members with the optional
// whitespace around them removed, empty members dropped, joined with ','. Each
// member is `key=value`: key lcalpha followed by up to 255 of [a-z0-9_-*/], or
// tenant@system (tenant 1-241 of those starting with a letter or digit, system
// 1-14 starting with a letter); value 1-256 printable ASCII characters other
// than ',' and '=', not ending in a space. The whole value is rejected (the
// spec lets a receiver discard a tracestate it cannot parse) when a member is
// invalid, a key repeats, or there are more than kMaxTracestateMembers
// members. A valid result longer than kTracestateBudget is then cut as the
// constants above say; the result may be empty.
CTX_EXPORT ParseResult<std::string> ParseTracestate(std::string_view value);

// FilterBaggage returns the valid members of a `baggage` value (several header
// lines joined with ','), each without its optional whitespace (around the
// member, '=' and ';'), joined with ','. A member is `key=value` followed by
// optional `;property` parts (`key=value` or a bare key; key: an RFC 7230
// token; value: printable ASCII other than space, '"', ',', ';' and '\').
// Invalid members are dropped one by one; members that would take the result
// past kMaxBaggageMembers or kMaxBaggageBytes are dropped from the end. Values
// are kept as sent (percent-encoded), never decoded. Never fails; the result
// may be empty, and holds only bytes 0x21-0x7E.
[[nodiscard]] CTX_EXPORT std::string FilterBaggage(std::string_view value);

// TraceContext is the trace a request belongs to, as kept in its context under
// kTraceContextKey. `parent_id` is the span id the headers name as parent:
// for an incoming request, the caller's span; for ChildForCall's result, the
// new span id the outgoing call sends. `tracestate` and `baggage` hold the
// normalized values (see ParseTracestate, FilterBaggage); empty: not sent.
struct TraceContext {
  TraceId trace_id;
  SpanId parent_id;
  uint8_t flags = 0;
  std::string tracestate;
  std::string baggage;

  [[nodiscard]] bool sampled() const noexcept {
    return (flags & kTraceFlagSampled) != 0;
  }
};

// operator<< writes the traceparent of tc (never its baggage, which may hold
// application data). For ctx::ToString and logs.
CTX_EXPORT std::ostream& operator<<(std::ostream& os, const TraceContext& tc);

// kTraceContextKey is the context value under which both bridges store the
// trace of the current request, and from which their clients forward it.
CTX_EXPORT inline constexpr Key<TraceContext> kTraceContextKey{"trace-context"};

// NewSpanId returns a fresh random, valid span id.
[[nodiscard]] CTX_EXPORT SpanId NewSpanId();

// NewTrace starts a trace: a fresh random trace id and parent id, flags
// kTraceFlagSampled when `sampled`, no tracestate, the given baggage (use
// FilterBaggage on anything from the wire).
[[nodiscard]] CTX_EXPORT TraceContext NewTrace(bool sampled = false,
                                               std::string baggage = {});

// ChildForCall returns the trace context an outgoing call carries: the same
// trace id, flags, tracestate and baggage, and a new random parent id (a new
// span per call).
[[nodiscard]] CTX_EXPORT TraceContext ChildForCall(const TraceContext& tc);

// FormatTraceparent renders a version-00 traceparent of tc ("00-<trace
// id>-<parent id>-<flags>", 55 characters), flags limited to
// kKnownTraceFlags.
[[nodiscard]] CTX_EXPORT std::string FormatTraceparent(const TraceContext& tc);

// OutgoingTraceHeaders is what an outgoing call sends: the header values,
// empty when that header is not to be sent.
struct OutgoingTraceHeaders {
  std::string traceparent;
  std::string_view tracestate;  // a view of the TraceContext's own string
  std::string_view baggage;     // likewise
};

// OutgoingTrace returns the headers an outgoing call carries for tc: the
// traceparent of ChildForCall(tc) (same trace id and flags, a new parent id),
// and tc's tracestate and baggage. Values that could not have come out of
// AcceptTraceContext (set by other code: longer than the limits above, or
// holding bytes outside 0x20-0x7E, which gRPC's C++ client aborts on) are not
// sent; nor is anything when tc's ids are invalid (all zeros). The views are
// valid while tc is.
[[nodiscard]] CTX_EXPORT OutgoingTraceHeaders
OutgoingTrace(const TraceContext& tc);

// TracePolicy is the server side of the inbound rules (AcceptTraceContext).
// A plain value; copy it freely.
struct TracePolicy {
  // start_trace: a request without a valid traceparent starts a new trace
  // (NewTrace). false: it gets no trace context at all (and its baggage is
  // dropped with it). Default true.
  bool start_trace = true;
  // sample_new_traces sets the sampled flag of the traces started here.
  // Default false: no span of ours is recorded anywhere.
  bool sample_new_traces = false;
  // accept_baggage: keep the caller's baggage. Default true.
  bool accept_baggage = true;
};

// IncomingTrace is what a request carried: every value of each header, in
// arrival order (views into the transport's own storage).
struct IncomingTrace {
  std::span<const std::string_view> traceparent = {};
  std::span<const std::string_view> tracestate = {};
  std::span<const std::string_view> baggage = {};
};

// TraceSource says where an accepted trace context came from.
enum class TraceSource {
  kIncoming,   // the caller's valid traceparent
  kStarted,    // none arrived; a new trace was started
  kRestarted,  // an invalid or repeated one arrived; a new trace was started
  kNone,       // no valid one arrived and the policy starts none
};

// AcceptedTrace is what AcceptTraceContext returns.
struct AcceptedTrace {
  std::optional<TraceContext> context;
  TraceSource source = TraceSource::kNone;
  // error is the static, log-safe reason a traceparent or tracestate was
  // refused; empty when nothing was.
  std::string_view error;
};

// AcceptTraceContext is the inbound step both bridges share: it turns the
// headers a request carried into its trace context, by these rules:
//   traceparent  exactly one value that ParseTraceparent accepts (after
//                stripping spaces and tabs at both ends): kept. Absent, or
//                repeated, or invalid: a new trace (policy.start_trace) or
//                none.
//   tracestate   the values joined with ',' and read by ParseTracestate, only
//                alongside a kept traceparent (a tracestate belongs to its
//                trace); invalid: dropped.
//   baggage      the values joined with ',' and filtered by FilterBaggage,
//                whether or not the traceparent was kept.
// Rejected values are never copied. Never throws on content (only
// std::bad_alloc can escape), never asserts.
[[nodiscard]] CTX_EXPORT AcceptedTrace
AcceptTraceContext(const IncomingTrace& in, const TracePolicy& policy);

}  // namespace ctx

#endif  // CTX_TRACE_CONTEXT_H_
