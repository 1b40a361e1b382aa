// SPDX-License-Identifier: Apache-2.0
#include "futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace ctx::internal {
namespace {

// std::atomic<uint32_t> has the size and representation of uint32_t on Linux,
// so its address is a valid futex word.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

uint32_t* Word(const std::atomic<uint32_t>* w) {
  return reinterpret_cast<uint32_t*>(const_cast<std::atomic<uint32_t>*>(w));
}

}  // namespace

bool FutexWait(const std::atomic<uint32_t>* word, uint32_t expected,
               int64_t deadline_ns) noexcept {
  timespec ts;
  timespec* tsp = nullptr;
  if (deadline_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(deadline_ns / 1000000000);
    ts.tv_nsec = static_cast<long>(deadline_ns % 1000000000);
    tsp = &ts;
  }
  // FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC, the clock
  // of ctx::Clock.
  long r =
      syscall(SYS_futex, Word(word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
              expected, tsp, nullptr, FUTEX_BITSET_MATCH_ANY);
  return !(r == -1 && errno == ETIMEDOUT);
}

void FutexWakeAll(const std::atomic<uint32_t>* word) noexcept {
  syscall(SYS_futex, Word(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX,
          nullptr, nullptr, 0);
}

void FutexWakeOne(const std::atomic<uint32_t>* word) noexcept {
  syscall(SYS_futex, Word(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, nullptr,
          nullptr, 0);
}

}  // namespace ctx::internal
