// Reading ids from client metadata. See incoming_metadata.h.

#include "incoming_metadata.h"

namespace ctx::grpc::internal {
namespace {

std::string_view View(const ::grpc::string_ref& s) {
  return {s.data(), s.size()};
}

// SingleValue returns the value of `key` when it appears exactly once.
// `present` is set when it appears at all, so that an ambiguous (repeated) key
// counts as sent-but-invalid.
std::optional<std::string_view> SingleValue(const Metadata& metadata,
                                            std::string_view key,
                                            bool* present) {
  const ::grpc::string_ref k(key.data(), key.size());
  auto [first, last] = metadata.equal_range(k);
  *present = first != last;
  if (first == last || std::next(first) != last) return std::nullopt;
  return View(first->second);
}

}  // namespace

IncomingIds ReadIncomingIds(const Metadata& metadata,
                            std::string_view request_id_key,
                            std::string_view session_key) {
  IncomingIds ids;
  bool present = false;
  std::optional<std::string_view> rid =
      SingleValue(metadata, request_id_key, &present);
  if (present && !rid) {
    ids.request_id = {NewRequestId(),
                      IdSource::kReplaced};  // repeated: ambiguous
  } else {
    ids.request_id = AcceptRequestId(rid);
  }
  std::optional<std::string_view> sid =
      SingleValue(metadata, session_key, &present);
  if (sid && IsValidSessionId(*sid)) ids.session_id.emplace(*sid);
  return ids;
}

}  // namespace ctx::grpc::internal
