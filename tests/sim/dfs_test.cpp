// DFS: exhaustive over the choices of small programs whose number of interleavings is known.
//
// What counts (model.cpp, Model::enabled): a choice is a point where two or more transitions are
// enabled; spawn, exit, and a join whose child has exited run without a choice. An unbuffered
// rendezvous is one transition per (sender case, receiver case) pair. A join of a live child
// without a timeout enables nothing, so joining explicitly adds no choice (a Proc destroyed
// without a join asks running(), which is a transition of its own).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <atomic>
#include <string>
#include <vector>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::contains;
using ceramic::simtest::quick;

sim::Options dfs(std::size_t iterations) { return quick(sim::Strategy::dfs, iterations); }

// A and B send once each to main, which receives twice: the first receive meets A or B (2
// transitions), the second meets whoever is left (1). 2 schedules.
void two_senders() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  int x = *c.recv();
  int y = *c.recv();
  sim::check(x + y == 3);
  a.join();
  b.join();
}

// Three senders, one receiver: 3 * 2 = 6 orders, each a schedule. order[] records the values.
void three_senders(int* first, int* second, int* third) {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  Proc d("C", [&] { c.send(3); });
  *first = *c.recv();
  *second = *c.recv();
  *third = *c.recv();
  a.join();
  b.join();
  d.join();
}

TEST(Dfs, TwoSendersOneReceiverHaveExactlyTwoSchedules) {
  sim::Result r = sim::explore(two_senders, dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 2u);
}

TEST(Dfs, ThreeSendersOneReceiverHaveExactlySixSchedules) {
  sim::Result r = sim::explore(
      [] {
        int x, y, z;
        three_senders(&x, &y, &z);
        sim::check(x + y + z == 6 && x != y && y != z && x != z);
      },
      dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 6u);
}

TEST(Dfs, TwoSendersTwoReceiversHaveOneChoiceOfFourPairs) {
  // A, B send once; C, D receive once; main joins. The first rendezvous is one of the 4
  // (sender, receiver) pairs, each listed once; the second is forced. 4 schedules.
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        Proc a("A", [&] { c.send(1); });
        Proc b("B", [&] { c.send(2); });
        Proc x("C", [&] { c.recv(); });
        Proc y("D", [&] { c.recv(); });
        y.join();
        x.join();
        b.join();
        a.join();
      },
      dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 4u);
}

TEST(Dfs, ASenderOfTwoValuesAndASenderOfOneHaveThreeOrders) {
  // Interleavings of A's two sends with B's one: AAB, ABA, BAA.
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        Proc a("A", [&] {
          c.send(1);
          c.send(2);
        });
        Proc b("B", [&] { c.send(3); });
        int sum = *c.recv() + *c.recv() + *c.recv();
        sim::check(sum == 6);
        a.join();
        b.join();
      },
      dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 3u);
}

TEST(Dfs, SelectWithTwoReadyCasesHasTwoSchedules) {
  // main's select can meet A (case 0) or B (case 1); the other value is then received alone.
  sim::Result r = sim::explore(
      [] {
        Chan<int> c1, c2;
        Proc a("A", [&] { c1.send(1); });
        Proc b("B", [&] { c2.send(2); });
        int got = 0;
        ceramic::select(ceramic::on_recv(c1, [&](std::optional<int> v) { got = *v; }),
                        ceramic::on_recv(c2, [&](std::optional<int> v) { got = *v; }));
        int other = got == 1 ? *c2.recv() : *c1.recv();
        sim::check(got + other == 3);
        a.join();
        b.join();
      },
      dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 2u);
}

TEST(Dfs, AProgramWithoutChoicesHasExactlyOneSchedule) {
  // One sender, one receiver, a close: at every point exactly one transition is enabled. main's
  // own buffered channel adds steps but no choice either.
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        Proc p("P", [&] {
          c.send(1);
          c.send(2);
          c.close();
        });
        int sum = 0;
        for (int v : c) sum += v;
        sim::check(sum == 3);
        Chan<int> buffered(ceramic::ChanOptions{.capacity = 2});
        buffered.send(4);
        buffered.send(5);
        sim::check(*buffered.recv() == 4 && *buffered.recv() == 5);
        sim::check(p.join() == 0);
      },
      dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 1u);
}

