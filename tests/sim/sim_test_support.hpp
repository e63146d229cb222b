// Shared helpers of the simulator tests (ceramic-tests-sim).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

namespace ceramic::simtest {

inline std::string strategy_name(ceramic::sim::Strategy s) {
  switch (s) {
    case ceramic::sim::Strategy::random: return "random";
    case ceramic::sim::Strategy::pct: return "pct";
    case ceramic::sim::Strategy::dfs: return "dfs";
  }
  return "unknown";
}

inline std::string strategy_param_name(const ::testing::TestParamInfo<ceramic::sim::Strategy>& p) {
  return strategy_name(p.param);
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Options for a quick exploration: no progress line, a step timeout that a hang reaches in
// seconds rather than the default ten.
inline ceramic::sim::Options quick(ceramic::sim::Strategy s, std::size_t iterations,
                                   std::uint64_t seed = 0) {
  ceramic::sim::Options o;
  o.strategy = s;
  o.iterations = iterations;
  o.seed = seed;
  o.progress = 0;
  o.step_timeout = std::chrono::milliseconds(5000);
  return o;
}

// ---- programs several suites explore ----

// The seed README's race: A may meet B first, and then nobody receives main's value. The first
// choice has 2 transitions (main or A meets B); the second one deadlocks.
inline void seed_race() {
  ceramic::Chan<int> c;
  ceramic::Proc a("A", [&] { c.send(1); });
  ceramic::Proc b("B", [&] { c.recv(); });
  c.send(2);
  c.recv();
}

// Three senders and one receiver on one channel: 3! = 6 interleavings, none failing.
inline void three_senders() {
  ceramic::Chan<int> c;
  ceramic::Proc a("A", [&] { c.send(1); });
  ceramic::Proc b("B", [&] { c.send(2); });
  ceramic::Proc d("C", [&] { c.send(3); });
  for (int i = 0; i < 3; ++i) c.recv();
}

// Sets CERAMIC_SIM_REPLAY for its lifetime (unset again even when an assertion returns early).
class ReplayEnv {
 public:
  explicit ReplayEnv(const std::string& value) {
    ::setenv(ceramic::sim::kReplayEnv, value.c_str(), 1);
  }
  ~ReplayEnv() { ::unsetenv(ceramic::sim::kReplayEnv); }
  ReplayEnv(const ReplayEnv&) = delete;
  ReplayEnv& operator=(const ReplayEnv&) = delete;
};

// Everything a replay must reproduce of the exploration that found a failure.
#define CERAMIC_EXPECT_SAME_FAILURE(found, again)                                   \
  do {                                                                              \
    EXPECT_TRUE((again).failed) << (again).report;                                  \
    EXPECT_EQ((again).failure, (found).failure) << (again).report;                  \
    EXPECT_EQ((again).schedule, (found).schedule) << (again).report;                \
    EXPECT_EQ((again).steps, (found).steps) << (again).report;                      \
    EXPECT_EQ((again).schedules, 1u);                                               \
  } while (0)

// n pairs of processes, each pair on a channel of its own: n! orders of the pairs, all
// equivalent (with reduction, DFS runs 2^(n-1) schedules).
inline void independent_pairs(int n) {
  std::vector<ceramic::Chan<int>> chans(static_cast<std::size_t>(n));
  std::vector<ceramic::Proc> procs;
  for (int i = 0; i < n; ++i) {
    ceramic::Chan<int> c = chans[static_cast<std::size_t>(i)];
    procs.emplace_back("S" + std::to_string(i), [c, i]() mutable { c.send(i); });
    procs.emplace_back("R" + std::to_string(i), [c, i]() mutable {
      ceramic::sim::check(*c.recv() == i, "a pair received another pair's value");
    });
  }
  for (auto& p : procs) p.join();
}

}  // namespace ceramic::simtest
