// ceramic/sim/gtest.hpp: the assertion macros, no_failure()'s message with its replay line, and
// GoogleTest assertions that fail inside the simulated processes.
#include <gtest/gtest.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/gtest.hpp>
#include <ceramic/sim/sim.hpp>

#include <string>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::seed_race;
using ceramic::simtest::contains;
using ceramic::simtest::quick;


// The checker's assertion; kExpectLine is its line (the child's memory never reaches the test).
constexpr int kExpectLine = __LINE__ + 2;
void checker_expects_a(int v) {
  EXPECT_EQ(v, 1) << "the checker wants A's value";
}

void expect_fails_in_child() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.send(2); });
  Proc checker("checker", [&] {
    checker_expects_a(*c.recv());
  });
  c.recv();
  a.join();
  b.join();
  checker.join();
}

TEST(SimGtest, ExpectNoSimFailurePassesForACorrectProgram) {
  CERAMIC_EXPECT_NO_SIM_FAILURE(sim::explore(
      [] {
        Chan<int> c;
        Proc p([&] { c.send(1); });
        EXPECT_EQ(*c.recv(), 1);
        EXPECT_EQ(p.join(), 0);
      },
      quick(sim::Strategy::dfs, 100)));
  CERAMIC_ASSERT_NO_SIM_FAILURE(sim::explore(
      [] {
        Chan<int> c;
        Proc p([&] { c.send(1); });
        ASSERT_EQ(*c.recv(), 1);
      },
      quick(sim::Strategy::pct, 50)));
}

TEST(SimGtest, NoFailureIsSuccessForAResultWithoutFailure) {
  sim::Result r;
  EXPECT_TRUE(sim::no_failure(r));
}

TEST(SimGtest, NoFailureMessageHasTheReportScheduleAndAReplayLineForThisTest) {
  sim::Result r = sim::explore(seed_race, quick(sim::Strategy::dfs, 100));
  ASSERT_TRUE(r.failed);
  ::testing::AssertionResult ar = sim::no_failure(r);
  EXPECT_FALSE(ar);
  std::string m = ar.message();
  EXPECT_TRUE(contains(m, "found a deadlock after 2 schedule(s)")) << m;
  EXPECT_TRUE(contains(m, r.report)) << m;
  EXPECT_TRUE(contains(m, r.schedule)) << m;
  // The replay line: the environment variable with the schedule, the program, then the filter
  // of this very test, on one line.
  const std::string filter = "--gtest_filter=SimGtest.NoFailureMessageHasTheReportScheduleAndAReplayLineForThisTest";
  // (The report, quoted first, has the replay line without the filter.)
  std::size_t intro = m.find("replay this test's failing schedule with:");
  ASSERT_NE(intro, std::string::npos) << m;
  std::size_t env = m.find("CERAMIC_SIM_REPLAY='" + r.schedule + "' ", intro);
  ASSERT_NE(env, std::string::npos) << m;
  std::size_t eol = m.find('\n', env);
  std::string line = m.substr(env, eol == std::string::npos ? std::string::npos : eol - env);
  EXPECT_TRUE(contains(line, filter)) << line;
  // The in-code alternative is still there, after it.
  EXPECT_TRUE(contains(m, "ceramic::sim::replay(body, \"" + r.schedule + "\")")) << m;
}

TEST(SimGtest, AFailingExpectInAChildProcessFailsTheScheduleAsACheck) {
  sim::Result r = sim::explore(expect_fails_in_child, quick(sim::Strategy::dfs, 100));
  ASSERT_TRUE(r.failed) << "the failing EXPECT_EQ in the child was lost";
  EXPECT_EQ(r.failure, sim::Failure::check) << r.report;
  EXPECT_TRUE(contains(r.report, "GoogleTest assertion failed")) << r.report;
  EXPECT_TRUE(contains(r.report, "the checker wants A's value")) << r.report;
  EXPECT_TRUE(contains(r.report, "checker")) << r.report;
  EXPECT_TRUE(contains(r.report, "gtest_test.cpp:" + std::to_string(kExpectLine))) << r.report;
  // And it replays.
  sim::Result again = sim::replay(expect_fails_in_child, r.schedule);
  CERAMIC_EXPECT_SAME_FAILURE(r, again);
}

TEST(SimGtest, AFailingExpectInMainOfTheBodyFailsTheScheduleAsACheck) {
  sim::Result r = sim::explore(
      [] {
        Chan<int> c;
        Proc a("A", [&] { c.send(1); });
        Proc b("B", [&] { c.send(2); });
        int first = *c.recv();
        c.recv();
        EXPECT_LT(first, 2) << "main wants A first";
      },
      quick(sim::Strategy::dfs, 100));
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::check) << r.report;
  EXPECT_TRUE(contains(r.report, "main wants A first")) << r.report;
  EXPECT_EQ(r.iteration, 1u);
}

TEST(SimGtest, CheckOutsideASimulationThrowsLogicError) {
  EXPECT_FALSE(sim::simulated());
  EXPECT_NO_THROW(sim::check(true, "fine"));
  try {
    sim::check(false, "outside");
    FAIL() << "check(false) did not throw";
  } catch (const std::logic_error& e) {
    EXPECT_TRUE(contains(e.what(), "outside")) << e.what();
    EXPECT_TRUE(contains(e.what(), "gtest_test.cpp:")) << e.what();
  }
}

TEST(SimGtest, SimulatedIsTrueOnlyInsideTheBody) {
  EXPECT_FALSE(sim::simulated());
  CERAMIC_EXPECT_NO_SIM_FAILURE(sim::explore(
      [] {
        sim::check(sim::simulated(), "main of the body");
        Chan<int> c;
        Proc p("P", [&] { c.send(sim::simulated() ? 1 : 0); });
        sim::check(*c.recv() == 1, "a child of the body");
      },
      quick(sim::Strategy::dfs, 10)));
  EXPECT_FALSE(sim::simulated());
}

}  // namespace
