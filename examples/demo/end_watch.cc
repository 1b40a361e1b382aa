// SPDX-License-Identifier: Apache-2.0
#include "end_watch.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "ctx/context.h"
#include "ctx/log/log.h"

namespace demo {

EndWatch::EndWatch(const ctx::Context& c, std::string what)
    : context_(c), finished_(std::make_shared<std::atomic<bool>>(false)) {
  stop_ = ctx::AfterFunc(c, [c, finished = finished_, what = std::move(what)] {
    if (finished->load()) return;  // ended after the work: a normal release
    ctx::log::Warn(c, "{}: context ended while working: {}", what,
                   ctx::Cause(c).message());
  });
}

EndWatch::~EndWatch() {
  // Not stopped when the context has already ended: its callback may still be
  // queued behind others on the canceling thread, and stopping it now would
  // lose the line.
  if (!context_.Err()) {
    finished_->store(true);
    stop_();
  }
}

}  // namespace demo
