// SPDX-License-Identifier: Apache-2.0
// A child process forked from a process that uses ctx, and that does not
// exec, must keep a working ctx: deadlines armed before the fork fire in it,
// new ones too, and threads it starts may make and drop contexts. fork() from
// a busy parent (deadlines firing, threads making nodes, a thread making the
// process's first use of ctx) must not leave the child a lock or an
// initialization guard held by a thread it does not have.
//
// Each child reports through its exit status; every wait in it is bounded,
// so a broken child fails the test instead of hanging it. They run only in
// builds without a sanitizer (see SKIP_UNDER_SANITIZERS).

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctx/context.h"
#include "ctx/errors.h"
#include "ctx/propagation.h"
#include "gtest/gtest.h"
#include "random_bytes.h"
#include "sanitizers.h"
#include "test_peer.h"

namespace ctx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The sanitizers' runtimes are not fork-safe for a child that starts
// threads, as every child here does (a timer thread at least):
// ThreadSanitizer ends such a child, and AddressSanitizer's allocator keeps
// locks of its own that fork() does not take (a child was seen hung inside
// it). These tests run in the builds without a sanitizer.
#define SKIP_UNDER_SANITIZERS()                                           \
  if (internal::kThreadSanitizer || internal::kAddressSanitizer)          \
  GTEST_SKIP() << "the sanitizer's runtime is not fork-safe for a child " \
                  "that starts threads"

// WaitForExit returns pid's exit status, or -1 when it did not exit (killed,
// or still running after 30 s).
int WaitForExit(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 3000; ++i) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// InChild forks, runs `body` in the child and exits with its result (0 for
// true); returns what WaitForExit does.
template <class F>
int InChild(F body) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(body() ? 0 : 1);
  return WaitForExit(pid);
}

// DeadlineFires reports whether a context with a `timeout` deadline ends
// with kDeadlineExceeded within a bounded wait.
bool DeadlineFires(milliseconds timeout) {
  const ContextAndCancel c = WithTimeout(Background(), timeout);
  const bool done = c.context.Done().WaitFor(seconds(10));
  return done && c.context.Err() == Errc::kDeadlineExceeded;
}

TEST(Fork, DeadlineArmedInTheParentFiresInTheChild) {
  SKIP_UNDER_SANITIZERS();
  ASSERT_TRUE(DeadlineFires(milliseconds(1)));  // the timer thread runs
  const ContextAndCancel c = WithTimeout(Background(), milliseconds(200));
  EXPECT_EQ(InChild([&] {
              return c.context.Done().WaitFor(seconds(10)) &&
                     c.context.Err() == Errc::kDeadlineExceeded;
            }),
            0);
}

TEST(Fork, ChildWithNothingArmedFiresItsOwnDeadlines) {
  SKIP_UNDER_SANITIZERS();
  ASSERT_TRUE(DeadlineFires(milliseconds(1)));  // the timer thread runs
  EXPECT_EQ(InChild([] { return DeadlineFires(milliseconds(20)); }), 0);
}

