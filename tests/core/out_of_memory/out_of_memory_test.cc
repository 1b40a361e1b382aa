// SPDX-License-Identifier: Apache-2.0
// A With* call that runs out of memory throws std::bad_alloc and leaves
// nothing behind: no node stays linked under its parent, and the parent's
// reference is dropped, so the parent dies with its last handle.
//
// This binary replaces the global operator new so that the calling thread's
// n-th next allocation throws. Nodes come from it only where the node pool is
// off (ASan builds); elsewhere the pool carves them from chunks it keeps, and
// the tests of a node's own allocation skip.

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "cpu_shard.h"
#include "ctx/context.h"
#include "gtest/gtest.h"
#include "node_pool.h"
#include "sanitizers.h"
#include "test_peer.h"
#include "timer_service.h"

namespace {

// t_fail_in: how many more allocations this thread makes before one throws;
// negative: none throws.
thread_local int t_fail_in = -1;

void* Allocate(std::size_t size, std::size_t align = 0) {
  if (t_fail_in >= 0 && t_fail_in-- == 0) throw std::bad_alloc();
  if (size == 0) size = 1;
  // aligned_alloc wants a size that is a multiple of the alignment.
  void* p = align == 0
                ? std::malloc(size)
                : std::aligned_alloc(align, (size + align - 1) / align * align);
  if (p != nullptr) return p;
  throw std::bad_alloc();
}

void* AllocateOrNull(std::size_t size, std::size_t align = 0) noexcept {
  try {
    return Allocate(size, align);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

}  // namespace

// Every form, the aligned and the nothrow ones too: a sanitizer's runtime
// would otherwise serve those, past t_fail_in.
void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, std::align_val_t a) {
  return Allocate(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return Allocate(size, static_cast<std::size_t>(a));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return AllocateOrNull(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return AllocateOrNull(size);
}
void* operator new(std::size_t size, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  return AllocateOrNull(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  return AllocateOrNull(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t,
                     const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace ctx {
namespace {

// ExpectNothingLeftBy checks that `with` (a With* call on a parent of its own)
// throws std::bad_alloc when its `n`-th allocation fails, and that every node
// is gone once the parent's handles are.
template <class F>
void ExpectNothingLeftBy(int n, F with) {
  if (internal::kNodePoolEnabled) GTEST_SKIP() << "nodes come from the pool";
  const int64_t before = ContextTestPeer::LiveNodes();
  {
    ContextAndCancel parent = WithCancel(Background());
    t_fail_in = n;
    EXPECT_THROW(with(parent.context), std::bad_alloc);
    t_fail_in = -1;
  }
  EXPECT_EQ(ContextTestPeer::LiveNodes(), before) << "a node outlived its "
                                                     "handles";
}

TEST(OutOfMemory, WithCancelThatThrowsDropsItsParent) {
  ExpectNothingLeftBy(0, [](const Context& p) { (void)WithCancel(p); });
}

TEST(OutOfMemory, WithCancelCauseThatThrowsDropsItsParent) {
  ExpectNothingLeftBy(0, [](const Context& p) { (void)WithCancelCause(p); });
}

TEST(OutOfMemory, WithTimeoutThatThrowsDropsItsParent) {
  ExpectNothingLeftBy(
      0, [](const Context& p) { (void)WithTimeout(p, std::chrono::hours(1)); });
}

// The second allocation is the deadline cause's storage, made in the timer
// node's constructor.
TEST(OutOfMemory, WithTimeoutCauseThatThrowsBuildingDropsItsParent) {
  const Error cause(make_error_code(Errc::kDeadlineExceeded), "budget spent");
  ExpectNothingLeftBy(1, [&cause](const Context& p) {
    (void)WithTimeoutCause(p, std::chrono::hours(1), cause);
  });
}

// Splitting a parent's children into per-CPU lists (what contention on its
// lock does) allocates; out of memory, the list stays whole and works.
TEST(OutOfMemory, ChildListThatCannotSplitStaysWhole) {
  if (internal::CpuCount() < 2) GTEST_SKIP() << "one CPU: lists never split";
  ContextAndCancel parent = WithCancel(Background());
  ContextAndCancel before = WithCancel(parent.context);
  t_fail_in = 0;
  ContextTestPeer::ShardChildren(parent.context);
  t_fail_in = -1;
  EXPECT_FALSE(ContextTestPeer::ChildrenSharded(parent.context));
  ContextAndCancel after = WithCancel(parent.context);
  EXPECT_EQ(ContextTestPeer::Children(parent.context), 2u);
  parent.cancel();
  EXPECT_TRUE(before.context.Err());
  EXPECT_TRUE(after.context.Err());
}

// ExitCleanIfFirstTimersLeaveNothing makes the process's first timer with
// each allocation on its way failing in turn (the timer service's own, and its
// thread's, come first), and exits 0 when every failed attempt left no node
// and no child under the parent, else 1.
[[noreturn]] void ExitCleanIfFirstTimersLeaveNothing() {
  const auto live = [] {
    return internal::LiveCount::Count(internal::Counted::kNodes);
  };
  int status = 0;
  {
    ContextAndCancel parent = WithCancel(Background());
    for (int n = 0; status == 0; ++n) {
      const int64_t before = live();
      t_fail_in = n;
      try {
        ContextAndCancel timer =
            WithTimeout(parent.context, std::chrono::hours(1));
        t_fail_in = -1;
        break;  // built: every allocation before it has failed once
      } catch (const std::bad_alloc&) {
        t_fail_in = -1;
        if (live() != before ||
            ContextTestPeer::Children(parent.context) != 0) {
          std::fprintf(stderr, "allocation %d: a node left behind\n", n);
          status = 1;
        }
      }
    }
  }
  if (live() != 0) status = 1;
  std::exit(status);
}

// Runs in a process of its own (no timer service yet there).
TEST(OutOfMemoryDeathTest, FirstTimerThatThrowsLeavesNothing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitCleanIfFirstTimersLeaveNothing(),
              ::testing::ExitedWithCode(0), "");
}

// ExitCleanIfTimerHeapThatCannotGrowLeavesNothing fills this thread's timer
// heap (the thread pinned to one CPU: one shard), then allows the process no
// more address space (RLIMIT_AS), so that the next timer's heap growth (an
// mmap) fails. Exits 0 when that timer threw std::bad_alloc and left no node
// and no child under its parent, 1 when it left one, 3 when it did not throw,
// 2 when the test could not set itself up.
[[noreturn]] void ExitCleanIfTimerHeapThatCannotGrowLeavesNothing() {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0) std::exit(2);
  const auto live = [] {
    return internal::LiveCount::Count(internal::Counted::kNodes);
  };
  ContextAndCancel parent = WithCancel(Background());
  std::vector<ContextAndCancel> timers;
  timers.reserve(1 << 16);  // no allocation while the limit holds
  internal::TimerService& service = internal::TimerService::Get();
  // A heap entry is 16 bytes: full once as many are armed as fit.
  constexpr size_t kEntryBytes = 16;
  while (service.Armed() == 0 ||
         service.Armed() < service.HeapBytes() / kEntryBytes) {
    if (timers.size() == timers.capacity()) std::exit(2);
    timers.push_back(WithTimeout(parent.context, std::chrono::hours(1)));
  }
  const int64_t nodes = live();
  const size_t children = ContextTestPeer::Children(parent.context);
  // The address space in use now (statm's first field, in pages) is the
  // limit: any new mapping fails.
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (statm == nullptr || std::fscanf(statm, "%lu", &pages) != 1) std::exit(2);
  std::fclose(statm);
  rlimit old{};
  if (getrlimit(RLIMIT_AS, &old) != 0) std::exit(2);
  const rlimit tight{pages * static_cast<unsigned long>(sysconf(_SC_PAGESIZE)),
                     old.rlim_max};
  if (setrlimit(RLIMIT_AS, &tight) != 0) std::exit(2);
  int status = 3;
  try {
    ContextAndCancel one_more =
        WithTimeout(parent.context, std::chrono::hours(1));
  } catch (const std::bad_alloc&) {
    status = 0;
  }
  setrlimit(RLIMIT_AS, &old);
  if (status == 0 && (live() != nodes ||
                      ContextTestPeer::Children(parent.context) != children)) {
    std::fprintf(stderr, "a timer whose heap could not grow left a node\n");
    status = 1;
  }
  std::exit(status);
}

// Runs in a process of its own. Not under a sanitizer, whose allocator
// reports running out of address space instead of failing.
TEST(OutOfMemoryDeathTest, TimerHeapThatCannotGrowLeavesNothing) {
  if (internal::kAddressSanitizer || internal::kThreadSanitizer) {
    GTEST_SKIP() << "a sanitizer's allocator";
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitCleanIfTimerHeapThatCannotGrowLeavesNothing(),
              ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace ctx
