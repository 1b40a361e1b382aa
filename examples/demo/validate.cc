// SPDX-License-Identifier: Apache-2.0
#include "validate.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace demo {

bool IsValidItem(std::string_view item) {
  return !item.empty() && item.size() <= 32 &&
         std::all_of(item.begin(), item.end(), [](char ch) {
           return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '-';
         });
}

bool IsValidWarehouse(std::string_view warehouse) {
  return !warehouse.empty() && warehouse.size() <= 16 &&
         std::all_of(warehouse.begin(), warehouse.end(),
                     [](char ch) { return ch >= 'a' && ch <= 'z'; });
}

}  // namespace demo
