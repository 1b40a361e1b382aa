// SPDX-License-Identifier: Apache-2.0
// examples/demo/validate.h: the checks the demo services apply to request
// fields before using or logging them (fields come from the wire: untrusted).

#ifndef CTX_EXAMPLES_DEMO_VALIDATE_H_
#define CTX_EXAMPLES_DEMO_VALIDATE_H_

#include <cstdint>
#include <string_view>

namespace demo {

// kMaxWorkMs caps the simulated work a request may ask for (10 minutes).
inline constexpr int64_t kMaxWorkMs = 600'000;

// IsValidItem reports whether `item` is 1 to 32 characters of [a-z0-9-].
[[nodiscard]] bool IsValidItem(std::string_view item);

// IsValidWarehouse reports whether `warehouse` is 1 to 16 characters of
// [a-z].
[[nodiscard]] bool IsValidWarehouse(std::string_view warehouse);

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_VALIDATE_H_
