// ceramic — futex and clock wrappers. Internal API (shared with sim/): may change without
// notice. Every futex here is process-shared: never FUTEX_PRIVATE_FLAG, because the words live
// in MAP_SHARED memory seen by several processes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace ceramic::detail {

// CLOCK_MONOTONIC in nanoseconds (vDSO: no system call).
std::int64_t now_ns() noexcept;

// Sleeps while *word == expected, until woken or until the absolute CLOCK_MONOTONIC time
// `until_ns` (INT64_MAX: no limit). Returns 0 when woken, or EAGAIN (the word differed),
// ETIMEDOUT or EINTR. Spurious returns are possible: callers re-check their condition.
int futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::int64_t until_ns) noexcept;

// Sleeps while *words[i] == expected for every i (n <= 128), until one of them is woken or
// until until_ns. Same returns as futex_wait; ENOSYS before Linux 5.16.
int futex_wait_any(std::atomic<std::uint32_t>* const* words, std::size_t n,
                   std::uint32_t expected, std::int64_t until_ns) noexcept;

// Wakes up to n sleepers on word; returns how many were woken, or -errno.
int futex_wake(std::atomic<std::uint32_t>& word, int n) noexcept;

// The same two on the low half of a 64-bit word (the half at its address: x86-64 and AArch64
// are little-endian), for words that keep a futex value and more beside it, changed together
// by 64-bit atomics (the channel lock: holder pid and waiters bit, and the holder's start time).
// The kernel compares and sleeps on those 32 bits only.
int futex_wait_low(std::atomic<std::uint64_t>& word, std::uint32_t expected,
                   std::int64_t until_ns) noexcept;
int futex_wake_low(std::atomic<std::uint64_t>& word, int n) noexcept;

}  // namespace ceramic::detail
