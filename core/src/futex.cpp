#include "ceramic/detail/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ceramic::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                  std::atomic<std::uint32_t>::is_always_lock_free,
              "futex words must be plain 32-bit words");

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

int wait_on(std::uint32_t* addr, std::uint32_t expected, std::int64_t until_ns) noexcept {
  timespec ts;
  timespec* tsp = nullptr;
  if (until_ns != INT64_MAX) {
    ts.tv_sec = until_ns / 1000000000;
    ts.tv_nsec = until_ns % 1000000000;
    tsp = &ts;
  }
  // FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC (no FUTEX_CLOCK_REALTIME).
  long rc = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, tsp, nullptr,
                    FUTEX_BITSET_MATCH_ANY);
  return rc == 0 ? 0 : errno;
}

int wake_on(std::uint32_t* addr, int n) noexcept {
  long rc = syscall(SYS_futex, addr, FUTEX_WAKE, n, nullptr, nullptr, 0);
  return rc >= 0 ? static_cast<int>(rc) : -errno;
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "futex_*_low: the low half comes first");
static_assert(sizeof(std::atomic<std::uint64_t>) == sizeof(std::uint64_t) &&
                  std::atomic<std::uint64_t>::is_always_lock_free,
              "futex_*_low: a 64-bit word must be a plain, lock-free 64-bit word");

}  // namespace

int futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
               std::int64_t until_ns) noexcept {
  return wait_on(reinterpret_cast<std::uint32_t*>(&word), expected, until_ns);
}

int futex_wait_low(std::atomic<std::uint64_t>& word, std::uint32_t expected,
                   std::int64_t until_ns) noexcept {
  return wait_on(reinterpret_cast<std::uint32_t*>(&word), expected, until_ns);
}

int futex_wake_low(std::atomic<std::uint64_t>& word, int n) noexcept {
  return wake_on(reinterpret_cast<std::uint32_t*>(&word), n);
}

int futex_wait_any(std::atomic<std::uint32_t>* const* words, std::size_t n,
                   std::uint32_t expected, std::int64_t until_ns) noexcept {
  futex_waitv w[FUTEX_WAITV_MAX];
  if (n > FUTEX_WAITV_MAX) return EINVAL;
  for (std::size_t i = 0; i < n; ++i) {
    w[i] = futex_waitv{};
    w[i].val = expected;
    w[i].uaddr = reinterpret_cast<std::uintptr_t>(words[i]);
    w[i].flags = FUTEX_32;  // shared: no FUTEX_PRIVATE_FLAG
  }
  timespec ts;
  timespec* tsp = nullptr;
  if (until_ns != INT64_MAX) {
    ts.tv_sec = until_ns / 1000000000;
    ts.tv_nsec = until_ns % 1000000000;
    tsp = &ts;
  }
  long rc = syscall(SYS_futex_waitv, w, static_cast<unsigned>(n), 0u, tsp, CLOCK_MONOTONIC);
  return rc >= 0 ? 0 : errno;
}

int futex_wake(std::atomic<std::uint32_t>& word, int n) noexcept {
  return wake_on(reinterpret_cast<std::uint32_t*>(&word), n);
}

}  // namespace ceramic::detail
