// SPDX-License-Identifier: Apache-2.0
// W3C Trace Context and Baggage: parsing, formatting, the inbound step. See
// ctx/trace_context.h.

#include "ctx/trace_context.h"

#include <algorithm>
#include <cstring>
#include <ostream>
#include <utility>
#include <vector>

#include "ctx/internal/http_syntax.h"
#include "random_bytes.h"

namespace ctx {
namespace {

using internal::IsToken;
using internal::TrimOws;

constexpr std::size_t kTraceparentV00Length = 55;

// HexValue returns the value of a lowercase hex digit, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// ParseHex reads 2 * N lowercase hex digits into out; false on any other
// character.
template <std::size_t N>
bool ParseHex(std::string_view hex, std::array<uint8_t, N>& out) {
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// WriteHex writes 2 * n lowercase hex digits at `out`.
void WriteHex(char* out, const uint8_t* bytes, std::size_t n) {
  internal::WriteHex(out, bytes, n);
}

template <std::size_t N>
std::string HexString(const std::array<uint8_t, N>& bytes) {
  std::string out(2 * N, '0');
  WriteHex(out.data(), bytes.data(), N);
  return out;
}

bool IsZero(const uint8_t* bytes, std::size_t n) {
  return std::all_of(bytes, bytes + n, [](uint8_t b) { return b == 0; });
}

// A random id is never all zeros: redraw in the (2^-64 at worst) case.
template <std::size_t N>
void FillRandomId(std::array<uint8_t, N>& out) {
  do {
    internal::FillRandomBytes(out.data(), N);
  } while (IsZero(out.data(), N));
}

// FillRandomIds draws a trace id and a span id with one pool access.
void FillRandomIds(TraceId& trace, SpanId& span) {
  std::array<uint8_t, sizeof(trace.bytes) + sizeof(span.bytes)> both;
  internal::FillRandomBytes(both.data(), both.size());
  std::memcpy(trace.bytes.data(), both.data(), trace.bytes.size());
  std::memcpy(span.bytes.data(), both.data() + trace.bytes.size(),
              span.bytes.size());
  if (!trace.IsValid()) FillRandomId(trace.bytes);
  if (!span.IsValid()) FillRandomId(span.bytes);
}

// StartTrace gives `tc` (fresh) a new trace: random ids, sampled or not.
void StartTrace(TraceContext& tc, bool sampled) {
  FillRandomIds(tc.trace_id, tc.parent_id);
  tc.flags = sampled ? kTraceFlagSampled : 0;
}

// IsPrintable: every byte in 0x20-0x7E (what any transport may carry in a
// header value).
bool IsPrintable(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7E; });
}

// ForEachMember calls f(member) for each ','-separated piece of `list`, with
// optional whitespace trimmed (empty pieces included). Stops when f returns
// false.
template <class F>
void ForEachMember(std::string_view list, F&& f) {
  while (true) {
    const std::size_t comma = list.find(',');
    if (!f(TrimOws(list.substr(0, comma)))) return;
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

// --- tracestate grammar ---

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' ||
         c == '/';
}

bool AllKeyChars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), IsKeyChar);
}

// IsTracestateKey: simple-key, or tenant-id "@" system-id.
bool IsTracestateKey(std::string_view key) {
  const std::size_t at = key.find('@');
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && IsLcAlpha(key[0]) &&
           AllKeyChars(key);
  }
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 &&
         (IsLcAlpha(tenant[0]) || IsDigit(tenant[0])) && AllKeyChars(tenant) &&
         !system.empty() && system.size() <= 14 && IsLcAlpha(system[0]) &&
         AllKeyChars(system);
}

// IsTracestateValue: 1-256 of 0x20-0x7E except ',' and '=', last not a space.
bool IsTracestateValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return c >= 0x20 && c <= 0x7E && c != ',' && c != '=';
  });
}

// --- baggage grammar ---

// IsBaggageValue: *baggage-octet (0x21-0x7E except '"', ',', ';', '\').
bool IsBaggageValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c >= 0x21 && c <= 0x7E && c != '"' && c != ',' && c != ';' &&
           c != '\\';
  });
}

// AppendBaggagePair checks `key OWS "=" OWS value` (with `bare_key_ok`, a
// lone key, as a property may be) and appends it to `out` without the
// optional whitespace.
bool AppendBaggagePair(std::string_view part, bool bare_key_ok,
                       std::string& out) {
  part = TrimOws(part);
  const std::size_t eq = part.find('=');
  if (eq == std::string_view::npos) {
    if (!bare_key_ok || !IsToken(part)) return false;
    out.append(part);
    return true;
  }
  const std::string_view key = TrimOws(part.substr(0, eq));
  const std::string_view value = TrimOws(part.substr(eq + 1));
  if (!IsToken(key) || !IsBaggageValue(value)) return false;
  out.append(key).append("=").append(value);
  return true;
}

