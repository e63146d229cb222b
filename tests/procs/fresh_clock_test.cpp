// The liveness cache's clock (core/src/fresh_clock.hpp): stamps of different clocks are never
// compared, time does not run backwards for it, and once the TSC is calibrated a stamp goes
// stale no later than its window says (never late: a dead process must not pass for alive
// longer than kAliveReuseNs).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "ceramic/detail/futex.hpp"
#include "fresh_clock.hpp"  // core/src
#include "support/test_support.hpp"

namespace {

namespace d = ceramic::detail;

bool kernel_keeps_time_by_tsc() {
  const int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY);
  if (fd < 0) return false;
  char buf[32] = {};
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 && std::strcmp(buf, "tsc\n") == 0;
}

// Stamps, both clocks at once, for longer than the calibration takes.
void calibrate() {
  const std::int64_t start = d::now_ns();
  std::int64_t ns = 0;
  while (ns - start < d::kCalibrationNs + 10'000'000) {
    d::fresh_stamp(&ns);
    usleep(1000);
  }
}

TEST(FreshClock, StampsOfDifferentClocksAreNeverFresh) {
  EXPECT_FALSE(d::fresh_within({1000, false}, {1001, true}, 1'000'000));
  EXPECT_FALSE(d::fresh_within({1000, true}, {1001, false}, 1'000'000));
}

TEST(FreshClock, MonotonicStampsAreFreshForTheirWindowOnly) {
  EXPECT_TRUE(d::fresh_within({5000, false}, {5000, false}, 20'000));
  EXPECT_TRUE(d::fresh_within({5000, false}, {24'999, false}, 20'000));
  EXPECT_FALSE(d::fresh_within({5000, false}, {25'000, false}, 20'000));
  EXPECT_FALSE(d::fresh_within({5000, false}, {4999, false}, 20'000)) << "backwards is stale";
}

TEST(FreshClock, CalibratedStampsGoStaleNoLaterThanTheirWindow) {
  calibrate();
  const d::FreshStamp probe = d::fresh_now();
  if (kernel_keeps_time_by_tsc()) {
    EXPECT_TRUE(probe.tsc) << "the kernel keeps time by the TSC, and the TSC was not calibrated";
  }
  // Fresh: a millisecond against a second's window.
  const d::FreshStamp a = d::fresh_now();
  usleep(1000);
  EXPECT_TRUE(d::fresh_within(a, d::fresh_now(), 1'000'000'000));
  // Stale: at least 25 us (by CLOCK_MONOTONIC) after the stamp, against a 20 us window.
  const d::FreshStamp b = d::fresh_now();
  const std::int64_t after = d::now_ns();
  while (d::now_ns() - after < 25'000) {
  }
  EXPECT_FALSE(d::fresh_within(b, d::fresh_now(), 20'000));
  // A stamp from the future (another CPU's TSC a little ahead) is stale, not fresh.
  const d::FreshStamp now = d::fresh_now();
  EXPECT_FALSE(d::fresh_within({now.value + 1000, now.tsc}, now, 20'000));
}

}  // namespace
