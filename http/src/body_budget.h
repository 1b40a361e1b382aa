// SPDX-License-Identifier: Apache-2.0
// http/src/body_budget.h: the memory all of a server's request bodies may hold
// at once (ServerLimits::max_buffered_body_bytes). Internal.
//
// A request's body takes the room it grows into (the parser's buffer, which
// doubles as bytes arrive) from the server's BodyBudget, through the
// BodyReservation that travels with the request, and gives it back when the
// request is done: after its response is made, or once its connection
// stops serving (lingers or closes). A declared Content-Length takes nothing
// up front, so a client cannot hold the budget with a promise.

#ifndef CTX_HTTP_SRC_BODY_BUDGET_H_
#define CTX_HTTP_SRC_BODY_BUDGET_H_

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "ctx/internal/thread_annotations.h"
#include "mutex.h"

namespace ctx::http::internal {

// BodyBudget counts the bytes held against a limit, of which `reserve` is
// kept for small bodies: a body's bytes past its first `small` (a large
// body's rest) may hold only limit - reserve between them. So large bodies
// cannot take the reserve, and small bodies (and each body's first `small`
// bytes) take from the rest only what large ones do not hold: while the
// connections that can hold a body, times `small`, are at most `reserve`,
// a small body fits whatever the large ones hold.
//
// Thread-safety: every member is safe from any thread.
class BodyBudget {
 public:
  // A reserve above the limit is the limit.
  explicit BodyBudget(size_t limit, size_t small = 0,
                      size_t reserve = 0) noexcept
      : limit_(limit), small_(small), reserve_(std::min(reserve, limit)) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  // TryTake takes n bytes for a body whose room becomes `room` bytes with
  // them, unless that would pass the limit, or the large bodies' share with
  // the bytes of it past `small`; false then, and nothing is taken.
  [[nodiscard]] bool TryTake(size_t n, size_t room) noexcept
      CTX_LOCKS_EXCLUDED(mu_);
  // Give returns n bytes taken earlier, the last of a body's `room` bytes.
  void Give(size_t n, size_t room) noexcept CTX_LOCKS_EXCLUDED(mu_);
  // held: the bytes taken now (tests).
  [[nodiscard]] size_t held() const noexcept CTX_LOCKS_EXCLUDED(mu_);
  // Fits says whether a body of `bytes` would fit what is left now (another
  // thread may take it meanwhile).
  [[nodiscard]] bool Fits(size_t bytes) const noexcept CTX_LOCKS_EXCLUDED(mu_);
  // LargestBody is the largest body that can ever fit.
  [[nodiscard]] size_t LargestBody() const noexcept;

 private:
  // Past is how many of a body's first `room` bytes lie past `small`.
  [[nodiscard]] size_t Past(size_t room) const noexcept {
    return room > small_ ? room - small_ : 0;
  }
  // FitsLocked says whether n more bytes, `past` of them past some body's
  // first `small`, fit.
  [[nodiscard]] bool FitsLocked(size_t n, size_t past) const noexcept
      CTX_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t limit_;
  const size_t small_;
  const size_t reserve_;
  mutable Mutex mu_;
  size_t held_ CTX_GUARDED_BY(mu_) = 0;
  size_t held_past_ CTX_GUARDED_BY(mu_) = 0;  // of held_, past `small`
};

// BodyReservation is what one request's body holds of a budget; it gives it
// all back when destroyed. Move-only.
//
// Thread-safety: none (one request's, used by one thread at a time).
// Lifetime: the budget must outlive it.
class BodyReservation {
 public:
  BodyReservation() noexcept = default;
  ~BodyReservation() { Release(); }
  BodyReservation(BodyReservation&& other) noexcept
      : budget_(std::exchange(other.budget_, nullptr)),
        bytes_(std::exchange(other.bytes_, 0)) {}
  BodyReservation& operator=(BodyReservation&& other) noexcept;

  // Grow takes n more bytes from `budget` (the same budget every time; null:
  // no budget, the bytes only counted). False when the budget has not that
  // much left for a body of bytes() + n: what was held stays held.
  [[nodiscard]] bool Grow(BodyBudget* budget, size_t n) noexcept;
  // Release gives every byte back now.
  void Release() noexcept;
  // bytes: what it holds.
  [[nodiscard]] size_t bytes() const noexcept { return bytes_; }

 private:
  BodyBudget* budget_ = nullptr;
  size_t bytes_ = 0;
};

// MakeBodyRoom makes room in `body` for n more bytes, taking it from
// `budget` (null: none) through `memory` first. The room grows by doubling,
// from 4 KiB, up to `ceiling` (what the body can still become), and at least
// to what is needed; the string is rebuilt with exactly that capacity
// (reserve on a string that holds memory may round up to twice its capacity,
// past what was taken), so what `memory` holds is the body's capacity, short
// of a string's own minimum (30 bytes allocated). False, and nothing
// changed, when the budget has not that much left.
[[nodiscard]] bool MakeBodyRoom(std::string& body, BodyReservation& memory,
                                BodyBudget* budget, size_t n, size_t ceiling);

}  // namespace ctx::http::internal

#endif  // CTX_HTTP_SRC_BODY_BUDGET_H_
