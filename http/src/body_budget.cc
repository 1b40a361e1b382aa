// SPDX-License-Identifier: Apache-2.0
// The server-wide budget for request bodies. See body_budget.h.

#include "body_budget.h"

#include <algorithm>
#include <utility>

namespace ctx::http::internal {

bool BodyBudget::FitsLocked(size_t n, size_t past) const noexcept {
  const size_t past_cap = limit_ - reserve_;
  return n <= limit_ && held_ <= limit_ - n && past <= past_cap &&
         held_past_ <= past_cap - past;
}

bool BodyBudget::TryTake(size_t n, size_t room) noexcept {
  const size_t past = Past(room) - Past(room - n);
  MutexLock lock(mu_);
  if (!FitsLocked(n, past)) return false;
  held_ += n;
  held_past_ += past;
  return true;
}

void BodyBudget::Give(size_t n, size_t room) noexcept {
  const size_t past = Past(room) - Past(room - n);
  MutexLock lock(mu_);
  held_ -= n;
  held_past_ -= past;
}

size_t BodyBudget::held() const noexcept {
  MutexLock lock(mu_);
  return held_;
}

bool BodyBudget::Fits(size_t bytes) const noexcept {
  MutexLock lock(mu_);
  return FitsLocked(bytes, Past(bytes));
}

size_t BodyBudget::LargestBody() const noexcept {
  const size_t past_cap = limit_ - reserve_;
  const size_t small = std::min(small_, limit_);
  return past_cap > limit_ - small ? limit_ : small + past_cap;
}

BodyReservation& BodyReservation::operator=(BodyReservation&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool BodyReservation::Grow(BodyBudget* budget, size_t n) noexcept {
  if (budget != nullptr && !budget->TryTake(n, bytes_ + n)) return false;
  budget_ = budget;
  bytes_ += n;
  return true;
}

void BodyReservation::Release() noexcept {
  if (budget_ != nullptr && bytes_ > 0) budget_->Give(bytes_, bytes_);
  budget_ = nullptr;
  bytes_ = 0;
}

bool MakeBodyRoom(std::string& body, BodyReservation& memory,
                  BodyBudget* budget, size_t n, size_t ceiling) {
  const size_t need = body.size() + n;
  if (need <= memory.bytes()) return true;
  constexpr size_t kFirstRoom = 4 * 1024;
  const size_t room = std::max(
      need, std::min(ceiling, std::max(2 * memory.bytes(), kFirstRoom)));
  if (!memory.Grow(budget, room - memory.bytes())) return false;
  std::string grown;
  grown.reserve(room);
  grown.append(body);
  body = std::move(grown);
  return true;
}

}  // namespace ctx::http::internal
