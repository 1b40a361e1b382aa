// SPDX-License-Identifier: Apache-2.0
#include "service_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace e2e {
namespace {

bool ContainsAll(const std::string& line,
                 std::initializer_list<std::string_view> parts) {
  return std::all_of(parts.begin(), parts.end(), [&](std::string_view p) {
    return line.find(p) != std::string::npos;
  });
}

}  // namespace

ServiceProcess::ServiceProcess(std::string name, const std::string& path,
                               const std::vector<std::string>& args,
                               const std::string& log_dir)
    : name_(std::move(name)),
      log_path_(log_dir + "/" + name_ + ".log"),
      log_(log_path_, std::ios::trunc) {
  // Everything the child needs is built before fork: after it, the child may
  // only make async-signal-safe calls.
  std::vector<std::string> owned = {path};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::perror("e2e: pipe2");
    std::abort();
  }
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    std::perror("e2e: fork");
    std::abort();
  }
  if (pid_ == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the test died before prctl
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid_, pid_);  // also here, so that the group exists before kill()
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] { ReadOutput(fd); });
}

ServiceProcess::~ServiceProcess() { Stop(); }

void ServiceProcess::ReadOutput(int fd) {
  std::string pending;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t eol;
    while ((eol = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, eol);
      pending.erase(0, eol + 1);
      log_ << line << '\n' << std::flush;
      std::lock_guard lock(mu_);
      lines_.push_back(std::move(line));
      changed_.notify_all();
    }
  }
  close(fd);
  std::lock_guard lock(mu_);
  if (!pending.empty()) lines_.push_back(pending);
  closed_ = true;
  changed_.notify_all();
}

std::optional<std::string> ServiceProcess::WaitForLine(
    std::initializer_list<std::string_view> parts,
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  size_t seen = 0;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; seen < lines_.size(); ++seen) {
      if (ContainsAll(lines_[seen], parts)) return lines_[seen];
    }
    if (closed_) return std::nullopt;
    if (changed_.wait_until(lock, give_up) == std::cv_status::timeout &&
        seen == lines_.size()) {
      return std::nullopt;
    }
  }
}

int ServiceProcess::WaitForPort() {
  const std::optional<std::string> line =
      WaitForLine({" listening on "}, std::chrono::seconds(15));
  if (!line) return -1;
  return std::atoi(line->c_str() + line->rfind(':') + 1);
}

std::optional<int> ServiceProcess::WaitForExit(
    std::chrono::milliseconds timeout) {
  if (pid_ < 0) return std::nullopt;
  {
    // The output closes when the process exits: no polling of the pid.
    std::unique_lock lock(mu_);
    if (!changed_.wait_for(lock, timeout, [&] { return closed_; })) {
      return std::nullopt;
    }
  }
  return Reap();
}

int ServiceProcess::Reap() {
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

std::vector<std::string> ServiceProcess::Lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

void ServiceProcess::Stop() {
  if (pid_ < 0) return;
  kill(-pid_, SIGTERM);
  {
    // The output closes when the process exits: no polling of the pid.
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(5), [&] { return closed_; });
  }
  kill(-pid_, SIGKILL);  // a no-op for a group that is gone
  Reap();
}

}  // namespace e2e
