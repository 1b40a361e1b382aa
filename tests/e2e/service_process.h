// SPDX-License-Identifier: Apache-2.0
// tests/e2e/service_process.h: one demo service run as a child process, with
// its output captured line by line, for the end-to-end tests.
//
//   ServiceProcess inventory("inventory", kInventoryPath,
//                            {"--listen=127.0.0.1:0"}, log_dir);
//   int port = inventory.WaitForPort();             // from "listening on"
//   std::optional<std::string> line = inventory.WaitForLine(
//       {"[req=abc ", "stopped work"}, std::chrono::seconds(10));
//
// The child runs in a process group of its own and is killed with SIGKILL if
// the test process dies first (PR_SET_PDEATHSIG), so nothing outlives a
// crashed or timed-out test. Stop() (or the destructor) sends SIGTERM to the
// group, waits for the child's output to close (capped), then SIGKILLs the
// group and reaps the child.
//
// Thread-safety: WaitForLine, Lines and Stop may be called from any thread;
// construct and destroy on the thread that owns the test (the one that forked
// must outlive the child, for PR_SET_PDEATHSIG).

#ifndef CTX_TESTS_E2E_SERVICE_PROCESS_H_
#define CTX_TESTS_E2E_SERVICE_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace e2e {

class ServiceProcess {
 public:
  // ServiceProcess starts `path` with `args`; its stdout and stderr are
  // captured, and copied to <log_dir>/<name>.log for after-the-fact reading.
  // Aborts the test binary (a failed ASSERT cannot be raised here) when the
  // process cannot be started.
  ServiceProcess(std::string name, const std::string& path,
                 const std::vector<std::string>& args,
                 const std::string& log_dir);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // WaitForLine returns the first output line that contains every one of
  // `parts`, waiting up to `timeout` for it; nullopt when none came in time
  // or the output closed without one.
  std::optional<std::string> WaitForLine(
      std::initializer_list<std::string_view> parts,
      std::chrono::milliseconds timeout);

  // WaitForPort returns the port from the service's "listening on host:port"
  // line (waiting up to 15 s), or -1.
  int WaitForPort();

  // WaitForExit waits up to `timeout` for the process to exit on its own and
  // returns its exit status (128 + the signal number when a signal ended it),
  // or nullopt when it is still running. Call it from the owning thread.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);

  // Lines returns a copy of every output line so far.
  [[nodiscard]] std::vector<std::string> Lines() const;

  // Stop ends the process (see the file comment). Idempotent.
  void Stop();

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& log_path() const { return log_path_; }

 private:
  void ReadOutput(int fd);
  // Reap waits for the exited (or killed) child and the reader thread, and
  // returns the child's status as WaitForExit reports it.
  int Reap();

  const std::string name_;
  const std::string log_path_;
  pid_t pid_ = -1;  // -1 once reaped; written by the owning thread only
  std::thread reader_;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // a line arrived or the output closed
  std::vector<std::string> lines_;   // guarded by mu_
  bool closed_ = false;              // guarded by mu_: the output hit EOF
  std::ofstream log_;                // written by the reader thread only
};

}  // namespace e2e

#endif  // CTX_TESTS_E2E_SERVICE_PROCESS_H_
