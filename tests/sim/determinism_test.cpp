// Determinism: the same seed and strategy find the same failing schedule, and replaying a
// schedule reproduces the failure that the exploration found (kind, schedule, steps), for every
// kind of bug the simulator reports.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/gtest.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::contains;
using ceramic::simtest::quick;

// ---- the bugs: each one depends on the interleaving (roughly half of the schedules) ----

// The seed README's race: A may meet B first, and then nobody receives main's value.
void deadlock_bug() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.recv(); });
  c.send(2);
  c.recv();
}

// Two senders, one receiving child that aborts when S2's value reaches it.
void crash_bug() {
  Chan<int> c;
  Proc s1("S1", [&] { c.send(1); });
  Proc s2("S2", [&] { c.send(2); });
  Proc r("R", [&] {
    if (*c.recv() == 2) {
      rlimit none{0, 0};
      setrlimit(RLIMIT_CORE, &none);  // no core file for an intended abort
      std::abort();
    }
  });
  c.recv();
  s1.join();
  s2.join();
  r.join();
}

// As crash_bug, but the child exits with code 3 (without going through Proc's exit point).
void exit_code_bug() {
  Chan<int> c;
  Proc s1("S1", [&] { c.send(1); });
  Proc s2("S2", [&] { c.send(2); });
  Proc r("R", [&] {
    if (*c.recv() == 2) {
      std::fflush(nullptr);
      _exit(3);
    }
  });
  c.recv();
  s1.join();
  s2.join();
  r.join();
}

// main throws when B's value arrives first.
void exception_bug() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  int first = *c.recv();
  c.recv();
  if (first == 2) throw std::runtime_error("B came first");
  a.join();
  b.join();
}

void check_bug() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  int first = *c.recv();
  int second = *c.recv();
  sim::check(first == 1 && second == 2, "A must come first");
  a.join();
  b.join();
}

// Two senders that never stop and a receiver that never stops: every step is a choice.
void livelock_bug() {
  Chan<int> c;
  Proc a("A", [&] {
    for (;;) c.send(1);
  });
  Proc b("B", [&] {
    for (;;) c.send(2);
  });
  for (;;) c.recv();
}

void gtest_expect_bug() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  int first = *c.recv();
  c.recv();
  EXPECT_EQ(first, 1) << "A must come first";
  a.join();
  b.join();
}

struct Bug {
  const char* name;
  void (*body)();
  sim::Failure failure;
  const char* says;          // in the report
  std::size_t max_steps = 10000;
};

std::vector<Bug> bugs() {
  return {
      {"deadlock", deadlock_bug, sim::Failure::deadlock, "deadlock"},
      {"crash", crash_bug, sim::Failure::crash, "SIGABRT"},
      {"exit_code", exit_code_bug, sim::Failure::exit_code, "exited with code 3"},
      {"exception", exception_bug, sim::Failure::exit_code, "uncaught exception: B came first"},
      {"check", check_bug, sim::Failure::check, "A must come first"},
      {"livelock", livelock_bug, sim::Failure::runaway, "Options::max_steps", 40},
      {"gtest_expect", gtest_expect_bug, sim::Failure::check, "A must come first"},
  };
}

class Bugs : public ::testing::TestWithParam<Bug> {};

sim::Options options_for(const Bug& bug, sim::Strategy s, std::uint64_t seed) {
  sim::Options o = quick(s, 200, seed);
  o.max_steps = bug.max_steps;
  return o;
}

TEST_P(Bugs, AreFoundWithTheExpectedFailureKind) {
  const Bug& bug = GetParam();
  sim::Result r = sim::explore(bug.body, options_for(bug, sim::Strategy::random, 7));
  ASSERT_TRUE(r.failed) << "no failure in " << r.schedules << " schedules";
  EXPECT_EQ(r.failure, bug.failure) << r.report;
  EXPECT_TRUE(contains(r.report, bug.says)) << r.report;
  EXPECT_TRUE(contains(r.report, "schedule: " + r.schedule)) << r.report;
  EXPECT_TRUE(contains(r.replay, "CERAMIC_SIM_REPLAY='" + r.schedule + "'")) << r.replay;
  EXPECT_EQ(r.schedules, r.iteration + 1);
  EXPECT_GT(r.steps, 0u);
}

TEST_P(Bugs, ReplayReproducesTheFailureTheExplorationFound) {
  const Bug& bug = GetParam();
  for (sim::Strategy s : {sim::Strategy::random, sim::Strategy::pct, sim::Strategy::dfs}) {
    SCOPED_TRACE(ceramic::simtest::strategy_name(s));
    sim::Result found = sim::explore(bug.body, options_for(bug, s, 11));
    ASSERT_TRUE(found.failed) << "no failure in " << found.schedules << " schedules";
    sim::Result again = sim::replay(bug.body, found.schedule);
    CERAMIC_EXPECT_SAME_FAILURE(found, again);
  }
}

