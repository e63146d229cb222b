#include "fresh_clock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "ceramic/detail/futex.hpp"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ceramic::detail {
namespace {

// The TSC's state for this process: 0 not yet looked at, 4 being looked at, 1 not used,
// 2 calibrating, 3 ready.
// A forked child inherits the calibration: same machine, same TSC.
std::atomic<int> g_state{0};
std::atomic<std::int64_t> g_base_ns{0};
std::atomic<std::int64_t> g_base_tsc{0};
// TSC ticks per 2^20 ns (fixed point), once ready; read only after g_state (acquire) says 3.
std::atomic<std::int64_t> g_ticks_per_mns{0};

std::int64_t read_tsc() noexcept {
#if defined(__x86_64__)
  return static_cast<std::int64_t>(__rdtsc());
#else
  return 0;
#endif
}

bool kernel_keeps_time_by_tsc() noexcept {
#if defined(__x86_64__)
  const int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
                      O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[32] = {};
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n >= 3 && std::strncmp(buf, "tsc", 3) == 0 && (n == 3 || buf[3] == '\n');
#else
  return false;
#endif
}

// Readings of the two clocks taken together: tsc before ns, and the TSC again after. A pair
// whose bracket is wider than kMaxBracketTicks (the thread was preempted between the reads) is
// not used: at 1-5 GHz that is 20-100 us, against a calibration over kCalibrationNs.
constexpr std::int64_t kMaxBracketTicks = 100'000;

// One calibration step from a pair of readings.
void calibrate(std::int64_t ns, std::int64_t tsc, std::int64_t tsc_after) noexcept {
  int st = g_state.load(std::memory_order_acquire);
  if (st == 1 || st == 3) return;
  if (tsc_after - tsc > kMaxBracketTicks || tsc_after < tsc) return;
  if (st == 4) return;  // another thread is looking
  if (st == 0) {
    // One thread takes the base pair: two racing ones could leave one's TSC with the other's
    // time, and a rate off by their gap.
    int expected = 0;
    if (!g_state.compare_exchange_strong(expected, 4, std::memory_order_acq_rel)) return;
    const int next = kernel_keeps_time_by_tsc() ? 2 : 1;
    if (next == 2) {
      g_base_tsc.store(tsc, std::memory_order_relaxed);
      g_base_ns.store(ns, std::memory_order_relaxed);
    }
    g_state.store(next, std::memory_order_release);
    return;
  }
  const std::int64_t dns = ns - g_base_ns.load(std::memory_order_relaxed);
  const std::int64_t dtsc = tsc - g_base_tsc.load(std::memory_order_relaxed);
  if (dns < kCalibrationNs || dtsc <= 0) return;
  // 5 % fewer ticks than measured: a stamp goes stale a little early, never late.
  const auto rate = static_cast<std::int64_t>(static_cast<double>(dtsc) * (1 << 20) * 0.95 /
                                              static_cast<double>(dns));
  if (rate <= 0) return;
  g_ticks_per_mns.store(rate, std::memory_order_relaxed);
  g_state.store(3, std::memory_order_release);
}

}  // namespace

FreshStamp fresh_now() noexcept {
  if (g_state.load(std::memory_order_acquire) == 3) return {read_tsc(), true};
  return {now_ns(), false};
}

FreshStamp fresh_stamp(std::int64_t* ns) noexcept {
  const std::int64_t t = read_tsc();
  *ns = now_ns();
  calibrate(*ns, t, read_tsc());
  if (g_state.load(std::memory_order_acquire) == 3) return {t, true};
  return {*ns, false};
}

bool fresh_within(FreshStamp then, FreshStamp now, std::int64_t window_ns) noexcept {
  if (then.tsc != now.tsc) return false;
  const std::int64_t d = now.value - then.value;
  if (d < 0) return false;
  if (!now.tsc) return d < window_ns;
  // d < 2^40 keeps d << 20 in range; a stamp that old (minutes) is stale for any window here.
  const std::int64_t rate = g_ticks_per_mns.load(std::memory_order_relaxed);
  return d < (std::int64_t{1} << 40) && (d << 20) < window_ns * rate;
}

}  // namespace ceramic::detail
