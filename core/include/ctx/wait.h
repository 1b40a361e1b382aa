// SPDX-License-Identifier: Apache-2.0
// ctx/wait.h: waiting on several contexts at once (not in Go, where `select`
// does it).
//
// WaitAny blocks one thread until the first of several contexts is done, with
// one futex word for all of them: no thread, mutex or condition variable per
// context.
//
// clang-format off
//   std::vector<ctx::Context> calls = ...;
//   ctx::TimePoint deadline = ctx::Clock::now() + 1s;
//   if (std::optional<size_t> i = ctx::WaitAny(calls, deadline)) {
//     // calls[*i] is done
//   }
// clang-format on

#ifndef CTX_WAIT_H_
#define CTX_WAIT_H_

#include <cstddef>
#include <optional>
#include <span>

#include "ctx/context.h"
#include "ctx/export.h"

namespace ctx {

// WaitAny blocks until one of `contexts` is done or `deadline` passes. It
// returns the index of a done context (the lowest index among those done when
// it looks), or nullopt on timeout or when `contexts` is empty.
//
// Contexts that can never be done are ignored; if none can be done, it waits
// until the deadline. A deadline in the past only checks. Safe to call from any
// thread; it registers one AfterFunc per live context and stops them all before
// returning, so nothing it registered outlives the call.
[[nodiscard]] CTX_EXPORT std::optional<size_t> WaitAny(
    std::span<const Context> contexts, TimePoint deadline = TimePoint::max());

}  // namespace ctx

#endif  // CTX_WAIT_H_
