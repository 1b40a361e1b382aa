// SPDX-License-Identifier: Apache-2.0
// core/src/random_bytes.h: the random bytes behind request ids and trace ids,
// and their hex form. Internal.
//
// Guarantee: every id byte comes from the kernel's CSPRNG (getrandom(2)), so
// ids are unpredictable (an observer of any number of ids learns nothing about
// the next one) and unique across threads, processes and forks without
// coordination. Only if the kernel refuses (very old kernel, seccomp) do they
// fall back to a seeded per-thread engine: unique in practice, no longer
// unpredictable.

#ifndef CTX_CORE_SRC_RANDOM_BYTES_H_
#define CTX_CORE_SRC_RANDOM_BYTES_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ctx::internal {

// kMaxRandomBytes is the most FillRandomBytes hands out per call.
inline constexpr std::size_t kMaxRandomBytes = 64;
// kRandomPoolBytes is the size of each thread's pool: one system call serves
// about a hundred calls' ids (a request id and a new trace take 40 bytes).
inline constexpr std::size_t kRandomPoolBytes = 4096;

// FillRandomBytes fills out[0, size) (size <= kMaxRandomBytes) with bytes
// from a per-thread pool refilled by getrandom(2) (one system call per
// kRandomPoolBytes), never handed out twice, wiped from the pool once handed
// out, and renewed in a child after fork(). Safe to call from any thread.
void FillRandomBytes(unsigned char* out, std::size_t size);

// WriteHex writes the 2 * n lowercase hex digits of bytes[0, n) at `out`
// (no terminator), most significant nibble first. Branch-free: four bytes at a
// time, each nibble turned into its digit with the others in one word.
inline void WriteHex(char* out, const unsigned char* bytes,
                     std::size_t n) noexcept {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::size_t whole = n - n % 4;
  for (std::size_t i = 0; i < whole; i += 4) {
    // b0..b3 in one word, b0 highest.
    const uint64_t v = uint64_t{bytes[i]} << 24 | uint64_t{bytes[i + 1]} << 16 |
                       uint64_t{bytes[i + 2]} << 8 | uint64_t{bytes[i + 3]};
    // Spread the 8 nibbles to one byte each: nibble k (from the low end) in
    // byte k.
    uint64_t x = (v & 0xFFFF0000u) << 16 | (v & 0xFFFFu);
    x = (x & 0x0000FF000000FF00u) << 8 | (x & 0x000000FF000000FFu);
    x = (x & 0x00F000F000F000F0u) << 4 | (x & 0x000F000F000F000Fu);
    // Digit: '0' + n, plus 'a' - '0' - 10 = 39 where n >= 10 (n + 6 carries
    // into bit 4 of its byte; no byte overflows).
    const uint64_t letters =
        ((x + 0x0606060606060606u) >> 4) & 0x0101010101010101u;
    x += 0x3030303030303030u + letters * 39;
    // Byte 7 (b0's high nibble) goes first.
    if constexpr (std::endian::native == std::endian::little)
      x = __builtin_bswap64(x);
    std::memcpy(out + 2 * i, &x, sizeof x);
  }
  for (std::size_t i = whole; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
}

}  // namespace ctx::internal

#endif  // CTX_CORE_SRC_RANDOM_BYTES_H_
