// SPDX-License-Identifier: Apache-2.0
// examples/demo/end_watch.h: one log line when a request's context ends while
// its handler is still working.
//
// The line is written by the thread that ends the context (the bridge that saw
// the client go, the timer of the deadline), at that moment, so its timestamp
// says when the end arrived, not when the handler noticed:
//
//   demo::EndWatch watch(c, "reserve east");
//   DoWork(c);
//   // ~EndWatch: the work is over; an end after this point (the bridge
//   // releasing the call) is not reported.
//
// logs, if c ends first:
//
//   ... warning [req=4bf9... left=-0ms done=deadline_exceeded] reserve east:
//       context ended while working: context deadline exceeded
//
// A context ends by first running its own callbacks, then canceling its
// children (docs: the core model), so when the handler makes its downstream
// calls under a child of c, this line is written before the cancel travels
// on.

#ifndef CTX_EXAMPLES_DEMO_END_WATCH_H_
#define CTX_EXAMPLES_DEMO_END_WATCH_H_

#include <atomic>
#include <memory>
#include <string>

#include "ctx/context.h"

namespace demo {

// EndWatch writes the line above if its context ends before the watch is
// destroyed. Construct and destroy it on the handler's thread.
//
// Lifetime: when the context is still live at destruction, the destructor
// stops the watch. When it has already ended, the line is written (or being
// written) by the thread that ended it, and that thread releases the watch's
// state; a context that ends at the very moment the work finishes may be
// reported either way.
class [[nodiscard]] EndWatch {
 public:
  EndWatch(const ctx::Context& c, std::string what);
  ~EndWatch();
  EndWatch(const EndWatch&) = delete;
  EndWatch& operator=(const EndWatch&) = delete;

 private:
  ctx::Context context_;
  // finished_: set by the destructor when the work finished while the context
  // was live; read by the callback.
  std::shared_ptr<std::atomic<bool>> finished_;
  ctx::StopFunc stop_;
};

}  // namespace demo

#endif  // CTX_EXAMPLES_DEMO_END_WATCH_H_
