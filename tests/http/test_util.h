// SPDX-License-Identifier: Apache-2.0
// tests/http/test_util.h: loopback servers, raw sockets and one-shot events
// for the HTTP bridge tests.

#ifndef CTX_TESTS_HTTP_TEST_UTIL_H_
#define CTX_TESTS_HTTP_TEST_UTIL_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "ctx/http/server.h"

namespace ctx::http {

// ServerTestPeer reaches a Server's internals for tests.
struct ServerTestPeer {
  // WatchedConnections is how many connections the server holds open (all are
  // watched).
  static size_t WatchedConnections(const Server& s);
  // WritingConnections is how many connections have a response tail that the
  // server's loop (not a worker) is writing.
  static size_t WritingConnections(const Server& s);
  // LingeringConnections is how many connections are done with their last
  // response: the server only discards what their client still sends before
  // it closes them.
  static size_t LingeringConnections(const Server& s);
  // StoppingConnections is how many connections know that the server is
  // stopping (their next response is their last).
  static size_t StoppingConnections(const Server& s);
  // ReadingConnections is how many connections the server's loop reads the
  // next request of (between requests, or inside one).
  static size_t ReadingConnections(const Server& s);
  // ShutdownBegun reports whether Shutdown (or stop) was called, before the
  // loop acts on it.
  static bool ShutdownBegun(const Server& s);
  // BufferedBodyBytes is what request bodies hold of the server's budget
  // (ServerLimits::max_buffered_body_bytes).
  static size_t BufferedBodyBytes(const Server& s);
};

namespace testing {

// kCap bounds every wait for an event: generous, so a slow (sanitized,
// loaded) machine never fails a test by timing, only a real hang does.
inline constexpr std::chrono::seconds kCap(30);

// Event is a one-shot signal made of a context: Fire() cancels it, waiters
// wait on its Done().
class Event {
 public:
  Event() : pair_(WithCancel(Background())) {}
  void Fire() const { pair_.cancel(); }
  [[nodiscard]] bool WaitFor(std::chrono::milliseconds t = kCap) const {
    return pair_.context.Done().WaitFor(t);
  }
  [[nodiscard]] bool Fired() const { return pair_.context.Done().Ready(); }
  [[nodiscard]] const Context& context() const { return pair_.context; }

 private:
  ContextAndCancel pair_;
};

// WaitFor polls `done` (every millisecond, up to kCap) and returns its last
// answer: for server state that no event announces.
template <class F>
bool WaitFor(F done) {
  const auto give_up = std::chrono::steady_clock::now() + kCap;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// WaitUntilDoneOr blocks until `c` is done or `release` fires (at most
// kCap); a handler's "slow work" that the test can end either way.
void WaitUntilDoneOr(const Context& c, const Event& release);

// Counter counts and lets a test wait until it reaches a value.
class Counter {
 public:
  void Add(int n = 1);
  // WaitAtLeast waits (up to kCap) until the count is >= n; returns the
  // count.
  int WaitAtLeast(int n);
  [[nodiscard]] int value();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int value_ = 0;
};

// LogCapture is a RequestLogger that keeps the records (as strings).
class LogCapture {
 public:
  RequestLogger Logger();
  [[nodiscard]] std::vector<RequestLogRecord> records();

 private:
  struct Owned {
    RequestLogRecord record;
    std::string request_id, trace_id, span_id, method, path, reason;
  };
  std::mutex mu_;
  std::vector<Owned> records_;
};

// RunningServer owns a Server listening on an ephemeral loopback port. Add
// routes through server() before Start(); the destructor stops and joins.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options = {}, size_t threads = 8);
  ~RunningServer();
  Server& server() { return server_; }
  void Start();
  [[nodiscard]] int port() const { return port_; }
  // Stop stops the server and waits (up to the test's own timeout) for
  // listen to return.
  void Stop();

 private:
  Server server_;
  int port_ = -1;
  std::thread thread_;
};

// Raw loopback sockets. All reads are bounded by kCap (SO_RCVTIMEO).
// Connect connects to 127.0.0.1:`port`, from the local address `from` (any
// of 127.0.0.0/8) when given.
int Connect(int port, const char* from = nullptr);
void SendAll(int fd, std::string_view data);
// ReadResponse reads one HTTP response, its body framed by Content-Length
// (none: empty) or chunked, and none for a 204 or 304 (interim 1xx responses
// are returned too, as their own responses, when skip_interim is false).
struct RawResponse {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // lower-case names
  std::string body;
  [[nodiscard]] std::string header(const std::string& lower_name) const;
};
std::optional<RawResponse> ReadResponse(int fd, std::string& buffer,
                                        bool skip_interim = true);
// ReadToEof reads until the peer closes, or a read waits longer than the
// socket's receive timeout (kCap for Connect's sockets). `error`, when given,
// is set to how the reads ended: 0 at EOF, else the errno (ECONNRESET: the
// peer reset the connection; EAGAIN: the timeout). Without `error`, a
// timeout throws: the peer never closed.
std::string ReadToEof(int fd, int* error = nullptr);
// Answer is one response and every byte the server sent after it before it
// closed the connection.
struct Answer {
  std::optional<RawResponse> response;
  std::string after;
};
// Exchange connects, sends `request`, and reads one response then to EOF.
Answer Exchange(int port, std::string_view request);
// ExchangeMany connects, sends `requests` at once, reads up to `count`
// responses from the one connection (fewer when one cannot be read) and
// closes.
std::vector<RawResponse> ExchangeMany(int port, std::string_view requests,
                                      size_t count);

// CloseWithReset closes with SO_LINGER 0: the peer sees RST, not FIN.
void CloseWithReset(int fd);
// FillServerEnd fills the server's end of the loopback connection `client`
// (same process) as a response the client has not read would, and returns
// the bytes written ('x' each; 0 on failure). Both ends get fixed, small
// buffers, so the kernel does not grow the full socket's room. Call it only
// once the server is known to have accepted `client`, e.g. after a handler
// ran for it (ThreadSanitizer tracks fds).
size_t FillServerEnd(int client);
// WaitForWriting waits (up to kCap) until `n` of the server's connections
// are writing a tail from the loop; false if they never are.
bool WaitForWriting(const Server& s, size_t n);
// Get builds "GET <path> HTTP/1.1" with Host and the given extra header
// lines (each without CRLF).
std::string GetRequest(std::string_view path,
                       const std::vector<std::string>& extra = {},
                       std::string_view version = "HTTP/1.1");

}  // namespace testing
}  // namespace ctx::http

#endif  // CTX_TESTS_HTTP_TEST_UTIL_H_
