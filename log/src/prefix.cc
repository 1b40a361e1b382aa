// SPDX-License-Identifier: Apache-2.0
#include "ctx/log/prefix.h"

#include <chrono>
#include <optional>
#include <string>

#include "ctx/clock.h"
#include "ctx/errors.h"
#include "ctx/propagation.h"
#include "ctx/trace_context.h"

namespace ctx::log {
namespace {

// DoneName is the short, space-free name of a done context's error.
const char* DoneName(const std::error_code& err) {
  if (err == Errc::kDeadlineExceeded) return "deadline_exceeded";
  if (err == Errc::kCanceled) return "canceled";
  return "error";  // not a ctx error: no context reports one today
}

}  // namespace

void AppendPrefix(std::string& out, const Context& c,
                  const PrefixOptions& options, TimePoint now) {
  out += "[req=";
  const std::string* id = c.Value(*options.request_id_key);
  if (id == nullptr) {
    out += '-';
  } else if (IsValidRequestId(*id)) {
    out += *id;
  } else {
    out += LogSafe(*id);
  }

  // The ids are hex digits by construction: no escaping needed.
  if (const TraceContext* trace = c.Value(kTraceContextKey)) {
    out += " trace=";
    out += trace->trace_id.ToHex();
    out += " span=";
    out += trace->parent_id.ToHex();
  }

  out += " left=";
  const std::optional<Clock::duration> left = Remaining(c, now);
  if (!left) {
    out += "none";
  } else if (*left == Clock::duration::max()) {
    out += "inf";  // TimePoint::max(): a deadline that never fires
  } else {
    out += std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(*left).count());
    out += "ms";
  }

  if (const std::error_code err = c.Err()) {
    out += " done=";
    out += DoneName(err);
  }
  out += ']';
}

std::string Prefix(const Context& c, const PrefixOptions& options,
                   TimePoint now) {
  std::string out;
  out.reserve(64);
  AppendPrefix(out, c, options, now);
  return out;
}

}  // namespace ctx::log
