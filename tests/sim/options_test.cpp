// Options from text: parse_options, CERAMIC_SIM_OPTIONS overriding a program's own options, and
// the ceramic-sim tool that sets them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::seed_race;
using ceramic::simtest::three_senders;
using ceramic::simtest::contains;
using ceramic::simtest::quick;



// Sets an environment variable for its lifetime.
class Env {
 public:
  Env(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~Env() { ::unsetenv(name_); }
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

 private:
  const char* name_;
};

TEST(SimOptions, ParsesEveryField) {
  sim::Options o;
  std::string error;
  ASSERT_TRUE(sim::parse_options(
      "strategy=dfs iterations=123,seed=9 depth=4 unbuffered=1 max_steps=77 time=90s "
      "shard=2/5 workers=3 progress=on step_timeout=500ms max_value_bytes=4096 max_processes=7",
      &o, &error))
      << error;
  EXPECT_EQ(o.strategy, sim::Strategy::dfs);
  EXPECT_EQ(o.iterations, 123u);
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.pct_depth, 4);
  EXPECT_TRUE(o.force_unbuffered);
  EXPECT_EQ(o.max_steps, 77u);
  EXPECT_EQ(o.time_budget, std::chrono::seconds(90));
  EXPECT_EQ(o.shard_index, 2u);
  EXPECT_EQ(o.shard_count, 5u);
  EXPECT_EQ(o.workers, 3u);
  EXPECT_EQ(o.progress, 1);
  EXPECT_EQ(o.step_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(o.max_value_bytes, 4096u);
  EXPECT_EQ(o.max_processes, 7u);
}

TEST(SimOptions, FieldsNotGivenKeepTheirValues) {
  sim::Options o = quick(sim::Strategy::random, 42, 5);
  std::string error;
  ASSERT_TRUE(sim::parse_options("  seed=6  ", &o, &error)) << error;
  EXPECT_EQ(o.strategy, sim::Strategy::random);
  EXPECT_EQ(o.iterations, 42u);
  EXPECT_EQ(o.seed, 6u);
  ASSERT_TRUE(sim::parse_options("", &o, &error)) << error;
  EXPECT_EQ(o.seed, 6u);
}

TEST(SimOptions, BadPairsAreNamedAndChangeNothing) {
  struct Bad {
    const char* spec;
    const char* says;
  };
  const Bad bad[] = {
      {"strategy=bfs", "strategy=bfs: strategy is random, pct or dfs"},
      {"iterations=0", "iterations is a number of schedules"},
      {"iterations=-3", "iterations is a number"},
      {"iterations=12x", "iterations is a number"},
      {"seed=99999999999999999999999", "seed is a non-negative integer"},
      {"depth=0", "depth is PCT's bug depth"},
      {"unbuffered=yes", "unbuffered is 0 or 1"},
      {"time=10", "time is a duration"},
      {"time=5d", "time is a duration"},
      {"time=99999999999h", "time is a duration"},
      {"shard=3/3", "shard is I/N"},
      {"shard=1", "shard is I/N"},
      {"shard=0/0", "shard is I/N"},
      {"shard=/2", "shard is I/N"},
      {"workers=0", "workers is a number of processes"},
      {"progress=maybe", "progress is 0, 1 or auto"},
      {"step_timeout=0s", "step_timeout is a positive duration"},
      {"speed=11", "speed is not an option"},
      {"iterations", "\"iterations\" is not key=value"},
      {"=5", "\"=5\" is not key=value"},
      {"seed=1 strategy=nope", "strategy is random"},
  };
  for (const Bad& b : bad) {
    sim::Options o = quick(sim::Strategy::pct, 10, 1);
    std::string error;
    EXPECT_FALSE(sim::parse_options(b.spec, &o, &error)) << b.spec;
    EXPECT_TRUE(contains(error, b.says)) << b.spec << ": got \"" << error << "\"";
    EXPECT_EQ(o.seed, 1u) << b.spec << ": options changed by a rejected spec";
    EXPECT_EQ(o.strategy, sim::Strategy::pct) << b.spec;
  }
}

TEST(SimOptions, TheEnvironmentOverridesTheProgramsOptions) {
  sim::Result all = sim::explore(three_senders, quick(sim::Strategy::dfs, 1000));
  ASSERT_FALSE(all.failed) << all.report;
  EXPECT_TRUE(all.complete);
  EXPECT_EQ(all.schedules, 6u);
  Env env(sim::kOptionsEnv, "iterations=2");
  sim::Result two = sim::explore(three_senders, quick(sim::Strategy::dfs, 1000));
  EXPECT_FALSE(two.failed) << two.report;
  EXPECT_FALSE(two.complete);
  EXPECT_EQ(two.schedules, 2u);
}

TEST(SimOptions, TheEnvironmentCanSwitchTheStrategy) {
  // random with 1 iteration cannot promise completeness; dfs over the same program does.
  Env env(sim::kOptionsEnv, "strategy=dfs,iterations=100");
  sim::Result r = sim::explore(three_senders, quick(sim::Strategy::random, 1));
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 6u);
}

