// ceramic — a cheap clock for one question: was this checked less than a short while ago?
//
// The liveness cache (identity.cpp) asks it on every hand-off to another process, so its cost
// is on the hand-off's critical path. CLOCK_MONOTONIC costs a vDSO call (about 23 ns on a VM:
// an ordered TSC read, a seqlock and a conversion); the TSC alone costs one instruction (about
// 9 ns). The TSC is used only where the kernel keeps time by it (its clocksource is "tsc": the
// kernel found it invariant and synchronised across CPUs), converted by a rate measured against
// CLOCK_MONOTONIC from the stamps the cache takes anyway, once at least kCalibrationNs apart
// (pairs read while the thread may have been preempted are not used), less 5 %: a stamp may
// go stale a little early, never late.
// Until then, and wherever the TSC is not used, stamps are CLOCK_MONOTONIC nanoseconds.
//
// A stamp says which clock took it: stamps of different clocks are never compared (the cache
// then takes the slow path, which answers rightly, and stamps again). A TSC difference that
// is negative (a thread moved to a CPU whose TSC reads slightly behind) counts as stale.
#pragma once

#include <cstdint>

namespace ceramic::detail {

struct FreshStamp {
  std::int64_t value = 0;
  bool tsc = false;  // TSC ticks; else CLOCK_MONOTONIC ns
};

// Now, on the cheapest clock available (TSC once calibrated, else CLOCK_MONOTONIC).
FreshStamp fresh_now() noexcept;

// A stamp of now on both clocks, for the slow path: CLOCK_MONOTONIC ns in *ns, and a stamp
// for fresh_within. Feeds the TSC's calibration.
FreshStamp fresh_stamp(std::int64_t* ns) noexcept;

// True if `then` was taken less than window_ns (at most a second) before `now` (same clock;
// else false).
bool fresh_within(FreshStamp then, FreshStamp now, std::int64_t window_ns) noexcept;

inline constexpr std::int64_t kCalibrationNs = 50'000'000;

}  // namespace ceramic::detail
