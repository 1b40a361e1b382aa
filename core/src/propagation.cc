// SPDX-License-Identifier: Apache-2.0
// Wire formats shared by the bridges: timeouts, ids, log-safe rendering. See
// ctx/propagation.h.

#include "ctx/propagation.h"

#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <thread>

#include "random_bytes.h"

namespace ctx {
namespace {

using std::chrono::nanoseconds;

constexpr int64_t kMaxGrpcTimeoutValue = 99'999'999;  // 8 digits
constexpr std::size_t kMaxGrpcTimeoutDigits = 8;

// A grpc-timeout unit and its length in nanoseconds, finest first
// (FormatGrpcTimeout walks this order).
struct Unit {
  char letter;
  int64_t nanos;
};
constexpr std::array<Unit, 6> kUnits = {{
    {'n', 1},
    {'u', 1'000},
    {'m', 1'000'000},
    {'S', 1'000'000'000},
    {'M', 60LL * 1'000'000'000},
    {'H', 3600LL * 1'000'000'000},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// CeilDiv returns ceil(a / b) for a >= 0, b > 0, without overflowing (a + b - 1
// could).
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// The characters of a request or session id, as a table built from the rule
// below (a lookup per character, not a chain of comparisons: every call reads
// one id).
constexpr std::array<uint8_t, 256> kIdChars = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
           c == '-';
  }
  return t;
}();

// IdChar is 1 for a character of an id, else 0: a number, so that several
// can be combined with & (no branch each).
unsigned IdChar(char c) { return kIdChars[static_cast<unsigned char>(c)]; }

// g_fork_generation changes in every child after fork(), so that a child
// never hands out the random bytes its parent's pool still holds (both would
// then generate the same ids).
constinit std::atomic<unsigned> g_fork_generation{0};
constinit std::atomic<bool> g_fork_handler_registered{false};

// RegisterForkHandler makes fork() change g_fork_generation in the child, once
// per process. It runs when the program starts, and again (doing nothing
// then) before each refill of a pool, for a refill made by another file's
// static initializer before this one's. Not a function-local static: a child
// forked while another thread ran that static's first initialization would
// inherit its guard taken, and wait for it forever. The flag is set only
// once a handler is registered, so no caller goes on to fill a pool before
// fork() would change the generation; first callers that race may each
// register one, which is harmless (the generation only has to change). A
// registration that fails (out of memory) is tried again by the next caller.
void RegisterForkHandler() noexcept {
  if (g_fork_handler_registered.load(std::memory_order_acquire)) return;
  if (pthread_atfork(nullptr, nullptr, [] {
        g_fork_generation.fetch_add(1, std::memory_order_relaxed);
      }) == 0) {
    g_fork_handler_registered.store(true, std::memory_order_release);
  }
}
[[maybe_unused]] const bool g_fork_handler = (RegisterForkHandler(), true);

// FillRandomUncached fills `out` with random bytes from getrandom(2). If the
// kernel cannot provide them (very old kernel, seccomp), it falls back to a
// per-thread engine seeded from std::random_device, the clock, the thread id
// and the process id, and seeded again in a child after fork() (which would
// otherwise go on from its parent's state, and repeat the parent's bytes):
// ids stay unique in practice but are no longer unpredictable.
void FillRandomUncached(unsigned char* out, std::size_t size) {
  std::size_t filled = 0;
  while (filled < size) {
    const ssize_t n = getrandom(out + filled, size - filled, 0);
    if (n > 0) {
      filled += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      break;
    }
  }
  if (filled == size) return;
  struct Fallback {
    std::mt19937_64 engine;
    unsigned generation = 0;
    bool seeded = false;
  };
  thread_local Fallback fallback;
  const unsigned generation = g_fork_generation.load(std::memory_order_relaxed);
  if (!fallback.seeded || fallback.generation != generation) {
    std::random_device rd;
    std::seed_seq seq{
        rd(),
        rd(),
        rd(),
        rd(),
        static_cast<unsigned>(
            std::chrono::steady_clock::now().time_since_epoch().count()),
        static_cast<unsigned>(
            std::hash<std::thread::id>()(std::this_thread::get_id())),
        static_cast<unsigned>(getpid())};
    fallback.engine.seed(seq);
    fallback.generation = generation;
    fallback.seeded = true;
  }
  for (std::size_t i = filled; i < size; ++i)
    out[i] = static_cast<unsigned char>(fallback.engine());
}

// RandomPool amortizes getrandom(2): one call fills kSize bytes, enough for
// kSize / 16 request ids (a system call per id was a measurable share of a
// small gRPC call's cost; BENCHMARKS.md, gRPC bridge). One pool per thread;
// bytes are handed out once and wiped.
class RandomPool {
 public:
  void Fill(unsigned char* out, std::size_t size) {
    const unsigned generation =
        g_fork_generation.load(std::memory_order_relaxed);
    if (used_ + size > kSize || generation != generation_) {
      RegisterForkHandler();
      FillRandomUncached(bytes_.data(), kSize);
      used_ = 0;
      generation_ = generation;
    }
    std::memcpy(out, bytes_.data() + used_, size);
    std::memset(bytes_.data() + used_, 0, size);
    used_ += size;
  }

 private:
  static constexpr std::size_t kSize = internal::kRandomPoolBytes;
  static_assert(internal::kMaxRandomBytes <= kSize);
  std::array<unsigned char, kSize> bytes_{};
  std::size_t used_ = kSize;  // empty: the first Fill refills
  unsigned generation_ = 0;
};

}  // namespace

namespace internal {

void FillRandomBytes(unsigned char* out, std::size_t size) {
  thread_local RandomPool pool;
  pool.Fill(out, size);
}

}  // namespace internal

ParseResult<nanoseconds> ParseGrpcTimeout(std::string_view value) noexcept {
  if (value.empty()) return {std::nullopt, "grpc-timeout: empty"};
  if (IsDigit(value.back()))
    return {std::nullopt, "grpc-timeout: missing unit"};
  const std::size_t digits = value.size() - 1;
  if (digits == 0)
    return {std::nullopt, "grpc-timeout: no digits before the unit"};
  for (std::size_t i = 0; i < digits; ++i) {
    if (!IsDigit(value[i]))
      return {std::nullopt, "grpc-timeout: value must be ASCII digits"};
  }
  if (digits > kMaxGrpcTimeoutDigits)
    return {std::nullopt, "grpc-timeout: more than 8 digits"};
  int64_t n = 0;
  for (std::size_t i = 0; i < digits; ++i)
    n = n * 10 + (value[i] - '0');  // at most 99999999
  for (const Unit& u : kUnits) {
    if (value.back() != u.letter) continue;
    if (n > std::numeric_limits<int64_t>::max() / u.nanos)
      return {nanoseconds::max(), {}};  // saturate
    return {nanoseconds(n * u.nanos), {}};
  }
  return {std::nullopt, "grpc-timeout: unit must be one of H M S m u n"};
}

std::string FormatGrpcTimeout(nanoseconds timeout) {
  const int64_t ns = timeout.count();
  if (ns <= 0) return "0n";
  // Finest unit whose rounded-up value fits in 8 digits. The coarsest (hours)
  // always fits: int64 nanoseconds are at most 2562048 hours.
  std::size_t i = 0;
  while (i + 1 < kUnits.size() &&
         CeilDiv(ns, kUnits[i].nanos) > kMaxGrpcTimeoutValue)
    ++i;
  // A coarser unit that divides the value exactly says the same thing in fewer
  // digits.
  while (i + 1 < kUnits.size() && ns % kUnits[i + 1].nanos == 0) ++i;
  return std::to_string(CeilDiv(ns, kUnits[i].nanos)) + kUnits[i].letter;
}

ParseResult<std::chrono::milliseconds> ParseRequestTimeout(
    std::string_view value) noexcept {
  if (value.empty()) return {std::nullopt, "x-request-timeout: empty"};
  int64_t ms = 0;
  for (char c : value) {
    if (!IsDigit(c)) {
      return {std::nullopt,
              "x-request-timeout: must be a non-negative integer number of "
              "milliseconds"};
    }
    const int digit = c - '0';
    if (ms > (std::numeric_limits<int64_t>::max() - digit) / 10) {
      return {std::nullopt, "x-request-timeout: too large"};
    }
    ms = ms * 10 + digit;
  }
  return {std::chrono::milliseconds(ms), {}};
}

std::string FormatRequestTimeout(nanoseconds timeout) {
  const int64_t ns = timeout.count();
  if (ns <= 0) return "0";
  return std::to_string(CeilDiv(ns, 1'000'000));
}

bool IsValidRequestId(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  // Eight lookups per step, combined without a branch each: a valid id (the
  // usual case) is read to its end anyway, and the id is at most 128 bytes.
  const char* p = id.data();
  const std::size_t n = id.size();
  unsigned ok = 1;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    ok &= IdChar(p[i]) & IdChar(p[i + 1]) & IdChar(p[i + 2]) &
          IdChar(p[i + 3]) & IdChar(p[i + 4]) & IdChar(p[i + 5]) &
          IdChar(p[i + 6]) & IdChar(p[i + 7]);
  }
  for (; i < n; ++i) ok &= IdChar(p[i]);
  return ok != 0;
}

bool IsValidSessionId(std::string_view id) noexcept {
  return IsValidRequestId(id);
}

std::string NewRequestId() {
  std::array<unsigned char, 16> bytes;
  internal::FillRandomBytes(bytes.data(), bytes.size());
  std::string id(2 * bytes.size(), '0');
  internal::WriteHex(id.data(), bytes.data(), bytes.size());
  return id;
}

AcceptedId AcceptRequestId(std::optional<std::string_view> incoming) {
  if (!incoming) return {NewRequestId(), IdSource::kGenerated};
  if (!IsValidRequestId(*incoming))
    return {NewRequestId(), IdSource::kReplaced};
  return {std::string(*incoming), IdSource::kIncoming};
}

std::string LogSafe(std::string_view untrusted, std::size_t max_bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const std::size_t shown =
      untrusted.size() < max_bytes ? untrusted.size() : max_bytes;
  std::string out;
  out.reserve(shown + 16);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto b = static_cast<unsigned char>(untrusted[i]);
    if (b == '\\' || b == '"') {
      out += '\\';
      out += static_cast<char>(b);
    } else if (b >= 0x20 && b <= 0x7E) {
      out += static_cast<char>(b);
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    }
  }
  if (shown < untrusted.size()) {
    out += "...(+" + std::to_string(untrusted.size() - shown) + " bytes)";
  }
  return out;
}

}  // namespace ctx
