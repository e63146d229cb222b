#include "wait.hpp"

#include <immintrin.h>
#include <pthread.h>
#include <linux/futex.h>

#include <sched.h>

#include <cerrno>

#include <algorithm>
#include <optional>

#include "ceramic/detail/futex.hpp"
#include "identity.hpp"
#include "layout.hpp"

namespace ceramic::detail {
namespace {

// Per-thread spin policy. Figures: a sleeping vCPU takes ~25 us to wake, a cache line crosses
// cores in ~40 ns; see docs/performance.md for the measurements behind them.
constexpr std::int64_t kBaseSpinNs = 8'000;
constexpr std::int64_t kAfterWakeSpinNs = 60'000;
constexpr int kFailsBeforeBackoff = 4;
constexpr int kProbeEvery = 32;
constexpr int kYields = 3;

struct SpinPolicy {
  int fails = 0;          // consecutive waits whose spin ended in a sleep
  int skipped = 0;        // waits without spinning since backing off
  bool woke_someone = false;
};
thread_local SpinPolicy t_spin;

// A forked child starts with the spin policy's defaults, not with what the forking thread had
// learnt about its own partners.
[[maybe_unused]] const int g_spin_atfork = [] {
  pthread_atfork(nullptr, nullptr, [] { t_spin = SpinPolicy{}; });
  return 0;
}();

std::int64_t spin_budget(std::int64_t expected_ns) noexcept {
  SpinPolicy& p = t_spin;
  bool woke = p.woke_someone;
  p.woke_someone = false;
  // A partner known to be busy on our behalf (expected_ns > 0: it is copying a large value out
  // of our memory, and we woke it if it slept) answers within the copy, whatever the history of
  // this thread's other waits says. Backing off here would put a sleep and a wake-up (~25 us on
  // a VM) into every large transfer once a few unrelated waits have failed.
  if (expected_ns > 0) return std::max(expected_ns, woke ? kAfterWakeSpinNs : kBaseSpinNs);
  if (p.fails >= kFailsBeforeBackoff) {
    if (++p.skipped < kProbeEvery) return 0;
    p.skipped = 0;  // probe once
    return kBaseSpinNs;
  }
  return std::max(expected_ns, woke ? kAfterWakeSpinNs : kBaseSpinNs);
}

// Phases 1 and 2 of every wait. Spin for `budget` (the partner is running on another core and
// answers soon), then yield a few times: when the partner shares our core (or waits for it),
// this hands it the core at the cost of one system call, where sleeping would cost a futex
// wait here and a futex wake there; with a core to itself, sched_yield returns at once: ~1 us
// lost before a sleep that is going to cost ~25 us to end anyway. Returns the end of the wait,
// or nothing if the caller should go on to sleep.
template <class Unchanged>
std::optional<WaitEnd> spin_then_yield(Unchanged unchanged, std::int64_t budget, Deadline deadline) {
  if (budget > 0) {
    std::int64_t stop = std::min(now_ns() + budget, deadline);
    for (unsigned i = 1;; ++i) {
      _mm_pause();
      if (!unchanged()) {
        t_spin.fails = 0;
        return WaitEnd::changed;
      }
      if ((i & 31) == 0 && now_ns() >= stop) break;
    }
  }
  if (deadline != kNoDeadline && now_ns() >= deadline) return WaitEnd::deadline;
  ++t_spin.fails;
  for (int i = 0; i < kYields; ++i) {
    sched_yield();
    if (!unchanged()) return WaitEnd::changed;
  }
  return std::nullopt;
}

}  // namespace

bool spinning_pays() noexcept { return t_spin.fails < kFailsBeforeBackoff; }

bool Partner::alive() const noexcept {
  if (given_up != nullptr && given_up(context)) return false;
  if (owner == nullptr) return true;
  if (none_is_alive && owner->load(std::memory_order_acquire) == 0) return true;
  if (!owner_alive(*owner)) return false;
  return ticket == nullptr || __atomic_load_n(ticket, __ATOMIC_ACQUIRE) == expected_ticket;
}

WaitEnd wait_state(std::atomic<std::uint32_t>& word, std::uint32_t state, Deadline deadline,
                   const Partner* partner, std::int64_t expected_ns) noexcept {
  auto unchanged = [&] { return (word.load(std::memory_order_acquire) & kStateMask) == state; };
  if (!unchanged()) return WaitEnd::changed;

  if (auto end = spin_then_yield(unchanged, spin_budget(expected_ns), deadline)) return *end;

  // Phase 3: announce (sleeper bit) and sleep in slices.
  for (;;) {
    std::uint32_t cur = word.load(std::memory_order_acquire);
    if ((cur & kStateMask) != state) return WaitEnd::changed;
    if ((cur & kSleeper) == 0 &&
        !word.compare_exchange_weak(cur, cur | kSleeper, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      continue;
    }
    std::int64_t now = now_ns();
    if (deadline != kNoDeadline && now >= deadline) return WaitEnd::deadline;
    std::int64_t until = std::min(deadline, now + kWaitSliceNs);
    futex_wait(word, state | kSleeper, until);
    if (!unchanged()) return WaitEnd::changed;
    if (partner != nullptr && !partner->alive()) return WaitEnd::partner_died;
  }
}

WaitEnd wait_any_state(std::atomic<std::uint32_t>* const* words, std::size_t n,
                       std::uint32_t state, Deadline deadline) noexcept {
  auto unchanged = [&] {
    for (std::size_t i = 0; i < n; ++i) {
      if ((words[i]->load(std::memory_order_acquire) & kStateMask) != state) return false;
    }
    return true;
  };
  if (!unchanged()) return WaitEnd::changed;
  if (auto end = spin_then_yield(unchanged, spin_budget(0), deadline)) return *end;
  for (;;) {
    // Announce on every word; if any has moved on, there is nothing to wait for.
    for (std::size_t i = 0; i < n; ++i) {
      std::uint32_t cur = words[i]->load(std::memory_order_acquire);
      while ((cur & kStateMask) == state && (cur & kSleeper) == 0 &&
             !words[i]->compare_exchange_weak(cur, cur | kSleeper, std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
      }
      if ((cur & kStateMask) != state) return WaitEnd::changed;
    }
    std::int64_t now = now_ns();
    if (deadline != kNoDeadline && now >= deadline) return WaitEnd::deadline;
    if (futex_wait_any(words, n, state | kSleeper, std::min(deadline, now + kWaitSliceNs)) ==
        ENOSYS) {
      // Before Linux 5.16: no futex_waitv. Poll, sleeping on the first word for a millisecond.
      futex_wait(*words[0], state | kSleeper, std::min(deadline, now + 1'000'000));
    }
    if (!unchanged()) return WaitEnd::changed;
  }
}

std::uint32_t publish_state(std::atomic<std::uint32_t>& word, std::uint32_t new_state) noexcept {
  std::uint32_t old = word.exchange(new_state, std::memory_order_acq_rel);
  if (old & kSleeper) {
    futex_wake(word, 1);
    t_spin.woke_someone = true;
  }
  return old & kStateMask;
}

void wake_sleeper(std::atomic<std::uint32_t>& word) noexcept {
  futex_wake(word, 1);
  t_spin.woke_someone = true;
}

void move_state(std::atomic<std::uint32_t>& word, std::uint32_t new_state) noexcept {
  std::uint32_t cur = word.load(std::memory_order_relaxed);
  while (!word.compare_exchange_weak(cur, new_state | (cur & kSleeper), std::memory_order_acq_rel,
                                     std::memory_order_relaxed)) {
  }
}

}  // namespace ceramic::detail
