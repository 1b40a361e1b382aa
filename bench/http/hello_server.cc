// hello_server: a bare httplib::Server and a ctx::http::Server with the same
// trivial GET /hello route, in one process, for wrk to compare.
//
// Prints "bare=<port> wrapped=<port>" on stdout, then serves until stdin is
// closed. Both servers keep httplib's defaults (thread pool, keep-alive count
// and timeout) except TCP_NODELAY, set on both: httplib writes the headers and
// the body of a response in two sends, and with Nagle's algorithm the second
// waits for the client's delayed ACK (~40 ms), which would make both servers
// measure the ACK timer instead of themselves. The wrapped one builds the
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
  bare.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("hello", "text/plain");
  });

  ctx::http::Server wrapped;
  wrapped.set_tcp_nodelay(true);
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
