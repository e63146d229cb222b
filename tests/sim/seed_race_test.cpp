// The seed README's race, found and replayed by every strategy.
#include <gtest/gtest.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::seed_race;


class SeedRace : public ::testing::TestWithParam<sim::Strategy> {};

TEST_P(SeedRace, IsFoundAndReplaysToTheSameDeadlock) {
  sim::Options o;
  o.strategy = GetParam();
  o.iterations = 1000;
  sim::Result r = sim::explore(seed_race, o);
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::deadlock);
  EXPECT_NE(r.report.find("main"), std::string::npos) << r.report;
  EXPECT_NE(r.dot.find("digraph"), std::string::npos);
  sim::Result again = sim::replay(seed_race, r.schedule);
  EXPECT_TRUE(again.failed);
  EXPECT_EQ(again.failure, sim::Failure::deadlock);
  EXPECT_EQ(again.schedule, r.schedule);
  EXPECT_EQ(again.steps, r.steps);
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, SeedRace,
                         ::testing::Values(sim::Strategy::random, sim::Strategy::pct,
                                           sim::Strategy::dfs),
                         [](const ::testing::TestParamInfo<sim::Strategy>& p) {
                           switch (p.param) {
                             case sim::Strategy::random: return std::string("random");
                             case sim::Strategy::pct: return std::string("pct");
                             case sim::Strategy::dfs: return std::string("dfs");
                           }
                           return std::string("unknown");
                         });

}  // namespace