// NormalBaggageMember returns `member` (key=value followed by any number of
// ;property) without its optional whitespace, or nullopt when it is invalid.
std::optional<std::string> NormalBaggageMember(std::string_view member) {
  std::string out;
  std::size_t semi = member.find(';');
  if (!AppendBaggagePair(member.substr(0, semi), false, out))
    return std::nullopt;
  while (semi != std::string_view::npos) {
    member.remove_prefix(semi + 1);
    semi = member.find(';');
    out += ';';
    if (!AppendBaggagePair(member.substr(0, semi), true, out))
      return std::nullopt;
  }
  return out;
}

// Joined is the values of one header as one comma-separated list: a view of
// the only value, or the values joined into `storage`.
std::string_view Joined(std::span<const std::string_view> values,
                        std::string& storage) {
  if (values.empty()) return {};
  if (values.size() == 1) return values[0];
  for (std::string_view v : values) {
    if (!storage.empty()) storage += ',';
    storage.append(v);
  }
  return storage;
}

}  // namespace

bool TraceId::IsValid() const noexcept {
  return !IsZero(bytes.data(), bytes.size());
}

std::string TraceId::ToHex() const { return HexString(bytes); }

bool SpanId::IsValid() const noexcept {
  return !IsZero(bytes.data(), bytes.size());
}

std::string SpanId::ToHex() const { return HexString(bytes); }

ParseResult<Traceparent> ParseTraceparent(std::string_view value) noexcept {
  // Layout: vv-<32>-<16>-ff, dashes at 2, 35 and 52.
  if (value.size() < kTraceparentV00Length)
    return {std::nullopt, "traceparent: too short"};
  Traceparent tp;
  std::array<uint8_t, 1> version;
  if (!ParseHex(value.substr(0, 2), version))
    return {std::nullopt,
            "traceparent: version must be 2 lowercase hex digits"};
  tp.version = version[0];
  if (tp.version == 0xff) return {std::nullopt, "traceparent: version ff"};
  if (tp.version == 0 && value.size() != kTraceparentV00Length)
    return {std::nullopt, "traceparent: version 00 must be 55 characters"};
  if (value.size() > kTraceparentV00Length && value[55] != '-')
    return {std::nullopt, "traceparent: bad separator after the flags"};
  if (value[2] != '-' || value[35] != '-' || value[52] != '-')
    return {std::nullopt, "traceparent: fields must be separated by '-'"};
  if (!ParseHex(value.substr(3, 32), tp.trace_id.bytes))
    return {std::nullopt, "traceparent: trace id must be 32 lowercase hex"};
  if (!ParseHex(value.substr(36, 16), tp.parent_id.bytes))
    return {std::nullopt, "traceparent: parent id must be 16 lowercase hex"};
  std::array<uint8_t, 1> flags;
  if (!ParseHex(value.substr(53, 2), flags))
    return {std::nullopt, "traceparent: flags must be 2 lowercase hex digits"};
  tp.flags = flags[0];
  if (!tp.trace_id.IsValid())
    return {std::nullopt, "traceparent: trace id is all zeros"};
  if (!tp.parent_id.IsValid())
    return {std::nullopt, "traceparent: parent id is all zeros"};
  return {tp, {}};
}

ParseResult<std::string> ParseTracestate(std::string_view value) {
  std::vector<std::string_view> members;
  std::string_view error;
  ForEachMember(value, [&](std::string_view member) {
    if (member.empty()) return true;  // OWS-only list-members are allowed
    if (members.size() == kMaxTracestateMembers) {
      error = "tracestate: more than 32 members";
      return false;
    }
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos ||
        !IsTracestateKey(member.substr(0, eq)) ||
        !IsTracestateValue(member.substr(eq + 1))) {
      error = "tracestate: invalid member";
      return false;
    }
    const std::string_view key = member.substr(0, eq + 1);  // with the '='
    for (std::string_view m : members) {
      if (m.substr(0, key.size()) == key) {
        error = "tracestate: repeated key";
        return false;
      }
    }
    members.push_back(member);
    return true;
  });
  if (!error.empty()) return {std::nullopt, error};

  // The budget: long members go first, then members from the end.
  auto length = [&] {
    std::size_t n = members.empty() ? 0 : members.size() - 1;  // commas
    for (std::string_view m : members) n += m.size();
    return n;
  };
  if (length() > kTracestateBudget) {
    std::erase_if(members, [](std::string_view m) {
      return m.size() > kTracestateLongMember;
    });
    while (length() > kTracestateBudget) members.pop_back();
  }
  std::string out;
  out.reserve(length());
  for (std::string_view m : members) {
    if (!out.empty()) out += ',';
    out.append(m);
  }
  return {std::move(out), {}};
}

