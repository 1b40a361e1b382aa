// SPDX-License-Identifier: Apache-2.0
// Fuzzes the W3C trace headers: ParseTraceparent, ParseTracestate and
// FilterBaggage on the whole input, and AcceptTraceContext on the input split
// into lines, each line "p:", "s:" or "b:" followed by one value of
// traceparent, tracestate or baggage (so repeated headers occur too). The
// pass-through checks (ctx/pass_through.h) run on the whole input as well.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctx/pass_through.h"
#include "ctx/trace_context.h"
#include "fuzz_check.h"

namespace {

std::size_t CountMembers(std::string_view list) {
  if (list.empty()) return 0;
  return static_cast<std::size_t>(std::count(list.begin(), list.end(), ',')) +
         1;
}

// CheckTracestate: a result is bounded, clean, and a fixed point.
void CheckTracestate(const std::string& state) {
  CTX_FUZZ_CHECK(state.size() <= ctx::kTracestateBudget);
  CTX_FUZZ_CHECK(CountMembers(state) <= ctx::kMaxTracestateMembers);
  CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(state));
  ctx::ParseResult<std::string> again = ctx::ParseTracestate(state);
  CTX_FUZZ_CHECK(again && *again.value == state);
}

// CheckBaggage: a result is bounded, clean, and a fixed point.
void CheckBaggage(const std::string& baggage) {
  CTX_FUZZ_CHECK(baggage.size() <= ctx::kMaxBaggageBytes);
  CTX_FUZZ_CHECK(CountMembers(baggage) <= ctx::kMaxBaggageMembers);
  CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(baggage));
  CTX_FUZZ_CHECK(ctx::FilterBaggage(baggage) == baggage);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  ctx::ParseResult<ctx::Traceparent> tp = ctx::ParseTraceparent(input);
  CTX_FUZZ_CHECK(tp.ok() == tp.error.empty());
  if (tp) {
    CTX_FUZZ_CHECK(size >= 55);
    CTX_FUZZ_CHECK(tp.value->version != 0xff);
    CTX_FUZZ_CHECK(tp.value->version != 0 || size == 55);
    CTX_FUZZ_CHECK(tp.value->trace_id.IsValid() &&
                   tp.value->parent_id.IsValid());
    const ctx::TraceContext tc{
        tp.value->trace_id, tp.value->parent_id, tp.value->flags, {}, {}};
    const std::string formatted = ctx::FormatTraceparent(tc);
    ctx::ParseResult<ctx::Traceparent> again = ctx::ParseTraceparent(formatted);
    CTX_FUZZ_CHECK(again);
    CTX_FUZZ_CHECK(again.value->trace_id == tp.value->trace_id);
    CTX_FUZZ_CHECK(again.value->parent_id == tp.value->parent_id);
    // The ids are the input's own characters.
    CTX_FUZZ_CHECK(formatted.substr(3, 50) == input.substr(3, 50));
  }

  ctx::ParseResult<std::string> state = ctx::ParseTracestate(input);
  CTX_FUZZ_CHECK(state.ok() == state.error.empty());
  if (state) CheckTracestate(*state.value);

  CheckBaggage(ctx::FilterBaggage(input));

  if (ctx::IsValidPassThroughName(input)) {
    CTX_FUZZ_CHECK(size >= 1 && size <= ctx::kMaxPassThroughNameLength);
    CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(input));
  }
  ctx::PassThroughHeaders kept;
  const std::string_view one[] = {input};
  const bool accepted = ctx::AcceptPassThrough("b3", one, kept);
  CTX_FUZZ_CHECK(accepted == ctx::IsValidPassThroughValue(input));
  if (accepted) {
    CTX_FUZZ_CHECK(kept.size() == 1 && kept[0].value == input);
    CTX_FUZZ_CHECK(!ctx::fuzz::HasControlBytes(kept[0].value));
  }

  std::vector<std::string_view> parents, states, baggages;
  std::string_view rest = input;
  while (!rest.empty()) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest =
        nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.size() < 2 || line[1] != ':') continue;
    const std::string_view value = line.substr(2);
    if (line[0] == 'p') parents.push_back(value);
    if (line[0] == 's') states.push_back(value);
    if (line[0] == 'b') baggages.push_back(value);
  }
  for (bool start : {true, false}) {
    ctx::TracePolicy policy;
    policy.start_trace = start;
    ctx::AcceptedTrace t = ctx::AcceptTraceContext(
        {.traceparent = parents, .tracestate = states, .baggage = baggages},
        policy);
    CTX_FUZZ_CHECK(t.context.has_value() ==
                   (start || t.source == ctx::TraceSource::kIncoming));
    if (!t.context) continue;
    CTX_FUZZ_CHECK(t.context->trace_id.IsValid());
    CTX_FUZZ_CHECK(t.context->parent_id.IsValid());
    if (t.source != ctx::TraceSource::kIncoming)
      CTX_FUZZ_CHECK(t.context->tracestate.empty());
    if (!t.context->tracestate.empty()) CheckTracestate(t.context->tracestate);
    CheckBaggage(t.context->baggage);
    const ctx::TraceContext child = ctx::ChildForCall(*t.context);
    CTX_FUZZ_CHECK(ctx::ParseTraceparent(ctx::FormatTraceparent(child)));
  }
  return 0;
}
