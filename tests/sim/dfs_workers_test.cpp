// DFS split over worker processes (Options::workers, sim/src/dfs.cpp): together the workers run
// exactly the schedules one search runs, each once, with or without partial-order reduction,
// whether the tree splits below its first choice or (a first schedule too short to reach the
// split) at the first schedule's last choice.
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
using ceramic::simtest::independent_pairs;
using ceramic::simtest::quick;

sim::Options dfs(unsigned workers, std::size_t iterations = 10000, bool reduce = true) {
  sim::Options o = quick(sim::Strategy::dfs, iterations);
  o.workers = workers;
  o.partial_order_reduction = reduce;
  return o;
}

// n senders and main receiving n values on one channel: n! orders (dependent: one channel).
void senders(int n, std::vector<int>* order = nullptr) {
  Chan<int> c;
  std::vector<Proc> ps;
  for (int i = 0; i < n; ++i) ps.emplace_back("S" + std::to_string(i), [&c, i] { c.send(i); });
  for (int i = 0; i < n; ++i) {
    int v = *c.recv();
    if (order) order->push_back(v);
  }
  for (auto& p : ps) p.join();
}

struct Program {
  const char* name;
  void (*body)();
};

const Program kPrograms[] = {
    {"two senders (splits at the first schedule's last choice)", [] { senders(2); }},
    {"four senders (splits below the first choice)", [] { senders(4); }},
    {"three independent pairs (sleep sets)", [] { independent_pairs(3); }},
    {"an empty body (no choice at all)", [] {}},
};

TEST(DfsWorkers, RunTheSameNumberOfSchedulesAsOneSearchAndComplete) {
  for (const Program& p : kPrograms) {
    for (bool reduce : {true, false}) {
      SCOPED_TRACE(std::string(p.name) + (reduce ? ", reduced" : ", full"));
      sim::Result one = sim::explore(p.body, dfs(1, 10000, reduce));
      ASSERT_FALSE(one.failed) << one.report;
      ASSERT_TRUE(one.complete);
      for (unsigned workers : {2u, 3u}) {
        SCOPED_TRACE("workers " + std::to_string(workers));
        sim::Result split = sim::explore(p.body, dfs(workers, 10000, reduce));
        EXPECT_FALSE(split.failed) << split.report;
        EXPECT_TRUE(split.complete);
        EXPECT_EQ(split.schedules, one.schedules);
      }
    }
  }
}

TEST(DfsWorkers, IterationsBoundTheSchedulesOfAllWorkersTogether) {
  sim::Result r = sim::explore([] { senders(4); }, dfs(2, 10));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.schedules, 10u);
}

TEST(DfsWorkers, FindABugInOneBranchAndReplayIt) {
  // Only the order 3,0,1,2 fails: one schedule of 24, in whichever worker owns it.
  auto body = [] {
    std::vector<int> order;
    senders(4, &order);
    sim::check(order != std::vector<int>{3, 0, 1, 2}, "the order 3,0,1,2");
  };
  sim::Result r = sim::explore(body, dfs(2));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::check) << r.report;
  EXPECT_TRUE(contains(r.report, "the order 3,0,1,2")) << r.report;
  EXPECT_FALSE(r.complete);
  sim::Result again = sim::replay(body, r.schedule);
  CERAMIC_EXPECT_SAME_FAILURE(r, again);
}

TEST(DfsWorkers, FindTheSeedRaceDeadlockWithItsGraph) {
  sim::Result r = sim::explore(ceramic::simtest::seed_race, dfs(2));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::deadlock) << r.report;
  EXPECT_EQ(r.schedule, "cs2:12");
  EXPECT_TRUE(r.info.graph.has_value()) << r.report;
}

TEST(DfsWorkers, ReportANonDeterministicProgramAsAMismatch) {
  // Each schedule spawns one more sender than the one before (a counter shared by every worker
  // and schedule), so the program never follows its own prefix.
  auto* runs = static_cast<std::atomic<int>*>(mmap(nullptr, sizeof(std::atomic<int>),
                                                   PROT_READ | PROT_WRITE,
                                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(runs, MAP_FAILED);
  new (runs) std::atomic<int>(0);
  sim::Result r = sim::explore([runs] { senders(2 + runs->fetch_add(1) % 3); }, dfs(2, 50));
  munmap(runs, sizeof(std::atomic<int>));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::mismatch) << r.report;
  EXPECT_TRUE(contains(r.report, "not deterministic")) << r.report;
}

}  // namespace
