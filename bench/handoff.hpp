// ceramic bench — hand-written handoff primitives the baselines are built from.
//
// A Word is one cache line that one side writes and the other side waits on: `value` carries an
// 8-byte payload, `seq` (the futex word) is bumped once per value and publishes it. Three ways to
// wait for the next seq, the mechanisms a user would write by hand instead of a channel:
//
//   futex            always sleeps: FUTEX_WAIT until seq moves; the writer always FUTEX_WAKEs.
//   spin_then_futex  spins kSpinBudget, then sleeps; the writer wakes only a reader that said it
//                    sleeps (the `sleeping` flag), so a fast handoff makes no system call.
//   spin             never sleeps: the cache-line ping-pong that is the practical floor. (After
//                    4096 fruitless polls it calls sched_yield, so a peer that shares its CPU
//                    with something else can still run; a measured handoff never gets there.)
//
// The futex calls never use FUTEX_PRIVATE_FLAG: the words live in MAP_SHARED memory and the two
// sides may be different processes.
//
// Memory ordering: publish() stores `value` relaxed, then `seq` with release (seq_cst for
// spin_then_futex); the waiter's acquire load of `seq` that sees the new number makes `value`
// visible. spin_then_futex is a Dekker pair: the writer stores seq then loads `sleeping`, the
// reader stores `sleeping` then loads seq, all seq_cst, so at least one of them sees the other's
// store and no wake-up is lost (FUTEX_WAIT re-checks seq in the kernel as well).
//
// Every wait is bounded: it returns false once `stop` is set (the watchdog sets it). Sleeps use
// a 100 ms futex timeout so the stop flag is seen even if nobody calls FUTEX_WAKE.
#pragma once

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "settings.hpp"

namespace bench {

using StopFlag = std::atomic<std::uint32_t>;

inline long futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       std::chrono::nanoseconds timeout) noexcept {
  const auto ns = timeout.count();
  timespec rel{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, &rel,
                 nullptr, 0);
}

inline long futex_wake(std::atomic<std::uint32_t>& word, int count) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, count, nullptr,
                 nullptr, 0);
}

inline void cpu_relax() noexcept { __builtin_ia32_pause(); }

inline std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

enum class Wait { futex, spin_then_futex, spin };

inline constexpr std::chrono::milliseconds kStopPoll{100};

// Single writer, single reader. Lives in MAP_SHARED memory (see SharedMapping) or in a process.
struct alignas(64) Word {
  std::atomic<std::uint32_t> seq{0};       // futex word; written by the writer only
  std::atomic<std::uint32_t> sleeping{0};  // spin_then_futex: 1 while the reader may sleep
  std::atomic<std::uint64_t> value{0};     // payload, published by seq
  // spin: how often the reader gave up polling and yielded (rare; docs/performance.md, "One
  // process per family": each one costs the 4096 polls before it, about 100 us here).
  std::atomic<std::uint32_t> yields{0};
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

template <Wait W>
inline void publish(Word& w, std::uint32_t seq, std::uint64_t value = 0) noexcept {
  w.value.store(value, std::memory_order_relaxed);
  if constexpr (W == Wait::futex) {
    w.seq.store(seq, std::memory_order_release);
    futex_wake(w.seq, 1);  // always: this baseline is "always sleeping"
  } else if constexpr (W == Wait::spin_then_futex) {
    w.seq.store(seq, std::memory_order_seq_cst);
    if (w.sleeping.load(std::memory_order_seq_cst) != 0) futex_wake(w.seq, 1);
  } else {
    w.seq.store(seq, std::memory_order_release);
  }
}

// Waits until w.seq != old; returns the new seq, or 0 when stopped (0 is never published).
template <Wait W>
inline std::uint32_t wait_change(Word& w, std::uint32_t old, const StopFlag& stop) noexcept {
  std::uint32_t now = w.seq.load(std::memory_order_acquire);
  if constexpr (W == Wait::spin || W == Wait::spin_then_futex) {
    const std::int64_t spin_until =
        W == Wait::spin_then_futex
            ? monotonic_ns() + std::chrono::nanoseconds(kSpinBudget).count()
            : INT64_MAX;
    for (std::uint32_t k = 1; now == old; ++k) {
      cpu_relax();
      now = w.seq.load(std::memory_order_acquire);
      if ((k & 7) == 0 && W == Wait::spin_then_futex && monotonic_ns() > spin_until) break;
      if ((k & 4095) == 0) {
        if (stop.load(std::memory_order_relaxed) != 0) return 0;
        // Tens of microseconds without progress: the peer is not running (another task has its
        // CPU). Let it run, rather than burn our whole time slice; a handoff between two
        // running sides never gets here.
        if (W == Wait::spin) {
          w.yields.fetch_add(1, std::memory_order_relaxed);
          sched_yield();
        }
      }
    }
    if (now != old) return now;
  }
  if constexpr (W != Wait::spin) {
    if constexpr (W == Wait::spin_then_futex) w.sleeping.store(1, std::memory_order_seq_cst);
    while ((now = w.seq.load(std::memory_order_seq_cst)) == old) {
      if (stop.load(std::memory_order_relaxed) != 0) {
        now = 0;
        break;
      }
      futex_wait(w.seq, old, kStopPoll);
    }
    if constexpr (W == Wait::spin_then_futex) w.sleeping.store(0, std::memory_order_relaxed);
  }
  return now;
}

}  // namespace bench
