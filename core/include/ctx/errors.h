// SPDX-License-Identifier: Apache-2.0
// ctx/errors.h: the errors a context reports.
//
// A context that is done reports why through `Context::Err()`, a
// `std::error_code` in the `ctx` category:
//
// clang-format off
//   Errc::kCanceled          "context canceled"
//                            == std::errc::operation_canceled
//   Errc::kDeadlineExceeded  "context deadline exceeded"
//                            == std::errc::timed_out
// clang-format on
//
// `ctx::Error` is an error code plus an optional message; it is what `Cause()`
// returns and what a `CancelCauseFunc` takes, so a cause can say more than the
// code ("client disconnected").
//
// clang-format off
//   if (c.Err() == ctx::Errc::kDeadlineExceeded) { ... }
//   if (c.Err() == std::errc::timed_out) { ... }  // portable condition
//   ctx::Error why = ctx::Cause(c);  // e.g. {kCanceled, "client gone"}
// clang-format on

#ifndef CTX_ERRORS_H_
#define CTX_ERRORS_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "ctx/export.h"

namespace ctx {

// Errc lists the errors of the `ctx` category. Zero is never used: a default
// `std::error_code` means "no error", which is what `Err()` returns while a
// context is live.
enum class Errc : int {
  // kCanceled: the context was canceled by a cancel function, a parent, or a
  // bridge (client gone). Across an RPC boundary it becomes gRPC CANCELLED /
  // HTTP 499 (client closed request).
  kCanceled = 1,
  // kDeadlineExceeded: the context's deadline passed. Across an RPC boundary it
  // becomes gRPC DEADLINE_EXCEEDED / HTTP 504.
  kDeadlineExceeded = 2,
};

// Category returns the `ctx` error category. Its default_error_condition maps
// kCanceled to std::errc::operation_canceled and kDeadlineExceeded to
// std::errc::timed_out.
CTX_EXPORT const std::error_category& Category() noexcept;

// make_error_code makes `Errc` usable wherever a std::error_code is expected
// (found by ADL).
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), Category()};
}

class Error;

namespace internal {
// ImmortalError returns an Error that lives until the process ends, with a
// message shared without reference counting: copying it, and copying or
// destroying its copies, touches no shared counter (no atomic operation). For
// causes made once and used for the life of the process (a bridge's); each
// call makes one more, kept for good (reachable: leak checkers see no leak).
CTX_EXPORT const Error& ImmortalError(std::error_code code,
                                      std::string_view message);
// ErrorInternals is core's access to an Error's parts (core/src/kept_errors.h).
struct ErrorInternals;
}  // namespace internal

// Error is an error code with an optional message: the cause of a cancellation.
// Cheap to copy (the message is shared, immutable). A default Error is "no
// error" and converts to false. The one-argument constructors are implicit by
// design, so a bare code serves wherever an Error is taken.
class CTX_EXPORT Error {
 public:
  Error() = default;
  Error(std::error_code code) : code_(code) {}                  // NOLINT
  Error(Errc code) : code_(make_error_code(code)) {}            // NOLINT
  Error(std::errc code) : code_(std::make_error_code(code)) {}  // NOLINT
  Error(std::error_code code, std::string_view message);
  Error(Errc code, std::string_view message)
      : Error(make_error_code(code), message) {}
  // A portable std::errc becomes a generic_category code:
  // Error(std::errc::connection_reset, "...").
  Error(std::errc code, std::string_view message)
      : Error(std::make_error_code(code), message) {}

  // code returns the error code; a default code means no error.
  [[nodiscard]] const std::error_code& code() const noexcept { return code_; }
  // message returns the message given at construction, or the code's own
  // message when none was given.
  [[nodiscard]] std::string message() const;
  // ToString returns message() with the code's category and value: "client gone
  // (ctx:1)".
  [[nodiscard]] std::string ToString() const;
  explicit operator bool() const noexcept { return static_cast<bool>(code_); }

  // Errors compare by code and message; an Error compares to a bare code (or
  // enum) by code alone.
  friend CTX_EXPORT bool operator==(const Error& a, const Error& b) noexcept;
  friend bool operator==(const Error& a, const std::error_code& b) noexcept {
    return a.code_ == b;
  }
  friend bool operator==(const Error& a, Errc b) noexcept {
    return a.code_ == make_error_code(b);
  }
  friend bool operator==(const Error& a, std::errc b) noexcept {
    return a.code_ == b;
  }
  friend std::ostream& operator<<(std::ostream& os, const Error& e) {
    return os << e.message();
  }

 private:
  friend const Error& internal::ImmortalError(std::error_code code,
                                              std::string_view message);
  friend struct internal::ErrorInternals;
  std::error_code code_;
  // message_: null when no message was given.
  std::shared_ptr<const std::string> message_;
};

}  // namespace ctx

namespace std {
template <>
struct is_error_code_enum<ctx::Errc> : true_type {};
}  // namespace std

#endif  // CTX_ERRORS_H_
