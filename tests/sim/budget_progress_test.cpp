// Long explorations: a time budget stops them, and a progress line tells a terminal how far
// they got.
#include <gtest/gtest.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <string>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::three_senders;
using ceramic::simtest::contains;
using ceramic::simtest::quick;


TEST(TimeBudget, StopsAnExplorationThatWouldRunForDays) {
  for (unsigned workers : {1u, 2u}) {
    SCOPED_TRACE(workers);
    sim::Options o = quick(sim::Strategy::random, 1'000'000'000);
    o.time_budget = std::chrono::milliseconds(300);
    o.workers = workers;
    sim::Result r = sim::explore(three_senders, o);  // returns at all: the budget works
    EXPECT_FALSE(r.failed) << r.report;
    EXPECT_GT(r.schedules, 0u);
    EXPECT_LT(r.schedules, o.iterations);
    EXPECT_FALSE(r.complete);
  }
}

TEST(TimeBudget, DfsStoppedByTheBudgetIsNotComplete) {
  sim::Options o = quick(sim::Strategy::dfs, 1'000'000'000);
  o.time_budget = std::chrono::milliseconds(1);
  o.partial_order_reduction = false;
  // 8 senders to one receiver: 8! = 40320 orders, far more than a millisecond runs.
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        std::vector<Proc> ps;
        for (int i = 0; i < 8; ++i) ps.emplace_back([c, i]() mutable { c.send(i); });
        for (int i = 0; i < 8; ++i) c.recv();
      },
      o);
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_FALSE(r.complete);
  EXPECT_LT(r.schedules, 40320u);
}

TEST(Progress, ALineOnStderrWithSchedulesRateAndFailures) {
  sim::Options o = quick(sim::Strategy::random, 20);
  o.progress = 1;
  ::testing::internal::CaptureStderr();
  sim::Result r = sim::explore(three_senders, o);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(contains(err, "ceramic sim [random] 20/20 schedules")) << err;
  EXPECT_TRUE(contains(err, "/s")) << err;
  EXPECT_TRUE(contains(err, "0 failures")) << err;
}

TEST(Progress, SaysFailedWhenAScheduleFailed) {
  sim::Options o = quick(sim::Strategy::dfs, 100);
  o.progress = 1;
  ::testing::internal::CaptureStderr();
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        Proc a("A", [&] { c.send(1); });
        Proc b("B", [&] { c.recv(); });
        c.send(2);
        c.recv();
      },
      o);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(r.failed);
  EXPECT_TRUE(contains(err, "FAILED")) << err;
}

TEST(Progress, OffByDefaultWhenStderrIsNotATerminal) {
  sim::Options o = quick(sim::Strategy::random, 5);
  o.progress = -1;
  ::testing::internal::CaptureStderr();  // a file, not a terminal
  sim::Result r = sim::explore(three_senders, o);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_FALSE(contains(err, "ceramic sim [")) << err;
}

}  // namespace
