// SPDX-License-Identifier: Apache-2.0
// ctx/clock.h: deadline arithmetic shared by the bridges (not in Go, where
// time.Time is both clocks).
//
// Deadlines run on ctx::Clock (steady_clock). gRPC and HTTP speak system_clock
// or relative timeouts; these helpers convert without overflow:
//
//   // nullopt when c has no deadline:
//   std::optional<ctx::Clock::duration> left = ctx::Remaining(c);
//   cc.set_deadline(ctx::ToSystemTime(*c.Deadline()));

#ifndef CTX_CLOCK_H_
#define CTX_CLOCK_H_

#include <chrono>
#include <optional>

#include "ctx/context.h"
#include "ctx/export.h"

namespace ctx {

// Remaining returns how long until c's deadline (zero or negative once it has
// passed), or nullopt when c has no deadline. A deadline of TimePoint::max()
// gives Clock::duration::max(); a distance beyond Clock::duration's range
// saturates at its min() or max() instead of overflowing.
[[nodiscard]] CTX_EXPORT std::optional<Clock::duration> Remaining(
    const Context& c, TimePoint now = Clock::now());

// ToSystemTime converts a Clock time point to system_clock by the current
// offset between the clocks; TimePoint::max() maps to
// system_clock::time_point::max() and min() to min() (saturating, never
// overflowing).
[[nodiscard]] CTX_EXPORT std::chrono::system_clock::time_point ToSystemTime(
    TimePoint t);

// FromSystemTime is the inverse of ToSystemTime, saturating the same way.
[[nodiscard]] CTX_EXPORT TimePoint
FromSystemTime(std::chrono::system_clock::time_point t);

}  // namespace ctx

#endif  // CTX_CLOCK_H_
