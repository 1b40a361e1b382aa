// SPDX-License-Identifier: Apache-2.0
// Pacing content providers that write nothing. See provider_pacing.h.

#include "provider_pacing.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

#include "ctx/clock.h"

namespace ctx::http::internal {
namespace {

constexpr std::chrono::milliseconds kFirstPause(1);
constexpr std::chrono::milliseconds kLongestPause(16);

// PacedProvider is the wrapper's state; httplib copies the provider, so it
// lives behind a shared_ptr in the wrapper. httplib passes each call the
// offset of the body written so far (by every kind of provider): the same
// offset twice means the call between wrote nothing.
struct PacedProvider {
  httplib::ContentProvider inner;
  std::chrono::milliseconds response_timeout;
  std::optional<TimePoint> deadline;  // set by the first call
  size_t last_offset = 0;
  std::chrono::milliseconds pause{0};

  bool operator()(size_t offset, size_t length, httplib::DataSink& sink) {
    if (!deadline) {
      deadline = Clock::now() + response_timeout;
    } else if (offset == last_offset) {
      const TimePoint now = Clock::now();
      if (now >= *deadline) return false;
      pause = std::clamp(pause * 2, kFirstPause, kLongestPause);
      std::this_thread::sleep_for(
          std::min<Clock::duration>(pause, *deadline - now));
    } else {
      pause = std::chrono::milliseconds(0);
    }
    last_offset = offset;
    return inner(offset, length, sink);
  }
};

}  // namespace

void PaceContentProvider(httplib::Response& res,
                         std::chrono::milliseconds response_timeout) {
  if (!res.content_provider_) return;
  auto paced = std::make_shared<PacedProvider>();
  paced->inner = std::move(res.content_provider_);
  paced->response_timeout = response_timeout;
  res.content_provider_ = [paced](size_t offset, size_t length,
                                  httplib::DataSink& sink) {
    return (*paced)(offset, length, sink);
  };
}

}  // namespace ctx::http::internal
