// SPDX-License-Identifier: Apache-2.0
// The server-wide budget for request bodies. See body_budget.h.

#include "body_budget.h"

#include <algorithm>
#include <utility>

namespace ctx::http::internal {

bool BodyBudget::TryTake(size_t n, size_t room) noexcept {
  const size_t cap = CapFor(room);
  size_t held = held_.load(std::memory_order_relaxed);
  do {
    if (n > cap || held > cap - n) return false;
  } while (
      !held_.compare_exchange_weak(held, held + n, std::memory_order_relaxed));
  return true;
}

void BodyBudget::Give(size_t n) noexcept {
  held_.fetch_sub(n, std::memory_order_relaxed);
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
  if (budget_ != nullptr && bytes_ > 0) budget_->Give(bytes_);
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
