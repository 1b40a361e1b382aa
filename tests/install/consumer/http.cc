// SPDX-License-Identifier: Apache-2.0
// Uses the installed ctx::http (and cpp-httplib through it, with the Cflags its
// class layouts depend on); exits 0 when they behave.
#include <cstdio>

#include "ctx/context.h"
#include "ctx/http/client.h"
#include "ctx/http/server.h"
#include "ctx/http/status.h"

int main() {
  auto [c, cancel] = ctx::WithCancel(ctx::Background());
  cancel();
  // A call under a done context ends with the context's error, before any I/O.
  ctx::http::Client client("127.0.0.1", 9);
  ctx::http::Result r = client.Get(c, "/");
  if (r || r.error() != ctx::Errc::kCanceled) {
    std::fprintf(stderr, "Get(canceled context): got %s, want %s\n",
                 r ? "a response" : r.error().message().c_str(),
                 make_error_code(ctx::Errc::kCanceled).message().c_str());
    return 1;
  }
  // A server with the default request log links spdlog: a dependency of
  // libctx_http that a static build's pkg-config and CMake files pass on.
  ctx::http::Server server;
  server.Get("/", [](const ctx::Context&, const httplib::Request&,
                     httplib::Response& res) { res.status = 204; });
  std::printf("ctx::http: %s (status %d)\n", r.error().message().c_str(),
              ctx::http::StatusForDoneContext(c));
  return 0;
}
