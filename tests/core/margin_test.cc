// SPDX-License-Identifier: Apache-2.0
// ProportionalMargin: the ratio of what is left, clamped, and never more than
// what is left, even where a double cannot hold the count exactly.

#include "ctx/internal/margin.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace ctx::internal {
namespace {

using std::chrono::milliseconds;

TEST(ProportionalMargin, IsTheRatioOfWhatIsLeft) {
  EXPECT_EQ(ProportionalMargin(milliseconds(1'000), 0.005), milliseconds(5));
  EXPECT_EQ(ProportionalMargin(milliseconds(1'000), 0), Clock::duration(0));
}

TEST(ProportionalMargin, RatioOutsideZeroToOneIsClamped) {
  EXPECT_EQ(ProportionalMargin(milliseconds(1'000), 7), milliseconds(1'000));
  EXPECT_EQ(ProportionalMargin(milliseconds(1'000), -1), Clock::duration(0));
  EXPECT_EQ(ProportionalMargin(milliseconds(1'000),
                               std::numeric_limits<double>::quiet_NaN()),
            Clock::duration(0));
  EXPECT_EQ(ProportionalMargin(milliseconds(1'000),
                               std::numeric_limits<double>::infinity()),
            milliseconds(1'000));
}

TEST(ProportionalMargin, NeverMoreThanWhatIsLeftAtTheTopOfTheRange) {
  // The count rounds up to 2^63 in double, out of range for the count's type.
  for (const Clock::duration::rep left :
       {std::numeric_limits<Clock::duration::rep>::max(),
        std::numeric_limits<Clock::duration::rep>::max() - 511}) {
    for (const double ratio : {1.0, 0.9999999999999999}) {
      const Clock::duration margin =
          ProportionalMargin(Clock::duration(left), ratio);
      EXPECT_LE(margin.count(), left) << ratio;
      EXPECT_GT(margin.count(), left / 2) << ratio;
    }
  }
}

}  // namespace
}  // namespace ctx::internal
