// Concurrency coverage of an exploration: which operation sites were reached, seen waiting and
// seen completing, which select cases fired and which never did.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::contains;
using ceramic::simtest::quick;
using namespace std::chrono_literals;

const sim::SiteCoverage* site(const sim::Coverage& c, const std::string& op, int line) {
  for (const auto& s : c.sites) {
    if (s.op == op && s.line == line) return &s;
  }
  return nullptr;
}

constexpr int kSelectLine = __LINE__ + 5;   // the select below (the body runs in other processes)

void select_with_timeout() {
  Chan<int> c;
  Proc sender("sender", [&] { (void)c.send_for(1, 1h); });
  ceramic::select(ceramic::on_recv(c, [](std::optional<int>) {}), ceramic::on_timeout(1h, [] {}));
  sender.join();
}

TEST(SimCoverage, SitesCasesAndWaitsAreCounted) {
  sim::Options o = quick(sim::Strategy::dfs, 100);
  o.timeouts = sim::Timeouts::when_idle;   // the timeout is a safety net here: never taken
  sim::Result r = sim::explore(select_with_timeout, o);
  EXPECT_FALSE(r.failed) << r.report;
  const sim::SiteCoverage* s = site(r.coverage, "select", kSelectLine);
  ASSERT_NE(s, nullptr) << sim::to_table(r.coverage);
  EXPECT_EQ(s->reached, r.schedules);
  EXPECT_EQ(s->completed, r.schedules);
  ASSERT_EQ(s->cases.size(), 2u);
  EXPECT_EQ(s->cases[0].kind, "recv");
  EXPECT_EQ(s->cases[0].taken, r.schedules);
  EXPECT_EQ(s->cases[1].kind, "timeout");
  EXPECT_EQ(s->cases[1].taken, 0u);
  std::string table = sim::to_table(r.coverage);
  EXPECT_TRUE(contains(table, "timeout 0 (NEVER)")) << table;
  EXPECT_TRUE(contains(table, "select cases never taken: 1")) << table;

  // Under the default model a blocked select may time out, and exploration sees it do so.
  sim::Result any = sim::explore(select_with_timeout, quick(sim::Strategy::dfs, 100));
  EXPECT_FALSE(any.failed) << any.report;
  s = site(any.coverage, "select", kSelectLine);
  ASSERT_NE(s, nullptr);
  EXPECT_GT(s->cases[1].taken, 0u) << sim::to_table(any.coverage);
  EXPECT_GT(s->blocked, 0u) << sim::to_table(any.coverage);
}

TEST(SimCoverage, WorkersMergeTheirCoverage) {
  sim::Options o = quick(sim::Strategy::random, 40);
  o.workers = 2;
  sim::Result r = sim::explore(ceramic::simtest::three_senders, o);
  EXPECT_FALSE(r.failed) << r.report;
  std::size_t reached = 0;
  for (const auto& s : r.coverage.sites) {
    if (s.op == "recv") reached += s.reached;
  }
  EXPECT_EQ(reached, 3 * r.schedules) << sim::to_table(r.coverage);
}

TEST(SimCoverage, PatienceStopsWhenCoverageStopsGrowing) {
  sim::Options o = quick(sim::Strategy::random, 100000);
  o.coverage_patience = 20;
  sim::Result r = sim::explore(ceramic::simtest::three_senders, o);
  EXPECT_FALSE(r.failed);
  EXPECT_LT(r.schedules, 1000u);
  EXPECT_GE(r.schedules, 21u);
}

}  // namespace