TEST(Fork, ChildForkedByADeadlineCallbackFiresDeadlines) {
  SKIP_UNDER_SANITIZERS();
  // The timer thread forks, from an AfterFunc it runs: in the child, that
  // thread goes on serving timers once the callback returns.
  std::atomic<pid_t> child{0};
  const ContextAndCancel c = WithTimeout(Background(), milliseconds(1));
  const StopFunc stop = AfterFunc(c.context, [&child] {
    const pid_t pid = fork();
    if (pid == 0) {
      std::thread([] {
        _exit(DeadlineFires(milliseconds(5)) ? 0 : 1);
      }).detach();
      return;
    }
    child.store(pid < 0 ? -1 : pid);
  });
  for (int i = 0; i < 3000 && child.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  ASSERT_GT(child.load(), 0);
  EXPECT_EQ(WaitForExit(child.load()), 0);
}

TEST(Fork, ThreadsOfTheChildMakeAndDropContexts) {
  SKIP_UNDER_SANITIZERS();
  // Threads of the parent that registered with the runtime and are still
  // alive, idle, at the fork: the child has none of them.
  const ContextAndCancel release = WithCancel(Background());
  std::atomic<int> registered{0};
  std::vector<std::thread> parent_threads;
  for (int t = 0; t < 4; ++t) {
    parent_threads.emplace_back([&] {
      {
        const ContextAndCancel c = WithTimeout(Background(), seconds(30));
        c.cancel();
      }
      ++registered;
      release.context.Done().Wait();
    });
  }
  while (registered.load() < 4) std::this_thread::sleep_for(milliseconds(1));
  const int status = InChild([] {
    const int64_t live = ContextTestPeer::LiveNodes();
    for (int round = 0; round < 4; ++round) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([] {
          for (int i = 0; i < 2000; ++i) {
            const ContextAndCancel c =
                WithTimeout(Background(), milliseconds(i % 3));
            (void)c.context.Done().WaitFor(milliseconds(i % 3 == 0 ? 1 : 0));
          }
        });
      }
      for (std::thread& t : threads) t.join();
    }
    return ContextTestPeer::LiveNodes() == live &&
           DeadlineFires(milliseconds(5));
  });
  release.cancel();
  for (std::thread& t : parent_threads) t.join();
  EXPECT_EQ(status, 0);
}

TEST(Fork, StressForkWhileDeadlinesFireAndNodesAreMade) {
  SKIP_UNDER_SANITIZERS();
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  // One thread keeps the timer thread firing; one makes and frees nodes of
  // every kind (the pool's shared stack, the live-node registry).
  busy.emplace_back([&] {
    std::vector<ContextAndCancel> pending;
    while (!stop.load()) {
      pending.push_back(WithTimeout(
          Background(), std::chrono::microseconds(pending.size() % 500)));
      if (pending.size() == 200) pending.clear();
    }
  });
  busy.emplace_back([&] {
    while (!stop.load()) {
      std::thread([] {
        std::vector<Context> kept;
        for (int i = 0; i < 300; ++i)
          kept.push_back(WithCancel(Background()).context);
      }).join();
    }
  });
  int failed = 0;
  for (int i = 0; i < 30; ++i) {
    const int status = InChild([] {
      std::thread t([] { (void)WithCancel(Background()); });
      t.join();
      return DeadlineFires(milliseconds(2));
    });
    if (status != 0) ++failed;
  }
  stop = true;
  for (std::thread& t : busy) t.join();
  EXPECT_EQ(failed, 0);
}

// --- Ids after fork() where getrandom(2) fails ---

