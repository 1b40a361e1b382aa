// SPDX-License-Identifier: Apache-2.0
// A server call's values node. See call_values.h.

#include "call_values.h"

#include "call_info.h"
#include "ctx/grpc/call_context.h"
#include "ctx/pass_through.h"
#include "ctx/trace_context.h"

namespace ctx::grpc::internal {
namespace {

using ::ctx::internal::Node;
using ::ctx::internal::ValuesNode;

// CallValuesNode is a ValuesNode whose values are its own members, each
// initialized from its reader's result in place: a lookup finds them through
// the entry table like any ValuesNode's.
class CallValuesNode final : public ValuesNode {
 public:
  CallValuesNode(Node* parent, const CallValuesSource& source)
      : ValuesNode(parent, &Destroy),
        ids_(ReadIncomingIds(source.scanned)),
        trace_(ReadIncomingTrace(source.scanned, source.options.trace)),
        pass_through_(
            ReadPassThrough(source.metadata, source.options.pass_through)),
        info_(CallInfoMaker::Make(source.sc, source.method, source.registered,
                                  ids_.request_id.source)) {
    Add(&kRequestIdKey, &ids_.request_id.id);
    if (ids_.session_id) Add(&kSessionIdKey, &*ids_.session_id);
    if (trace_.context) Add(&kTraceContextKey, &*trace_.context);
    if (!pass_through_.empty()) Add(&kPassThroughKey, &pass_through_);
    Add(&kCallInfoKey, &info_);
    entries_ = table_;
  }

  [[nodiscard]] const AcceptedId& request_id() const noexcept {
    return ids_.request_id;
  }

 private:
  void Add(const ::ctx::internal::KeyBase* key, const void* value) noexcept {
    table_[count_++] = Entry{key, value};
  }
  static void Destroy(ValuesNode* n) noexcept {
    delete static_cast<CallValuesNode*>(n);
  }

  IncomingIds ids_;
  AcceptedTrace trace_;
  PassThroughHeaders pass_through_;
  CallInfo info_;  // after ids_: made from its source
  Entry table_[5];
};

// A call's values node comes from the node pool, not from malloc, on every
// call.
static_assert(sizeof(CallValuesNode) <= ::ctx::internal::kPooledValueNodeBytes);

}  // namespace

Context WithCallValues(Context parent, const CallValuesSource& source,
                       const AcceptedId** request_id) {
  return ::ctx::internal::BuildValueNode(
      ::ctx::internal::AdoptValueParentFrom(parent), [&](Node* p) {
        auto* n = new CallValuesNode(p, source);
        *request_id = &n->request_id();
        return n;
      });
}

}  // namespace ctx::grpc::internal
