// SPDX-License-Identifier: Apache-2.0
// examples/demo/order_json.h: the gateway's JSON answers, rendered by
// protobuf's JSON printer from ctxdemo.OrderAnswer and ctxdemo.ErrorAnswer
// (proto/demo.proto), with the field names as the .proto writes them:
//
//   {
//    "request_id": "4bf9...",
//    "order_id": "order-1",
//    "hops": [
//     {
//      "service": "gateway",
//      "request_id": "4bf9...",
//      "left_ms": 1999
//     },
//     ... orders, inventory/east, inventory/west
//    ]
//   }

#ifndef CTX_EXAMPLES_DEMO_ORDER_JSON_H_
#define CTX_EXAMPLES_DEMO_ORDER_JSON_H_

#include <string>
#include <string_view>

#include "demo.pb.h"

namespace demo {

// OrderJson renders a placed order: the gateway's own hop, then the hops
// orders reported.
[[nodiscard]] std::string OrderJson(const ctxdemo::Hop& gateway,
                                    const ctxdemo::PlaceOrderReply& reply);

// ErrorJson renders a failure: {"request_id": ..., "error": ...}.
[[nodiscard]] std::string ErrorJson(std::string_view request_id,
                                    std::string_view error);

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_ORDER_JSON_H_