TEST_P(Bugs, TheSameSeedAndStrategyFindTheSameScheduleTwice) {
  const Bug& bug = GetParam();
  for (sim::Strategy s : {sim::Strategy::random, sim::Strategy::pct}) {
    for (std::uint64_t seed : {0ull, 1ull, 12345ull}) {
      SCOPED_TRACE(ceramic::simtest::strategy_name(s) + " seed " + std::to_string(seed));
      sim::Result one = sim::explore(bug.body, options_for(bug, s, seed));
      sim::Result two = sim::explore(bug.body, options_for(bug, s, seed));
      ASSERT_TRUE(one.failed);
      ASSERT_TRUE(two.failed);
      EXPECT_EQ(one.schedule, two.schedule);
      EXPECT_EQ(one.iteration, two.iteration);
      EXPECT_EQ(one.schedules, two.schedules);
      EXPECT_EQ(one.steps, two.steps);
      EXPECT_EQ(one.failure, two.failure);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKind, Bugs, ::testing::ValuesIn(bugs()),
                         [](const ::testing::TestParamInfo<Bug>& p) {
                           return std::string(p.param.name);
                         });

TEST(Determinism, ReplayingTwiceGivesTheSameResult) {
  sim::Result found = sim::explore(check_bug, quick(sim::Strategy::random, 100, 3));
  ASSERT_TRUE(found.failed);
  sim::Result a = sim::replay(check_bug, found.schedule);
  sim::Result b = sim::replay(check_bug, found.schedule);
  CERAMIC_EXPECT_SAME_FAILURE(found, a);
  CERAMIC_EXPECT_SAME_FAILURE(a, b);
}

TEST(Determinism, DifferentSeedsStillFindTheBugAndEachReplays) {
  for (std::uint64_t seed = 100; seed < 105; ++seed) {
    sim::Result r = sim::explore(deadlock_bug, quick(sim::Strategy::random, 200, seed));
    ASSERT_TRUE(r.failed) << "seed " << seed;
    sim::Result again = sim::replay(deadlock_bug, r.schedule);
    CERAMIC_EXPECT_SAME_FAILURE(r, again);
  }
}

TEST(Determinism, TheFailingScheduleOutputIsCaptured) {
  sim::Result r = sim::explore(exception_bug, quick(sim::Strategy::random, 100, 5));
  ASSERT_TRUE(r.failed);
  EXPECT_TRUE(contains(r.output, "uncaught exception: B came first")) << r.output;
}

TEST(Determinism, AReplayOfAPassingScheduleDoesNotFail) {
  // dfs takes choice 0 first: main receives A's value first, which check_bug accepts.
  sim::Result r = sim::replay(check_bug, "cs2:02");
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_EQ(r.failure, sim::Failure::none);
  EXPECT_EQ(r.schedules, 1u);
}

}  // namespace

namespace {

TEST(SimDeterminism, AReplayPrintsTheSameReportEveryTime) {
  namespace sim = ceramic::sim;
  sim::Result r = sim::explore(ceramic::simtest::seed_race, ceramic::simtest::quick(sim::Strategy::pct, 1000));
  ASSERT_TRUE(r.failed);
  sim::Result a = sim::replay(ceramic::simtest::seed_race, r.schedule);
  sim::Result b = sim::replay(ceramic::simtest::seed_race, r.schedule);
  EXPECT_EQ(a.report, b.report);   // processes by creation order, never by OS pid
  EXPECT_EQ(a.dot, b.dot);
  EXPECT_NE(a.report.find("main (pid 1)"), std::string::npos) << a.report;
}

}  // namespace

namespace {

// The failure as data: what the text is printed from, with the detector's graph, also when a
// worker process found it (the explorer replays the schedule to rebuild the graph).
TEST(SimFailureInfo, ADeadlockCarriesTheDetectorsReportAsData) {
  namespace sim = ceramic::sim;
  for (unsigned workers : {1u, 2u}) {
    SCOPED_TRACE("workers " + std::to_string(workers));
    sim::Options o = ceramic::simtest::quick(sim::Strategy::pct, 1000);
    o.workers = workers;
    sim::Result r = sim::explore(ceramic::simtest::seed_race, o);
    ASSERT_TRUE(r.failed);
    EXPECT_EQ(r.info.kind, sim::Failure::deadlock);
    EXPECT_NE(r.info.summary.find("main"), std::string::npos) << r.info.summary;
    EXPECT_FALSE(r.info.steps.empty());
    ASSERT_TRUE(r.info.graph.has_value()) << r.report;
    ASSERT_EQ(r.info.graph->stuck.size(), 1u);
    EXPECT_EQ(r.info.graph->stuck[0].name, "main");
    EXPECT_EQ(r.dot, ceramic::detector::to_dot(*r.info.graph));
  }
}

TEST(SimFailureInfo, ACheckNamesItsProcessAndLine) {
  namespace sim = ceramic::sim;
  sim::Result r = sim::explore(
      [] {
        ceramic::Proc p("checker", [] { sim::check(false, "always"); });
        p.join();
      },
      ceramic::simtest::quick(sim::Strategy::pct, 10));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.info.kind, sim::Failure::check);
  EXPECT_EQ(r.info.process, "checker");
  EXPECT_NE(r.info.file.find("determinism_test.cpp"), std::string::npos) << r.info.file;
  EXPECT_GT(r.info.line, 0);
  EXPECT_FALSE(r.info.graph.has_value());
}

}  // namespace
