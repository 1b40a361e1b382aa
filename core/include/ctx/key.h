// SPDX-License-Identifier: Apache-2.0
// ctx/key.h: typed keys for request-scoped values.
//
// Go keys values by `interface{}` and asks callers to define unexported key
// types to avoid clashes. Here a key is an object: `ctx::Key<T>` identifies its
// values by the key's address and fixes their type, so a lookup needs no cast
// and two libraries cannot collide.
//
//   // One key per program, at namespace scope:
//   inline constexpr ctx::Key<std::string> kUser{"user"};
//   ctx::Context c = ctx::WithValue(parent, kUser, "gopher");
//   if (const std::string* user = c.Value(kUser)) { ... }  // null if absent

#ifndef CTX_KEY_H_
#define CTX_KEY_H_

#include <concepts>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

namespace ctx {
namespace internal {

// KeyBase is what a value node stores: the key's identity, its name and how to
// print a value of its type.
class KeyBase {
 public:
  using Printer = void (*)(std::ostream& os, const void* value);

  constexpr KeyBase(std::string_view name, Printer printer)
      : name_(name), printer_(printer) {}
  KeyBase(const KeyBase&) = delete;
  KeyBase& operator=(const KeyBase&) = delete;

  [[nodiscard]] constexpr std::string_view name() const { return name_; }
  void Print(std::ostream& os, const void* value) const { printer_(os, value); }

 private:
  std::string_view name_;
  Printer printer_;
};

template <class T>
void PrintValue(std::ostream& os, const void* value) {
  if constexpr (requires(std::ostream & o, const T& v) { o << v; }) {
    os << *static_cast<const T*>(value);
  } else {
    os << "<not printable>";
  }
}

}  // namespace internal

// Key<T> names a request-scoped value of type T. Keys are compared by address:
// define each one once, at namespace scope (`inline constexpr` in a header),
// and never copy it (copying is deleted). The name is used only in descriptions
// (`ToString`). Values whose type can be written to a std::ostream are shown in
// descriptions; others print as "<not printable>".
//
// Lifetime: a Key must outlive every context that holds a value under it (a
// namespace-scope key does).
template <class T>
class Key : public internal::KeyBase {
 public:
  using ValueType = T;
  explicit constexpr Key(std::string_view name)
      : KeyBase(name, &internal::PrintValue<T>) {}
};

}  // namespace ctx

#endif  // CTX_KEY_H_
