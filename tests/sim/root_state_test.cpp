// Where a schedule starts: its root (main) is forked before the schedule begins, while the one
// before it runs (sim/src/run.cpp, the standby), yet every schedule starts from the state the
// caller had when it called explore(), and main is the caller's child.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <atomic>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::quick;

int g_counter = 0;

TEST(RootState, EveryScheduleStartsFromTheCallersStateAtExplore) {
  for (int value : {7, 8}) {
    SCOPED_TRACE(value);
    g_counter = value;
    const int local = value * 10;
    sim::Result r = sim::explore(
        [local, value] {
          sim::check(g_counter == value, "main sees the caller's global as explore() found it");
          sim::check(local == value * 10, "main sees the caller's captures");
          ++g_counter;  // stays in this schedule's processes
          Chan<int> c;
          Proc a("A", [&c] { c.send(g_counter); });
          sim::check(*c.recv() == value + 1, "a Proc starts from main's state");
        },
        quick(sim::Strategy::random, 30, static_cast<std::uint64_t>(value)));
    EXPECT_FALSE(r.failed) << r.report;
    EXPECT_EQ(r.schedules, 30u);
    EXPECT_EQ(g_counter, value);
  }
}

TEST(RootState, MainIsTheCallersChildAndAProcIsItsStartersChild) {
  const pid_t caller = getpid();
  sim::Result r = sim::explore(
      [caller] {
        sim::check(getppid() == caller, "main's parent is the process that called explore()");
        const pid_t main = getpid();
        Chan<int> c;
        Proc a("A", [&c, main] { c.send(getppid() == main ? 1 : 0); });
        sim::check(*c.recv() == 1, "a Proc's parent is the process that started it");
      },
      quick(sim::Strategy::random, 20));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_EQ(r.schedules, 20u);
}

TEST(RootState, EveryScheduleStartsWithTheSameOpenDescriptors) {
  // The lowest free descriptor in main, in every schedule (the explorer's own descriptors, such
  // as the pidfds it watches a schedule through, must not leak into the next root).
  struct Seen {
    std::atomic<int> lowest{1 << 30};
    std::atomic<int> highest{-1};
  };
  auto* seen = static_cast<Seen*>(mmap(nullptr, sizeof(Seen), PROT_READ | PROT_WRITE,
                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(seen, MAP_FAILED);
  new (seen) Seen();
  sim::Result r = sim::explore(
      [seen] {
        int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        sim::check(fd >= 0, "open /dev/null");
        ::close(fd);
        int low = seen->lowest.load();
        while (fd < low && !seen->lowest.compare_exchange_weak(low, fd)) {
        }
        int high = seen->highest.load();
        while (fd > high && !seen->highest.compare_exchange_weak(high, fd)) {
        }
        ceramic::simtest::three_senders();
      },
      quick(sim::Strategy::random, 40));
  const int lowest = seen->lowest.load();
  const int highest = seen->highest.load();
  munmap(seen, sizeof(Seen));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_EQ(r.schedules, 40u);
  EXPECT_GE(lowest, 0);
  EXPECT_EQ(lowest, highest);
}

}  // namespace
