// SPDX-License-Identifier: Apache-2.0
#include "order_json.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <string_view>

namespace demo {
namespace {

// ToJson renders `message` with every field shown (an empty id or a zero
// budget too), indented, and named as in the .proto.
std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    // Only a string field that is not UTF-8 fails, and every field here is
    // either validated ASCII or came off the wire through proto3's own UTF-8
    // check.
    return "{\"error\": \"the answer could not be rendered as JSON\"}\n";
  }
  out += '\n';  // for a terminal: curl prints the body as it is
  return out;
}

}  // namespace

std::string OrderJson(const ctxdemo::Hop& gateway,
                      const ctxdemo::PlaceOrderReply& reply) {
  ctxdemo::OrderAnswer answer;
  answer.set_request_id(gateway.request_id());
  answer.set_order_id(reply.order_id());
  *answer.add_hops() = gateway;
  answer.mutable_hops()->MergeFrom(reply.hops());
  return ToJson(answer);
}

std::string ErrorJson(std::string_view request_id, std::string_view error) {
  ctxdemo::ErrorAnswer answer;
  answer.set_request_id(std::string(request_id));
  answer.set_error(std::string(error));
  return ToJson(answer);
}

}  // namespace demo
