// SPDX-License-Identifier: Apache-2.0
// Building a server call's context. See call_builder.h.

#include "call_builder.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>
#include <utility>

#include "call_state.h"
#include "call_values.h"
#include "ctx/grpc/call_context.h"
#include "ctx/internal/http_syntax.h"
#include "ctx/propagation.h"
#include "gpr_clock.h"

namespace ctx::grpc::internal {
namespace {

std::string Lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

// EffectiveDeadline combines the client's deadline with the server's policy
// (see ServerOptions): the policy's budgets count from `arrived`; `now` is a
// fresh clock reading for the client deadline's conversion.
std::optional<TimePoint> EffectiveDeadline(const ServerOptions& options,
                                           gpr_timespec client,
                                           std::optional<Clock::duration> envoy,
                                           TimePoint arrived, TimePoint now) {
  const auto budget_end = [arrived](Clock::duration budget) {
    // Saturates: an absurd budget cannot overflow. A budget stays a deadline:
    // TimePoint::max() means "none" in ctx (see FromGprDeadline).
    constexpr TimePoint kLatest = TimePoint::max() - Clock::duration(1);
    return arrived + std::min(budget, kLatest - arrived);
  };
  std::optional<TimePoint> deadline = FromGprDeadline(client, now);
  if (envoy)
    deadline =
        std::min(deadline.value_or(TimePoint::max()), budget_end(*envoy));
  if (!deadline && options.default_timeout)
    deadline = budget_end(*options.default_timeout);
  if (options.max_timeout) {
    deadline = std::min(deadline.value_or(TimePoint::max()),
                        budget_end(*options.max_timeout));
  }
  return deadline;
}

}  // namespace

ServerOptions NormalizeOptions(ServerOptions options) {
  options.request_id_key = Lowercase(std::move(options.request_id_key));
  options.session_key = Lowercase(std::move(options.session_key));
  // A key gRPC refuses to send would abort the process at the first echo
  // (gRPC asserts on it); one it never delivers would never be read; one that
  // frames or describes the message (HTTP/2 forbids the connection-specific
  // ones, gRPC writes host and content-type itself) would be dropped, or
  // change how the peer reads the response.
  for (const std::string* key :
       {&options.request_id_key, &options.session_key}) {
    if (!::ctx::internal::IsMetadataKey(*key) ||
        !::ctx::internal::FramingHeader(*key).empty() || *key == "host" ||
        key->starts_with("content-")) {
      throw std::invalid_argument(
          "ctx::grpc: not a usable metadata key for an id: \"" + LogSafe(*key) +
          "\"");
    }
  }
  return options;
}

BuiltCall BuildCall(const ServerOptions& options, ::grpc::ServerContextBase* sc,
                    const Metadata& metadata, const char* method, bool generic,
                    bool echo, TimePoint arrived, TimePoint now,
                    const EarlyEnd* early) {
  const ScannedMetadata scanned =
      ScanMetadata(metadata, options.request_id_key, options.session_key);
  BuiltCall built;
  built.deadline = EffectiveDeadline(
      options, sc->raw_deadline(),
      options.trust_envoy_timeout ? ReadEnvoyTimeout(scanned) : std::nullopt,
      arrived, now);
  // Below the minimum: born expired (see ServerOptions::min_timeout).
  built.below_minimum = built.deadline && options.min_timeout &&
                        *built.deadline - arrived < *options.min_timeout;
  if (built.below_minimum) built.deadline = arrived;
  if (built.deadline)
    built.deadline_slack = CallState::DeadlineSlack(*built.deadline - arrived);
  // One cancelable node ends the call: the deadline's node when there is a
  // deadline (a timer node is a cancel node: a cause-taking cancel function
  // made for it keeps Cause() precise), else a cancel node. When gRPC closes a
  // call because its deadline passed, the context then reports
  // kDeadlineExceeded (CallState::End defers to the timer).
  Context c;
  // An early end that was the client's (not the deadline's) cancels a node
  // above the deadline's, which is then born done with its error and cause.
  // (A call below the minimum was due on arrival: its deadline ends it.)
  Context parent = options.root;
  if (early != nullptr && !built.below_minimum &&
      !(built.deadline &&
        early->at + built.deadline_slack >= *built.deadline)) {
    ContextAndCancelCause ended = WithCancelCause(options.root);
    ended.cancel(*early->cause);
    parent = std::move(ended.context);
  }
  if (built.deadline) {
    ContextAndCancel d =
        ::ctx::internal::NewDeadline(parent, *built.deadline, Error(), now);
    built.end_call = ContextPeer::CauseTaking(std::move(d.cancel));
    c = std::move(d.context);
  } else {
    ContextAndCancelCause d = WithCancelCause(parent);
    built.end_call = std::move(d.cancel);
    c = std::move(d.context);
  }
  // The call's values share one node (one allocation).
  const AcceptedId* id = nullptr;
  built.context = WithCallValues(std::move(c),
                                 CallValuesSource{.scanned = scanned,
                                                  .metadata = metadata,
                                                  .options = options,
                                                  .sc = sc,
                                                  .method = method,
                                                  .registered = !generic},
                                 &id);
  // Echo only an id the client does not know yet (generated, or replacing an
  // invalid one), unless always_echo_request_id.
  if (echo && options.echo_request_id &&
      (options.always_echo_request_id || id->source != IdSource::kIncoming))
    sc->AddInitialMetadata(options.request_id_key, id->id);
  return built;
}

}  // namespace ctx::grpc::internal
