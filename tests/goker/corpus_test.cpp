// Runs the GoKer corpus (corpus.hpp): for each kernel,
//   bug: explore() with default options (PCT, 1,000 schedules, seed 0) fails, and replaying
//        the failing schedule fails the same way;
//   fix: 1,000 PCT schedules and a bounded DFS find nothing.
// and prints one line per kernel, so that running the executable prints the corpus table:
//   goker <name>: found in N schedules, replayed; fix: 1000 pct ok, dfs complete after M
// A kernel whose bug needs a model change the simulator does not have yet (Kernel::needs) runs
// its fix and skips its bug with the reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <ceramic/sim/sim.hpp>

#include "goker/corpus.hpp"

namespace {

namespace sim = ceramic::sim;
using ceramic::goker::Kernel;

std::vector<std::string> kernel_names() {
  std::vector<std::string> names;
  for (const Kernel& k : ceramic::goker::registry()) names.emplace_back(k.name);
  std::sort(names.begin(), names.end());
  return names;
}

const Kernel& kernel_named(const std::string& name) {
  for (const Kernel& k : ceramic::goker::registry()) {
    if (name == k.name) return k;
  }
  static const Kernel none{};
  ADD_FAILURE() << "no GoKer kernel named " << name;
  return none;
}

std::string failure_text(const sim::Result& r) {
  return std::string(sim::to_string(r.failure)) + " in schedule " + std::to_string(r.iteration) +
         "\n" + r.report + "\n" + r.replay + "\n" + r.output;
}

class Goker : public ::testing::TestWithParam<std::string> {};

TEST_P(Goker, BugIsFoundAndReplayedFixIsSilent) {
  const Kernel& k = kernel_named(GetParam());
  ASSERT_NE(k.bug, nullptr);
  ASSERT_NE(k.fix, nullptr);

  sim::Result fix_pct = sim::explore(k.fix, {});
  ASSERT_FALSE(fix_pct.failed) << "fix, pct: " << failure_text(fix_pct);
  sim::Result fix_dfs =
      sim::explore(k.fix, {.strategy = sim::Strategy::dfs, .iterations = k.dfs_iterations});
  ASSERT_FALSE(fix_dfs.failed) << "fix, dfs: " << failure_text(fix_dfs);
  std::string fix_line = "fix: " + std::to_string(fix_pct.schedules) + " pct ok, dfs " +
                         (fix_dfs.complete ? "complete" : "incomplete") + " after " +
                         std::to_string(fix_dfs.schedules);

  if (*k.needs != '\0') {
    std::printf("goker %s: needs %s; %s\n", k.name, k.needs, fix_line.c_str());
    std::fflush(stdout);
    GTEST_SKIP() << "the bug needs a model change: " << k.needs;
  }

  sim::Result bug = sim::explore(k.bug, {});
  ASSERT_TRUE(bug.failed) << "the bug was not found in " << bug.schedules << " schedules";
  sim::Result again = sim::replay(k.bug, bug.schedule);
  ASSERT_TRUE(again.failed) << "the replay of " << bug.schedule << " did not fail";
  EXPECT_EQ(again.failure, bug.failure) << "found: " << failure_text(bug)
                                        << "\nreplayed: " << failure_text(again);
  std::printf("goker %s: found in %zu schedules (%s), replayed; %s\n", k.name,
              bug.iteration + 1, sim::to_string(bug.failure), fix_line.c_str());
  std::fflush(stdout);
}

INSTANTIATE_TEST_SUITE_P(Corpus, Goker, ::testing::ValuesIn(kernel_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
