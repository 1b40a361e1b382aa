// SPDX-License-Identifier: Apache-2.0
// examples/demo/hop.h: what a demo service saw of a request when its handler
// started (ctxdemo.Hop in proto/demo.proto), in milliseconds.

#ifndef CTX_EXAMPLES_DEMO_HOP_H_
#define CTX_EXAMPLES_DEMO_HOP_H_

#include <cstdint>
#include <string>

#include "ctx/clock.h"
#include "ctx/context.h"
#include "demo.pb.h"

namespace demo {

// LeftMs returns c's remaining deadline in whole milliseconds, or -1 when it
// has none.
[[nodiscard]] int64_t LeftMs(const ctx::Context& c);

// MillisecondsSince returns the whole milliseconds from `start` to now.
[[nodiscard]] int64_t MillisecondsSince(ctx::TimePoint start);

// MakeHop returns the Hop of `service` for a handler whose context is c: its
// request id (empty when c has none) and LeftMs(c), as 0 when the deadline
// has passed and at most INT32_MAX.
[[nodiscard]] ctxdemo::Hop MakeHop(const ctx::Context& c,
                                   const std::string& service);

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_HOP_H_
