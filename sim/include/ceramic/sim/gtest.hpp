// ceramic::sim with GoogleTest: explore inside a test, fail it with the report and the exact
// command that replays the failing interleaving.
//
//   #include <ceramic/sim/gtest.hpp>
//
//   TEST(Pipeline, NeverDeadlocks) {
//     auto pipeline = [] {
//       ceramic::Chan<int> c;
//       ceramic::Proc p([&] { c.send(1); });
//       EXPECT_EQ(*c.recv(), 1);      // assertions in the body fail the schedule
//     };
//     CERAMIC_EXPECT_NO_SIM_FAILURE(
//         ceramic::sim::explore(pipeline, {.strategy = ceramic::sim::Strategy::dfs}));
//   }
//
// Name the body before the macro, as above: g++ gives every line of a lambda written inside a
// macro's argument the macro's line, and the report's source lines would all be that one.
//
// On failure the test's message holds the report and a line such as
//   CERAMIC_SIM_REPLAY='cs2:12' ./tests --gtest_filter=Pipeline.NeverDeadlocks
// which re-runs exactly the failing schedule (explore() replays it instead of exploring).
//
// Including this header also makes GoogleTest assertions that fail inside the simulated body
// (in any process of the tree) fail the schedule, with their message and source line: without
// it they would be lost in a child process.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "ceramic/sim/sim.hpp"

namespace ceramic::sim {

namespace detail {

// Forwards failed assertions of a simulated process to the explorer (as a failed check).
class GtestBridge final : public ::testing::EmptyTestEventListener {
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed() || !simulated()) return;
    std::string msg = r.message() ? r.message() : "";
    check(false, "GoogleTest assertion failed: " + msg,
          Site{r.file_name() ? r.file_name() : "", r.line_number()});
  }
};

inline bool install_gtest_bridge() {
  ::testing::UnitTest::GetInstance()->listeners().Append(new GtestBridge);
  return true;
}
inline const bool gtest_bridge_installed = install_gtest_bridge();

}  // namespace detail

// Success when no failure was found; otherwise the report, with a replay line that selects
// the current test.
inline ::testing::AssertionResult no_failure(const Result& r) {
  if (!r.failed) return ::testing::AssertionSuccess();
  std::string line = r.replay;
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    std::string filter = std::string(" --gtest_filter=") + info->test_suite_name() + "." + info->name();
    std::size_t eol = line.find('\n');
    line.insert(eol == std::string::npos ? line.size() : eol, filter);
  }
  return ::testing::AssertionFailure()
         << "ceramic::sim found a " << to_string(r.failure) << " after " << r.schedules
         << " schedule(s)\n"
         << r.report << "replay this test's failing schedule with:\n  " << line << "\n";
}

}  // namespace ceramic::sim

#define CERAMIC_EXPECT_NO_SIM_FAILURE(result) EXPECT_TRUE(::ceramic::sim::no_failure(result))
#define CERAMIC_ASSERT_NO_SIM_FAILURE(result) ASSERT_TRUE(::ceramic::sim::no_failure(result))
