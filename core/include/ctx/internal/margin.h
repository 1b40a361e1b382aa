// SPDX-License-Identifier: Apache-2.0
// ctx/internal/margin.h: the proportional part of the bridges' deadline
// margins (deadline_margin_ratio in ctx::grpc::ClientOptions and
// ctx::http::ClientOptions). Not API.

#ifndef CTX_INTERNAL_MARGIN_H_
#define CTX_INTERNAL_MARGIN_H_

#include <algorithm>

#include "ctx/done_signal.h"

namespace ctx::internal {

// ProportionalMargin is `ratio` of `remaining` (remaining >= 0), the ratio
// clamped to [0, 1]; a NaN ratio counts as 0. Never more than `remaining`:
// in double, a count near the top of its range rounds up, past it.
inline Clock::duration ProportionalMargin(Clock::duration remaining,
                                          double ratio) {
  const double r = ratio >= 0 ? std::min(ratio, 1.0) : 0.0;
  const double all = static_cast<double>(remaining.count());
  const double part = all * r;
  if (part >= all) return remaining;
  return Clock::duration(static_cast<Clock::duration::rep>(part));
}

}  // namespace ctx::internal

#endif  // CTX_INTERNAL_MARGIN_H_