// DenyGetrandom makes getrandom(2) fail with ENOSYS in this process (seccomp,
// as some sandboxes do); false if the kernel refused the filter.
bool DenyGetrandom() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
      BPF_STMT(BPF_RET | BPF_K,
               SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program = {static_cast<unsigned short>(std::size(filter)), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// Without getrandom, ids come from a per-thread engine. A child forked from
// a thread must not go on from that thread's engine state: it would hand out
// the very ids its parent hands out next.
TEST(Fork, ChildIdsDifferFromTheParentsWithoutGetrandom) {
  SKIP_UNDER_SANITIZERS();
  // The filter stays with the process: set it in a child of the test.
  EXPECT_EQ(
      InChild([] {
        if (!DenyGetrandom()) return false;
        (void)NewRequestId();  // the engine's first state
        int ids[2];
        if (pipe(ids) != 0) return false;
        const pid_t pid = fork();
        if (pid < 0) return false;
        if (pid == 0) {
          const std::string id = NewRequestId();
          _exit(write(ids[1], id.data(), id.size()) ==
                        static_cast<ssize_t>(id.size())
                    ? 0
                    : 1);
        }
        // Enough ids to use up this process's pool at least once.
        std::set<std::string> mine;
        for (std::size_t i = 0; i < 2 * internal::kRandomPoolBytes / 16; ++i)
          mine.insert(NewRequestId());
        std::string child(32, '\0');
        const bool read_all = read(ids[0], child.data(), child.size()) == 32;
        return WaitForExit(pid) == 0 && read_all && mine.count(child) == 0;
      }),
      0);
}

// --- exit() from a callback the timer thread runs ---

// The timer thread runs the static destructors then, the timer service's
// among them, which used to wait for that thread to end: for itself.
TEST(Exit, FromADeadlineCallbackEndsTheProcessWithItsStatus) {
  SKIP_UNDER_SANITIZERS();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Long enough that the callback is registered before the deadline: the
    // timer thread runs it, not this one.
    const ContextAndCancel c = WithTimeout(Background(), milliseconds(100));
    (void)AfterFunc(c.context, [] { std::exit(7); });
    std::this_thread::sleep_for(seconds(20));
    _exit(1);
  }
  EXPECT_EQ(WaitForExit(pid), 7);
}

// --- Fork during the process's first use of ctx ---
//
// The first use of some of ctx's shared state (the CPU count, TODO's node, the
// error category, the random pool's fork handler) used to initialize it under
// a function-local static's guard. A child forked while another thread held
// that guard inherited it taken and waited for it forever. Only a fresh
// process has that window, so the test runs fresh copies of this program
// (kFirstUseEnv set): each starts a thread that makes those first uses while
// its main thread forks as fast as it can, and fails if a child does not
// work.

constexpr char kFirstUseEnv[] = "CTX_FORK_TEST_FIRST_USE";

// ChildWorks makes the same uses in a forked child.
bool ChildWorks() {
  return DeadlineFires(milliseconds(2)) && TODO().Err() == std::error_code() &&
         make_error_code(Errc::kCanceled).message() == "context canceled" &&
         NewRequestId().size() == 32;
}

// FirstUseRole is the fresh process's part: its exit status.
int FirstUseRole() {
  std::atomic<bool> used{false};
  std::thread first([&used] {
    (void)WithTimeout(Background(), seconds(30));
    (void)TODO();
    (void)make_error_code(Errc::kCanceled);
    (void)NewRequestId();
    used = true;
  });
  std::vector<pid_t> children;
  while (!used.load() && children.size() < 100) {
    const pid_t pid = fork();
    if (pid == 0) _exit(ChildWorks() ? 0 : 1);
    if (pid > 0) children.push_back(pid);
  }
  first.join();
  // Bounded as a whole: a child that hung is killed at the end.
  int failed = 0;
  const auto give_up = std::chrono::steady_clock::now() + seconds(20);
  for (const pid_t pid : children) {
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  return failed == 0 ? 0 : 1;
}

TEST(Fork, ChildForkedDuringTheFirstUseOfCtxWorks) {
  SKIP_UNDER_SANITIZERS();
  if (std::getenv(kFirstUseEnv) != nullptr) _exit(FirstUseRole());
  std::string filter =
      "--gtest_filter=Fork.ChildForkedDuringTheFirstUseOfCtxWorks";
  std::string env = std::string(kFirstUseEnv) + "=1";
  char exe[] = "/proc/self/exe";
  char* argv[] = {exe, filter.data(), nullptr};
  char* envp[] = {env.data(), nullptr};
  // Their test framework's output is not this test's.
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY,
                                   0);
  int failed = 0;
  for (int i = 0; i < 20; ++i) {
    pid_t pid = 0;
    if (posix_spawn(&pid, exe, &quiet, nullptr, argv, envp) != 0) {
      ADD_FAILURE() << "posix_spawn " << exe << " failed";
      break;
    }
    if (WaitForExit(pid) != 0) ++failed;
  }
  posix_spawn_file_actions_destroy(&quiet);
  EXPECT_EQ(failed, 0) << "of 20 fresh processes, each forking while its "
                          "first uses of ctx ran";
}

}  // namespace
}  // namespace ctx
