// SPDX-License-Identifier: Apache-2.0
// hello_server: a bare httplib::Server and a ctx::http::Server with the same
// trivial GET /hello route, in one process, for wrk to compare.
//
// Prints "bare=<port> wrapped=<port>" on stdout, then serves until stdin is
// closed. Both servers keep their defaults (8 workers, 5 s timeouts) except
// two settings made equal on the bare one: TCP_NODELAY (httplib writes the
// headers and the body of a response in two sends, and with Nagle's algorithm
// the second waits for the client's delayed ACK, ~40 ms; ctx::http::Server
// sets it by default) and the keep-alive count (httplib's default 5 against
// our 1000 would measure reconnects). The wrapped one builds the
// full request context for every request (request id, values, no deadline
// unless the client sends one).

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "ctx/http/server.h"

int main() {
  httplib::Server bare;
  bare.set_tcp_nodelay(true);
  bare.set_keep_alive_max_count(
      ctx::http::ServerLimits{}.max_requests_per_connection);
  bare.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });

  ctx::http::Server wrapped;
  wrapped.Get("/hello", [](const ctx::Context&, const httplib::Request&,
                           httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });

  const int bare_port = bare.bind_to_any_port("127.0.0.1");
  const int wrapped_port = wrapped.bind_to_any_port("127.0.0.1");
  if (bare_port <= 0 || wrapped_port <= 0) {
    std::cerr << "bind failed\n";
    return 1;
  }
  std::thread bare_thread([&] { bare.listen_after_bind(); });
  std::thread wrapped_thread([&] { wrapped.listen_after_bind(); });
  std::cout << "bare=" << bare_port << " wrapped=" << wrapped_port << std::endl;

  // Serve until our parent closes stdin.
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  bare.stop();
  wrapped.stop();
  bare_thread.join();
  wrapped_thread.join();
  return 0;
}
