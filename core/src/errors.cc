// SPDX-License-Identifier: Apache-2.0
#include "ctx/errors.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "kept_errors.h"

namespace ctx {
namespace {

// KnownMessage is the message of a ctx code ("" for an unknown value).
std::string_view KnownMessage(int ev) noexcept {
  switch (static_cast<Errc>(ev)) {
    case Errc::kCanceled:
      return "context canceled";
    case Errc::kDeadlineExceeded:
      return "context deadline exceeded";
  }
  return {};
}

class CtxCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ctx"; }
  std::string message(int ev) const override {
    const std::string_view known = KnownMessage(ev);
    if (!known.empty()) return std::string(known);
    return "unknown ctx error " + std::to_string(ev);
  }
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<Errc>(ev)) {
      case Errc::kCanceled:
        return std::errc::operation_canceled;
      case Errc::kDeadlineExceeded:
        return std::errc::timed_out;
    }
    return {ev, *this};
  }
};

// CategoryStorage holds the category from before any code runs (constant
// initialization) until the process ends: no first-use guard (a child forked
// while another thread held it would wait for it forever) and no destruction
// (error codes may still be read while static destructors run).
union CategoryStorage {
  constexpr CategoryStorage() : category() {}
  ~CategoryStorage() {}
  CtxCategory category;
};
constinit const CategoryStorage g_category;

}  // namespace

const std::error_category& Category() noexcept { return g_category.category; }

Error::Error(std::error_code code, std::string_view message)
    : code_(code), message_(std::make_shared<const std::string>(message)) {}

namespace internal {
alignas(KeptError) constinit std::byte
    g_kept_storage[kMaxKeptIndex * sizeof(KeptError)] = {};
}  // namespace internal

namespace {
using internal::KeptError;
// g_kept_next: the next free slot of the storage; g_kept: the kept errors
// made once it was full.
constinit std::atomic<uint32_t> g_kept_next{0};
constinit std::atomic<const KeptError*> g_kept{nullptr};
}  // namespace

const Error& internal::ImmortalError(std::error_code code,
                                     std::string_view message) {
  const uint32_t i = g_kept_next.fetch_add(1, std::memory_order_relaxed);
  const bool slotted = i < kMaxKeptIndex;
  if (!slotted)  // no wrap
    g_kept_next.store(kMaxKeptIndex, std::memory_order_relaxed);
  KeptError* const kept =
      slotted
          ? new (internal::g_kept_storage + std::size_t{i} * sizeof(KeptError))
                KeptError{std::string(message), Error(code)}
          : new KeptError{std::string(message), Error(code)};
  // An aliasing pointer with no owner holds no control block: its copies
  // count nothing.
  kept->error.message_ = std::shared_ptr<const std::string>(
      std::shared_ptr<const std::string>(), &kept->text);
  // Only a cancel reads `bare`, and only through a slot.
  kept->bare = slotted && code.category() == Category() &&
               kept->error == Error(static_cast<Errc>(code.value()));
  if (!slotted) {
    // Listed once complete: reachable for as long as the process runs.
    const KeptError* head = g_kept.load(std::memory_order_relaxed);
    do {
      kept->next = head;
    } while (!g_kept.compare_exchange_weak(
        head, kept, std::memory_order_release, std::memory_order_relaxed));
  }
  return kept->error;
}

std::string Error::message() const {
  if (message_) return *message_;
  return code_ ? code_.message() : std::string();
}

std::string Error::ToString() const {
  if (!code_) return message_ ? *message_ : std::string("no error");
  return message() + " (" + code_.category().name() + ":" +
         std::to_string(code_.value()) + ")";
}

bool operator==(const Error& a, const Error& b) noexcept {
  if (a.code_ != b.code_) return false;
  // Same message object (or neither has one): equal without building strings.
  // Cancel compares every cause with its Errc this way, so the common case
  // (no message) allocates nothing; before, message() built two strings
  // longer than the SSO buffer per born-done child.
  if (a.message_ == b.message_) return true;
  if (a.message_ && b.message_) return *a.message_ == *b.message_;
  // One message against the other's code message: a cause against its bare
  // code, which Cancel checks on every cancel with a cause. A known ctx code's
  // message is a constant: compare without building strings.
  const std::string& own = a.message_ ? *a.message_ : *b.message_;
  if (a.code_.category() == Category()) {
    const std::string_view known = KnownMessage(a.code_.value());
    if (!known.empty()) return own == known;
  }
  return own == a.code_.message();
}

}  // namespace ctx