std::string FilterBaggage(std::string_view value) {
  std::string out;
  std::size_t count = 0;
  ForEachMember(value, [&](std::string_view raw) {
    std::optional<std::string> member = NormalBaggageMember(raw);
    if (!member) return true;  // invalid (or empty): dropped
    const std::size_t added = member->size() + (out.empty() ? 0 : 1);
    if (count == kMaxBaggageMembers || out.size() + added > kMaxBaggageBytes)
      return false;  // the limits: this member and the rest are dropped
    if (!out.empty()) out += ',';
    out.append(*member);
    ++count;
    return true;
  });
  return out;
}

std::ostream& operator<<(std::ostream& os, const TraceContext& tc) {
  return os << FormatTraceparent(tc);
}

SpanId NewSpanId() {
  SpanId id;
  FillRandomId(id.bytes);
  return id;
}

TraceContext NewTrace(bool sampled, std::string baggage) {
  TraceContext tc;
  StartTrace(tc, sampled);
  tc.baggage = std::move(baggage);
  return tc;
}

TraceContext ChildForCall(const TraceContext& tc) {
  TraceContext child = tc;
  child.parent_id = NewSpanId();
  return child;
}

std::string FormatTraceparent(const TraceContext& tc) {
  // "00-" trace id "-" parent id "-" flags; the dashes are at 2, 35 and 52.
  std::string out(kTraceparentV00Length, '-');
  out[0] = out[1] = '0';
  WriteHex(&out[3], tc.trace_id.bytes.data(), tc.trace_id.bytes.size());
  WriteHex(&out[36], tc.parent_id.bytes.data(), tc.parent_id.bytes.size());
  const uint8_t flags = tc.flags & kKnownTraceFlags;
  WriteHex(&out[53], &flags, 1);
  return out;
}

OutgoingTraceHeaders OutgoingTrace(const TraceContext& tc) {
  OutgoingTraceHeaders out;
  if (!tc.trace_id.IsValid() || !tc.parent_id.IsValid()) return out;
  out.traceparent = FormatTraceparent(
      TraceContext{tc.trace_id, NewSpanId(), tc.flags, {}, {}});
  if (tc.tracestate.size() <= kTracestateBudget && IsPrintable(tc.tracestate))
    out.tracestate = tc.tracestate;
  if (tc.baggage.size() <= kMaxBaggageBytes && IsPrintable(tc.baggage))
    out.baggage = tc.baggage;
  return out;
}

AcceptedTrace AcceptTraceContext(const IncomingTrace& in,
                                 const TracePolicy& policy) {
  AcceptedTrace out;
  // Nothing to read (a call from outside any trace): the new trace is built
  // in place, without the strings and moves below.
  if (in.traceparent.empty() &&
      (in.baggage.empty() || !policy.accept_baggage)) {
    if (policy.start_trace) {
      StartTrace(out.context.emplace(), policy.sample_new_traces);
      out.source = TraceSource::kStarted;
    }
    return out;
  }
  std::string joined;
  std::string baggage;
  if (policy.accept_baggage && !in.baggage.empty())
    baggage = FilterBaggage(Joined(in.baggage, joined));

  if (in.traceparent.size() == 1) {
    ParseResult<Traceparent> tp = ParseTraceparent(TrimOws(in.traceparent[0]));
    if (tp) {
      TraceContext tc;
      tc.trace_id = tp.value->trace_id;
      tc.parent_id = tp.value->parent_id;
      tc.flags = tp.value->flags;
      tc.baggage = std::move(baggage);
      joined.clear();
      ParseResult<std::string> state =
          ParseTracestate(Joined(in.tracestate, joined));
      if (state) {
        tc.tracestate = std::move(*state.value);
      } else {
        out.error = state.error;
      }
      out.context = std::move(tc);
      out.source = TraceSource::kIncoming;
      return out;
    }
    out.error = tp.error;
  } else if (in.traceparent.size() > 1) {
    out.error = "traceparent: repeated header";
  }
  if (!policy.start_trace) return out;  // kNone
  out.context = NewTrace(policy.sample_new_traces, std::move(baggage));
  out.source =
      in.traceparent.empty() ? TraceSource::kStarted : TraceSource::kRestarted;
  return out;
}

}  // namespace ctx
