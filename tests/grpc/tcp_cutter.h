// SPDX-License-Identifier: Apache-2.0
// tests/grpc/tcp_cutter.h: a loopback TCP relay that a test can cut, so that a
// server sees its client's connection vanish (a reset, as when the client's
// host or process dies) without a gRPC cancel on the wire.

#ifndef CTX_TESTS_GRPC_TCP_CUTTER_H_
#define CTX_TESTS_GRPC_TCP_CUTTER_H_

#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ctx::grpc::testing {

// TcpCutter listens on 127.0.0.1:<ephemeral port> and relays each connection
// to 127.0.0.1:<upstream_port>, on one thread of its own, with blocking writes
// (meant for the small exchanges of tests). Cut() resets every relayed
// connection on both sides (RST) and stops accepting. Thread-safe.
class TcpCutter {
 public:
  explicit TcpCutter(int upstream_port);
  ~TcpCutter();  // cuts, then joins
  TcpCutter(const TcpCutter&) = delete;
  TcpCutter& operator=(const TcpCutter&) = delete;

  [[nodiscard]] int port() const { return port_; }
  // Connections returns how many connections have been relayed so far.
  [[nodiscard]] int Connections();
  void Cut();

 private:
  void Loop();
  // RelayOnce moves what `from` has to `to`; false when `from` closed or
  // either side failed.
  static bool RelayOnce(int from, int to);

  const int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // a pipe: Cut writes, Loop wakes
  std::mutex mu_;
  bool cut_ = false;                        // under mu_
  int connections_ = 0;                     // under mu_
  std::vector<std::pair<int, int>> pairs_;  // Loop's only: (client, upstream)
  std::thread thread_;
};

}  // namespace ctx::grpc::testing

#endif  // CTX_TESTS_GRPC_TCP_CUTTER_H_
