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
#include <atomic>
#include <cstddef>
#include <string>
#include <utility>

namespace ctx::http::internal {

// BodyBudget counts the bytes held against a limit, of which `reserve` is
// kept for small bodies: room that makes a body's buffer larger than `small`
// bytes is taken only while it leaves `reserve` untaken. So large bodies
// hold at most limit - reserve between them, and while the connections that
// can hold a body, times `small`, are at most `reserve`, a small body fits
// whatever the large ones hold.
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
  // them, unless that would pass what such a body may use; false then, and
  // nothing is taken.
  [[nodiscard]] bool TryTake(size_t n, size_t room) noexcept;
  // Give returns n bytes taken earlier.
  void Give(size_t n) noexcept;
  // held: the bytes taken now (tests).
  [[nodiscard]] size_t held() const noexcept {
    return held_.load(std::memory_order_relaxed);
  }
  // Fits says whether a body of `bytes` would fit what is left now (another
  // thread may take it meanwhile).
  [[nodiscard]] bool Fits(size_t bytes) const noexcept {
    const size_t cap = CapFor(bytes);
    return bytes <= cap && held() <= cap - bytes;
  }
  // LargestBody is the largest body that can ever fit.
  [[nodiscard]] size_t LargestBody() const noexcept {
    return std::max(std::min(small_, limit_), limit_ - reserve_);
  }

 private:
  // CapFor is what all bodies may hold once one body's room is `room`.
  [[nodiscard]] size_t CapFor(size_t room) const noexcept {
    return room <= small_ ? limit_ : limit_ - reserve_;
  }

  const size_t limit_;
  const size_t small_;
  const size_t reserve_;
  std::atomic<size_t> held_{0};
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
