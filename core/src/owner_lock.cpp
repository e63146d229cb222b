#include "owner_lock.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cerrno>

#include "ceramic/detail/futex.hpp"
#include "identity.hpp"

// ThreadSanitizer does not know this lock: told through its mutex annotations, it treats it as
// a mutex (happens-before from unlock to lock, lock-order checks) like a pthread one.
#if defined(__SANITIZE_THREAD__)
#define CERAMIC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CERAMIC_TSAN 1
#endif
#endif
#ifdef CERAMIC_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace ceramic::detail {
namespace {

constexpr int kSpins = 64;

std::uint32_t low(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w); }

// The holder of `seen` has died: take the lock from it, if the word still says so.
bool steal_if_dead(std::atomic<std::uint64_t>& word, std::uint64_t seen, std::uint64_t me) {
  if (identity_alive(seen & ~kLockWaiters)) return false;
  // Waiters bit set: others may sleep on the word, and the unlock must wake one of them.
  return word.compare_exchange_strong(seen, me | kLockWaiters, std::memory_order_seq_cst,
                                      std::memory_order_relaxed);
}

Locked lock_slow(std::atomic<std::uint64_t>& word, std::int64_t deadline, std::uint64_t me) {
  std::uint64_t cur = word.load(std::memory_order_relaxed);
  for (int i = 0; i < kSpins; ++i) {
    if (cur == 0 && word.compare_exchange_weak(cur, me, std::memory_order_seq_cst,
                                               std::memory_order_relaxed)) {
      return Locked::yes;
    }
    _mm_pause();
    cur = word.load(std::memory_order_relaxed);
  }
  std::int64_t slice = kLockSliceMinNs;
  for (;;) {
    cur = word.load(std::memory_order_relaxed);
    if (cur == 0) {
      if (word.compare_exchange_weak(cur, me | kLockWaiters, std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
        return Locked::yes;
      }
      continue;
    }
    if ((cur & kLockWaiters) == 0) {
      if (!word.compare_exchange_weak(cur, cur | kLockWaiters, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
        continue;
      }
      cur |= kLockWaiters;
    }
    const std::int64_t now = now_ns();
    if (now >= deadline) {
      // Last look before giving up: a dead holder must not fail every timed (or non-blocking)
      // operation forever just because none of them waits a whole slice.
      return steal_if_dead(word, cur, me) ? Locked::from_dead : Locked::no;
    }
    const int rc = futex_wait_low(word, low(cur), std::min(deadline, now + slice));
    if (rc == ETIMEDOUT && word.load(std::memory_order_relaxed) == cur) {
      if (steal_if_dead(word, cur, me)) return Locked::from_dead;
      slice = std::min(slice * 2, kLockSliceMaxNs);
    }
  }
}

}  // namespace

Locked owner_lock(std::atomic<std::uint64_t>& word, std::int64_t deadline) noexcept {
  const std::uint64_t me = self_identity();
#ifdef CERAMIC_TSAN
  const unsigned try_flag = deadline == INT64_MAX ? 0 : __tsan_mutex_try_lock;
  __tsan_mutex_pre_lock(&word, try_flag);
#endif
  std::uint64_t expected = 0;
  Locked got = word.compare_exchange_strong(expected, me, std::memory_order_seq_cst,
                                            std::memory_order_relaxed)
                   ? Locked::yes
                   : lock_slow(word, deadline, me);
#ifdef CERAMIC_TSAN
  __tsan_mutex_post_lock(&word, got == Locked::no ? try_flag | __tsan_mutex_try_lock_failed : try_flag, 0);
#endif
  return got;
}

void owner_unlock(std::atomic<std::uint64_t>& word) noexcept {
#ifdef CERAMIC_TSAN
  __tsan_mutex_pre_unlock(&word, 0);
#endif
  const std::uint64_t prev = word.exchange(0, std::memory_order_release);
#ifdef CERAMIC_TSAN
  __tsan_mutex_post_unlock(&word, 0);
#endif
  if ((prev & kLockWaiters) != 0) futex_wake_low(word, 1);
}

}  // namespace ceramic::detail
