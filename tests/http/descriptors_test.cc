// SPDX-License-Identifier: Apache-2.0
// A server out of file descriptors refuses new connections cleanly (503 and
// close) instead of leaving them unanswered. The server runs in a child
// process (this binary run again) whose descriptor limit is at its lowest.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ctx/http/server.h"
#include "test_util.h"

extern char** environ;

namespace ctx::http {
namespace {

using testing::Connect;
using testing::GetRequest;
using testing::ReadResponse;
using testing::RunningServer;
using testing::SendAll;

constexpr char kChildEnv[] = "CTX_HTTP_TEST_FD_CHILD";

// The child: serves on loopback, writes its port to the descriptor named in
// kChildEnv, lowers RLIMIT_NOFILE so no new descriptor can be opened, and
// serves until its stdin closes.
TEST(DescriptorsChild, ServeWithNoDescriptorLeft) {
  const char* out = std::getenv(kChildEnv);
  if (out == nullptr) GTEST_SKIP() << "only run as the child of OutOfFds";
  RunningServer server;
  server.server().Get(
      "/x", [](const Context&, const httplib::Request&,
               httplib::Response& res) { res.set_content("x", "text/plain"); });
  server.Start();
  const int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  const std::string port = std::to_string(server.port()) + "\n";
  const int out_fd = std::atoi(out);
  ASSERT_EQ(::write(out_fd, port.data(), port.size()),
            static_cast<ssize_t>(port.size()));
  char c;
  while (::read(0, &c, 1) > 0) {
  }
  std::_Exit(0);  // the parent has what it needs; skip the teardown
}

TEST(Descriptors, OutOfFdsAnswers503AndCloses) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers' own checks (UBSan's vptr check probes memory through a
  // pipe) need descriptors, which a process at its limit does not have.
  GTEST_SKIP() << "needs a build without sanitizers";
#endif
  int port_pipe[2], stdin_pipe[2];
  ASSERT_EQ(::pipe(port_pipe), 0);
  ASSERT_EQ(::pipe2(stdin_pipe, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_pipe[0], 0);
  posix_spawn_file_actions_addclose(&actions, port_pipe[0]);
  const std::string env =
      std::string(kChildEnv) + "=" + std::to_string(port_pipe[1]);
  std::vector<char*> envp;
  envp.push_back(const_cast<char*>(env.c_str()));
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  char exe[] = "/proc/self/exe";
  char filter[] = "--gtest_filter=DescriptorsChild.*";
  char* argv[] = {exe, filter, nullptr};
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, exe, &actions, nullptr, argv, envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(port_pipe[1]);
  ::close(stdin_pipe[0]);

  std::string line;
  char c;
  while (line.find('\n') == std::string::npos &&
         ::read(port_pipe[0], &c, 1) == 1) {
    line.push_back(c);
  }
  ::close(port_pipe[0]);
  const int port = std::atoi(line.c_str());
  if (port > 0) {
    const int fd = Connect(port);
    SendAll(fd, GetRequest("/x"));
    std::string buffer;
    auto r = ReadResponse(fd, buffer);
    EXPECT_TRUE(r.has_value())
        << "GET /x to a server with no descriptor left: no answer; want 503";
    EXPECT_EQ(r ? r->status : 0, 503);
    ::close(fd);
  } else {
    ADD_FAILURE() << "the child server reported no port";
  }
  ::close(stdin_pipe[1]);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace
}  // namespace ctx::http
