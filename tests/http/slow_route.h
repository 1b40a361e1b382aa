// SPDX-License-Identifier: Apache-2.0
// tests/http/slow_route.h: a handler that runs until its context ends or the
// test releases it, and records how its context ended.

#ifndef CTX_TESTS_HTTP_SLOW_ROUTE_H_
#define CTX_TESTS_HTTP_SLOW_ROUTE_H_

#include <mutex>
#include <string>
#include <system_error>

#include "ctx/context.h"
#include "ctx/http/server.h"
#include "test_util.h"

namespace ctx::http::testing {

// SlowRoute registers `path`: the handler fires started(), waits until its
// context is done or release() fires, records Err and Cause, answers 200
// "done" and fires finished().
class SlowRoute {
 public:
  void Register(Server& server, const std::string& path = "/slow") {
    server.Get(path, [this](const Context& c, const httplib::Request&,
                            httplib::Response& res) {
      started_.Fire();
      WaitUntilDoneOr(c, release_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        err_ = c.Err();
        cause_ = Cause(c);
      }
      res.set_content("done", "text/plain");
      finished_.Fire();
    });
  }

  const Event& started() const { return started_; }
  const Event& finished() const { return finished_; }
  void Release() const { release_.Fire(); }
  std::error_code err() {
    std::lock_guard<std::mutex> lock(mu_);
    return err_;
  }
  Error cause() {
    std::lock_guard<std::mutex> lock(mu_);
    return cause_;
  }

 private:
  Event started_, finished_, release_;
  std::mutex mu_;
  std::error_code err_;
  Error cause_;
};

}  // namespace ctx::http::testing

#endif  // CTX_TESTS_HTTP_SLOW_ROUTE_H_