TEST(Dfs, AnEmptyBodyHasExactlyOneSchedule) {
  sim::Result r = sim::explore([] {}, dfs(10));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 1u);
}

TEST(Dfs, FewerIterationsThanSchedulesIsNotComplete) {
  sim::Result r = sim::explore(
      [] {
        int x, y, z;
        three_senders(&x, &y, &z);
      },
      dfs(4));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.schedules, 4u);
}

TEST(Dfs, IterationsEqualToTheSpaceAreComplete) {
  sim::Result r = sim::explore(
      [] {
        int x, y, z;
        three_senders(&x, &y, &z);
      },
      dfs(6));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 6u);
}

TEST(Dfs, FindsABugInExactlyOneBranchAtItsPlaceInDepthFirstOrder) {
  // Orders in dfs order (choice indices by task: A=1, B=2, C=3 are listed in that order):
  // 123 (0,0), 132 (0,1), 213 (1,0), 231 (1,1), 312 (2,0), 321 (2,1). Only 3,1,2 fails.
  auto body = [] {
    int x, y, z;
    three_senders(&x, &y, &z);
    sim::check(!(x == 3 && y == 1 && z == 2), "the order 3,1,2");
  };
  sim::Result r = sim::explore(body, dfs(100));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::check) << r.report;
  EXPECT_TRUE(contains(r.report, "the order 3,1,2")) << r.report;
  EXPECT_EQ(r.iteration, 4u);
  EXPECT_EQ(r.schedules, 5u);
  EXPECT_EQ(r.schedule, "cs2:2302");
  EXPECT_FALSE(r.complete);
  sim::Result again = sim::replay(body, r.schedule);
  CERAMIC_EXPECT_SAME_FAILURE(r, again);
}

TEST(Dfs, TheSeedRaceIsTheSecondOfTwoSchedules) {
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        Proc a("A", [&] { c.send(1); });
        Proc b("B", [&] { c.recv(); });
        c.send(2);
        c.recv();
      },
      dfs(100));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::deadlock);
  EXPECT_EQ(r.iteration, 1u);
  EXPECT_EQ(r.schedule, "cs2:12");
}

TEST(Dfs, ANonDeterministicProgramIsReportedAsAMismatch) {
  // The body spawns one more sender in each schedule (a counter shared with the explorer), so
  // the first choice offers 2 transitions, then 3: the program does not follow its own prefix.
  auto* runs = static_cast<std::atomic<int>*>(
      mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
           -1, 0));
  ASSERT_NE(runs, MAP_FAILED);
  new (runs) std::atomic<int>(0);
  sim::Result r = sim::explore(
      [runs] {
        int senders = 2 + runs->fetch_add(1);
        Chan<int> c;
        std::vector<Proc> ps;
        for (int i = 0; i < senders; ++i) ps.emplace_back("S" + std::to_string(i), [&c, i] { c.send(i); });
        for (int i = 0; i < senders; ++i) c.recv();
        for (auto& p : ps) p.join();
      },
      dfs(20));
  munmap(runs, sizeof(std::atomic<int>));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::mismatch) << r.report;
  EXPECT_TRUE(contains(r.report, "not deterministic")) << r.report;
}

TEST(Dfs, BufferedPushesAreChoicesAndPopsFollowTheBuffer) {
  // Capacity 1, A and B push once, main pops twice. The first push is A's or B's (2); then the
  // buffer is full and only main's pop is enabled, then the other push, then the pop. 2
  // schedules, and main receives in push order.
  sim::Result r = sim::explore(
      [] {
        Chan<int> c(ceramic::ChanOptions{.capacity = 1});
        Proc a("A", [&] { c.send(1); });
        Proc b("B", [&] { c.send(2); });
        int x = *c.recv();
        int y = *c.recv();
        sim::check(x + y == 3);
        a.join();
        b.join();
      },
      dfs(100));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 2u);
}

}  // namespace