TEST(SimOptions, AMalformedEnvironmentIsAMisuseFailureThatNamesIt) {
  Env env(sim::kOptionsEnv, "strategy=fast");
  sim::Result r = sim::explore(three_senders, quick(sim::Strategy::dfs, 10));
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::misuse);
  EXPECT_TRUE(contains(r.report, "CERAMIC_SIM_OPTIONS: strategy=fast")) << r.report;
  EXPECT_EQ(r.schedules, 0u);
}

// ---- the ceramic-sim tool ----

// CMake passes the tool's path; a build without the tools (CERAMIC_TOOLS=OFF) has none, and
// the SimTool tests skip.
#ifndef CERAMIC_SIM_TOOL
#define CERAMIC_SIM_TOOL ""
#endif

class SimTool : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(CERAMIC_SIM_TOOL).empty()) {
      GTEST_SKIP() << "ceramic-sim is not built (CERAMIC_TOOLS=OFF)";
    }
  }
};

struct Ran {
  int status = -1;
  std::string out;  // stdout and stderr
};

Ran run(std::vector<std::string> argv) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    ::close(p[0]);
    ::close(p[1]);
    ::unsetenv(sim::kOptionsEnv);
    ::unsetenv(sim::kReplayEnv);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(126);
  }
  ::close(p[1]);
  Ran r;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

TEST_F(SimTool, PutsTheOptionsInTheEnvironmentAndRunsTheProgram) {
  Ran r = run({CERAMIC_SIM_TOOL, "--strategy", "dfs", "--iterations", "500", "--shard", "1/4",
               "--unbuffered", "--", "/usr/bin/env"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "CERAMIC_SIM_OPTIONS=strategy=dfs iterations=500 shard=1/4 unbuffered=1"))
      << r.out;
}

TEST_F(SimTool, ExitsWithTheProgramsStatus) {
  Ran r = run({CERAMIC_SIM_TOOL, "--seed", "3", "--", "/bin/sh", "-c", "exit 7"});
  EXPECT_EQ(r.status, 7) << r.out;
}

TEST_F(SimTool, RejectsBadOptionsBeforeRunningAnything) {
  Ran r = run({CERAMIC_SIM_TOOL, "--shard", "4/4", "--", "/bin/sh", "-c", "echo ran"});
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "ceramic-sim: shard=4/4: shard is I/N")) << r.out;
  EXPECT_FALSE(contains(r.out, "ran\n")) << r.out;
}

TEST_F(SimTool, ReplayDoesNotMixWithExplorationOptions) {
  Ran r = run({CERAMIC_SIM_TOOL, "--replay", "cs2:12", "--seed", "1", "--", "/usr/bin/env"});
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_TRUE(contains(r.out, "--replay runs one schedule")) << r.out;
}

TEST_F(SimTool, SaysWhenItCannotRunTheProgram) {
  Ran r = run({CERAMIC_SIM_TOOL, "--", "/nonexistent/ceramic-program"});
  EXPECT_EQ(r.status, 127) << r.out;
  EXPECT_TRUE(contains(r.out, "cannot run /nonexistent/ceramic-program")) << r.out;
}

// End to end: this very binary, one test, driven by the tool. The test below explores the seed
// race; the tool first replays the schedule that deadlocks (the test must fail), then makes the
// exploration so small that it cannot reach the race (it must pass).
TEST_F(SimTool, DrivesAGoogleTestBinary) {
  const std::string self = "/proc/self/exe";
  char path[4096];
  ssize_t n = ::readlink(self.c_str(), path, sizeof path - 1);
  ASSERT_GT(n, 0);
  path[n] = '\0';
  const std::string filter = "--gtest_filter=SimToolTarget.SeedRaceHasNoFailure";
  sim::Result found = sim::explore(seed_race, quick(sim::Strategy::dfs, 100));
  ASSERT_TRUE(found.failed);
  Ran replayed = run({CERAMIC_SIM_TOOL, "--replay", found.schedule, "--", path, filter});
  EXPECT_NE(replayed.status, 0) << replayed.out;
  EXPECT_TRUE(contains(replayed.out, "deadlock")) << replayed.out;
  // DFS takes the choice where main meets B first, which is fine: one schedule finds nothing.
  Ran one = run({CERAMIC_SIM_TOOL, "--strategy", "dfs", "--iterations", "1", "--", path, filter});
  EXPECT_EQ(one.status, 0) << one.out;
}

// Driven by SimTool.DrivesAGoogleTestBinary; on its own it explores with the default options
// (and finds the race), so it runs only under the tool.
TEST(SimToolTarget, SeedRaceHasNoFailure) {
  if (!std::getenv(sim::kOptionsEnv) && !std::getenv(sim::kReplayEnv)) {
    GTEST_SKIP() << "run by SimTool.DrivesAGoogleTestBinary under ceramic-sim";
  }
  sim::Result r = sim::explore(seed_race, quick(sim::Strategy::pct, 1000));
  EXPECT_FALSE(r.failed) << r.report;
}

}  // namespace
