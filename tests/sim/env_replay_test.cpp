// CERAMIC_SIM_REPLAY: with the variable set, explore() replays that one schedule instead of
// exploring.
#include <gtest/gtest.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdlib>
#include <string>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::seed_race;
using ceramic::simtest::contains;
using ceramic::simtest::quick;
using ceramic::simtest::ReplayEnv;


void check_bug() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  Proc d("D", [&] { c.send(3); });
  int first = *c.recv();
  c.recv();
  c.recv();
  sim::check(first != 3, "D came first");
  a.join();
  b.join();
  d.join();
}

TEST(EnvReplay, ExploreReplaysTheScheduleInTheEnvironment) {
  ASSERT_EQ(std::getenv(sim::kReplayEnv), nullptr);
  sim::Result found = sim::explore(seed_race, quick(sim::Strategy::dfs, 100));
  ASSERT_TRUE(found.failed);
  sim::Result replayed;
  {
    ReplayEnv env(found.schedule);
    // Options that would explore differently are ignored: the schedule decides.
    replayed = sim::explore(seed_race, quick(sim::Strategy::random, 500, 99));
  }
  EXPECT_EQ(std::getenv(sim::kReplayEnv), nullptr);
  CERAMIC_EXPECT_SAME_FAILURE(found, replayed);
}

TEST(EnvReplay, ACheckFailureReplaysFromTheEnvironment) {
  sim::Result found = sim::explore(check_bug, quick(sim::Strategy::random, 200, 4));
  ASSERT_TRUE(found.failed);
  ASSERT_EQ(found.failure, sim::Failure::check);
  sim::Result replayed;
  {
    ReplayEnv env(found.schedule);
    replayed = sim::explore(check_bug, quick(sim::Strategy::pct, 200));
  }
  CERAMIC_EXPECT_SAME_FAILURE(found, replayed);
  EXPECT_TRUE(contains(replayed.report, "D came first")) << replayed.report;
}

TEST(EnvReplay, TheReplayLineOfAReportWorksAsQuoted) {
  // The report says CERAMIC_SIM_REPLAY='<schedule>': the quotes, as a shell would not strip them
  // when pasted into a program's environment some other way, are tolerated.
  sim::Result found = sim::explore(seed_race, quick(sim::Strategy::dfs, 100));
  ASSERT_TRUE(found.failed);
  sim::Result replayed;
  {
    ReplayEnv env("'" + found.schedule + "'");
    replayed = sim::explore(seed_race, quick(sim::Strategy::pct, 100));
  }
  CERAMIC_EXPECT_SAME_FAILURE(found, replayed);
}

TEST(EnvReplay, APassingScheduleInTheEnvironmentRunsOnceCleanly) {
  sim::Result r;
  {
    ReplayEnv env("cs2:02");  // main meets B: the seed race does not deadlock
    r = sim::explore(seed_race, quick(sim::Strategy::pct, 100));
  }
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_EQ(r.schedules, 1u);
}

TEST(EnvReplay, AMalformedScheduleInTheEnvironmentIsAMismatch) {
  for (const char* bad : {"garbage", "cs9:00", "cs2:{99", "cs2:21"}) {
    sim::Result r;
    {
      ReplayEnv env(bad);
      EXPECT_NO_THROW(r = sim::explore(seed_race, quick(sim::Strategy::pct, 100))) << bad;
    }
    EXPECT_TRUE(r.failed) << bad;
    EXPECT_EQ(r.failure, sim::Failure::mismatch) << bad;
    EXPECT_TRUE(contains(r.report, "cannot replay")) << r.report;
    EXPECT_TRUE(contains(r.report, bad)) << r.report;
  }
}

TEST(EnvReplay, AScheduleTheProgramDoesNotFollowIsAMismatch) {
  sim::Result r;
  {
    ReplayEnv env("cs2:0213");  // the seed race's first choice has 2 transitions, then none
    r = sim::explore(seed_race, quick(sim::Strategy::pct, 100));
  }
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::mismatch) << r.report;
  EXPECT_TRUE(contains(r.report, "no longer follows")) << r.report;
}

TEST(EnvReplay, AnEmptyVariableExploresAsUsual) {
  sim::Result r;
  {
    ReplayEnv env("");
    r = sim::explore(seed_race, quick(sim::Strategy::dfs, 100));
  }
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.schedules, 2u);
  EXPECT_EQ(r.schedule, "cs2:12");
}

TEST(EnvReplay, TheVariableIsReadAtEachCall) {
  sim::Result replayed, explored;
  {
    ReplayEnv env("cs2:12");
    replayed = sim::explore(seed_race, quick(sim::Strategy::dfs, 100));
  }
  explored = sim::explore(seed_race, quick(sim::Strategy::random, 64, 1));
  EXPECT_EQ(replayed.schedules, 1u);
  EXPECT_TRUE(replayed.failed);
  EXPECT_TRUE(explored.failed);
  EXPECT_EQ(explored.schedules, explored.iteration + 1);
}

}  // namespace
