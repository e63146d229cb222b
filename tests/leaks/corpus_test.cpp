// Runs the leak corpus (corpus.hpp). For each kernel:
//   live: `ceramic-run --json F -- ceramic-leak-programs NAME` exits 3 with a report whose
//         blocked threads are exactly at the kernel's `// @leak` lines; `NAME.fix` exits 0 with
//         no report;
//   sim:  explore() with default options (PCT, 1,000 schedules, seed 0) finds the leak
//         (Failure::leak, or Failure::deadlock for Expect::deadlock) at `// @leak` lines, or at
//         `// @may-leak` lines (where the kernel leaks in interleavings the live program does
//         not force), and replaying its schedule fails the same way; on the fix, 1,000 PCT
//         schedules and a bounded DFS find nothing;
// and prints one line per kernel, so that running the executable prints the corpus table:
//   leaks <name>: live: found (LEAK), fix clean; sim: found in N (leak), replayed; fix: ...
// A half that a tool gets wrong (Kernel::needs, fix_needs, live_needs, live_fix_needs) is
// skipped with the reason; the other halves still run. CERAMIC_LEAKS_VERBOSE=1 prints the
// reports of the leaks found.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include <ceramic/sim/sim.hpp>

#include "detector/process_util.hpp"
#include "leaks/corpus.hpp"

#if !defined(CERAMIC_RUN) || !defined(CERAMIC_LEAK_PROGRAMS)
#error "CMake passes the paths of ceramic-run and ceramic-leak-programs"
#endif

namespace {

namespace sim = ceramic::sim;
using ceramic::leaks::Expect;
using ceramic::leaks::Kernel;
using ceramic_test::CommandResult;
using ceramic_test::TempDir;
using nlohmann::json;

constexpr std::chrono::seconds kPatience{60};   // only a hang reaches it

// CERAMIC_LEAKS_VERBOSE=1: print the simulator's and ceramic-run's report of every leak found.
bool verbose() {
  const char* v = std::getenv("CERAMIC_LEAKS_VERBOSE");
  return v != nullptr && *v != '\0' && *v != '0';
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> names;
  for (const Kernel& k : ceramic::leaks::registry()) names.emplace_back(k.name);
  std::sort(names.begin(), names.end());
  return names;
}

const Kernel& kernel_named(const std::string& name) {
  for (const Kernel& k : ceramic::leaks::registry()) {
    if (name == k.name) return k;
  }
  static const Kernel none{};
  ADD_FAILURE() << "no leak kernel named " << name;
  return none;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The lines of the kernel's source that carry `// @<tag>`.
std::set<int> tagged_lines(const Kernel& k, const std::string& tag) {
  std::set<int> lines;
  std::ifstream in(k.source);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto at = line.find("// @" + tag);
    if (at != std::string::npos && line.size() == at + 4 + tag.size()) lines.insert(n);
  }
  return lines;
}

std::string lines_text(const std::set<int>& lines) {
  std::string s;
  for (int l : lines) s += (s.empty() ? "" : ", ") + std::to_string(l);
  return "{" + s + "}";
}

// ---- simulator --------------------------------------------------------------------------------

std::string failure_text(const sim::Result& r) {
  return std::string(sim::to_string(r.failure)) + " in schedule " + std::to_string(r.iteration) +
         "\n" + r.report + "\n" + r.replay + "\n" + r.output;
}

// The lines of `file` at which the failure's blocked processes wait.
std::set<int> sim_lines(const sim::Result& r, const std::string& file) {
  std::set<int> lines;
  if (r.info.graph) {
    for (const auto& s : r.info.graph->stuck) {
      if (basename(s.file) == file) lines.insert(s.line);
    }
  }
  for (const std::string& b : r.info.blocked) {   // "<name> blocked at <file>:<line>"
    auto at = b.rfind(file + ":");
    if (at != std::string::npos) lines.insert(std::stoi(b.substr(at + file.size() + 1)));
  }
  return lines;
}

std::string sim_bug(const Kernel& k, const std::set<int>& marked, const std::set<int>& maybe,
                    std::string* skipped) {
  if (*k.needs != '\0') {
    // Not asserted: whether bounded DFS reaches the bug, for the table.
    sim::Result dfs =
        sim::explore(k.bug, {.strategy = sim::Strategy::dfs, .iterations = k.dfs_iterations});
    *skipped += std::string("sim misses the bug: ") + k.needs + "\n";
    return std::string("skipped (needs) [dfs ") +
           (dfs.failed ? "finds " + std::string(sim::to_string(dfs.failure)) + " in " +
                             std::to_string(dfs.iteration + 1)
                       : std::string("finds nothing after ") + std::to_string(dfs.schedules)) +
           "]";
  }
  const sim::Failure expected =
      k.expect == Expect::leak ? sim::Failure::leak : sim::Failure::deadlock;
  sim::Result bug = sim::explore(k.bug, {});
  EXPECT_TRUE(bug.failed) << "the leak was not found in " << bug.schedules << " schedules";
  if (!bug.failed) return "NOT FOUND";
  EXPECT_EQ(bug.failure, expected) << failure_text(bug);
  // The schedule found may be any that leaks: at `// @leak` lines, or `// @may-leak` ones.
  std::set<int> at = sim_lines(bug, basename(k.source));
  std::set<int> allowed = marked;
  allowed.insert(maybe.begin(), maybe.end());
  EXPECT_FALSE(at.empty()) << "the report names no line of " << k.source << "\n" << failure_text(bug);
  EXPECT_TRUE(std::includes(allowed.begin(), allowed.end(), at.begin(), at.end()))
      << "blocked at " << lines_text(at) << ", the // @leak and // @may-leak lines are "
      << lines_text(allowed) << "\n" << failure_text(bug);
  if (verbose()) std::printf("%s: the simulator's report\n%s\n", k.name, bug.report.c_str());
  sim::Result again = sim::replay(k.bug, bug.schedule);
  EXPECT_TRUE(again.failed) << "the replay of " << bug.schedule << " did not fail";
  EXPECT_EQ(again.failure, bug.failure) << "found: " << failure_text(bug)
                                        << "\nreplayed: " << failure_text(again);
  return "found in " + std::to_string(bug.iteration + 1) + " (" + sim::to_string(bug.failure) +
         "), " + (again.failed && again.failure == bug.failure ? "replayed" : "NOT REPLAYED");
}

std::string sim_fix(const Kernel& k, std::string* skipped) {
  if (*k.fix_needs != '\0') {
    *skipped += std::string("sim false alarm on the fix: ") + k.fix_needs + "\n";
    return "skipped (fix_needs)";
  }
  sim::Result pct = sim::explore(k.fix, {});
  EXPECT_FALSE(pct.failed) << "fix, pct: " << failure_text(pct);
  sim::Result dfs =
      sim::explore(k.fix, {.strategy = sim::Strategy::dfs, .iterations = k.dfs_iterations});
  EXPECT_FALSE(dfs.failed) << "fix, dfs: " << failure_text(dfs);
  if (pct.failed || dfs.failed) return "FALSE ALARM";
  return std::to_string(pct.schedules) + " pct ok, dfs " +
         (dfs.complete ? "complete" : "incomplete") + " after " + std::to_string(dfs.schedules);
}

// ---- ceramic-run ------------------------------------------------------------------------------

struct LiveRun {
  CommandResult result;
  json report;   // the --json report; null if none was written
};

LiveRun run_live(const TempDir& dir, const std::string& program) {
  LiveRun run;
  const std::string json_path = dir.file(program + ".json");
  run.result = ceramic_test::run_command(
      {CERAMIC_RUN, "--json", json_path, "--", CERAMIC_LEAK_PROGRAMS, program}, kPatience);
  if (ceramic_test::file_exists(json_path)) {
    try {
      run.report = json::parse(ceramic_test::read_file(json_path));
    } catch (const json::exception& e) {
      ADD_FAILURE() << "ceramic-run wrote JSON that does not parse: " << e.what();
    }
  }
  return run;
}

std::string describe(const LiveRun& run) {
  return "ceramic-run exited " + std::to_string(run.result.status) + " after " +
         std::to_string(run.result.seconds) + " s" + (run.result.timed_out ? " (TIMED OUT)" : "") +
         "\nstderr:\n" + run.result.err + "\nstdout:\n" + run.result.out;
}

std::string live_bug(const Kernel& k, const std::set<int>& marked, std::string* skipped) {
  if (*k.live_needs != '\0') {
    *skipped += std::string("ceramic-run misses the bug: ") + k.live_needs + "\n";
    return "skipped (live_needs)";
  }
  TempDir dir;
  LiveRun run = run_live(dir, k.name);
  EXPECT_FALSE(run.result.timed_out) << describe(run);
  EXPECT_EQ(run.result.status, 3) << describe(run);
  if (run.result.status != 3 || run.report.is_null()) {
    ADD_FAILURE() << "no report\n" << describe(run);
    return "NOT FOUND";
  }
  if (verbose()) std::printf("%s: ceramic-run's report\n%s\n", k.name, run.result.err.c_str());
  // A leak is reported when the program ends; a worker whose every partner is already gone
  // may be reported before, while the program runs, as a deadlock (the live case).
  const bool leak = run.report.value("leak", false);
  std::set<int> at;
  const std::string file = basename(k.source);
  for (const json& s : run.report.at("stuck")) {
    if (basename(s.at("site").at("file").get<std::string>()) == file) {
      at.insert(s.at("site").at("line").get<int>());
    }
  }
  EXPECT_EQ(at, marked) << "blocked at " << lines_text(at) << ", the // @leak lines are "
                        << lines_text(marked) << "\n" << describe(run);
  return std::string("found (") + (leak ? "LEAK" : "DEADLOCK") + ")" +
         (at == marked ? "" : " AT OTHER LINES");
}

std::string live_fix(const Kernel& k, std::string* skipped) {
  if (*k.live_fix_needs != '\0') {
    *skipped += std::string("ceramic-run false alarm on the fix: ") + k.live_fix_needs + "\n";
    return "skipped (live_fix_needs)";
  }
  TempDir dir;
  LiveRun run = run_live(dir, std::string(k.name) + ".fix");
  EXPECT_FALSE(run.result.timed_out) << describe(run);
  EXPECT_EQ(run.result.status, 0) << describe(run);
  const bool reported = run.result.err.find("LEAK") != std::string::npos ||
                        run.result.err.find("DEADLOCK") != std::string::npos;
  EXPECT_FALSE(reported) << describe(run);
  return run.result.status == 0 && !reported ? "clean" : "FALSE ALARM";
}

class Leaks : public ::testing::TestWithParam<std::string> {};

TEST_P(Leaks, LeakIsFoundLiveAndBySimFixIsSilent) {
  const Kernel& k = kernel_named(GetParam());
  ASSERT_NE(k.bug, nullptr);
  ASSERT_NE(k.fix, nullptr);
  const std::set<int> marked = tagged_lines(k, "leak");
  const std::set<int> maybe = tagged_lines(k, "may-leak");
  ASSERT_FALSE(marked.empty()) << "no `// @leak` line in " << k.source;
  std::string skipped;   // why a half was not run

  const auto started = std::chrono::steady_clock::now();
  const std::string live = live_bug(k, marked, &skipped);
  const std::string live_ok = live_fix(k, &skipped);
  if (verbose()) std::printf("%s: live %.1f s\n", k.name, seconds_since(started));
  const std::string found = sim_bug(k, marked, maybe, &skipped);
  if (verbose()) std::printf("%s: live + sim bug %.1f s\n", k.name, seconds_since(started));
  const std::string silent = sim_fix(k, &skipped);
  if (verbose()) std::printf("%s: %.1f s\n", k.name, seconds_since(started));
  std::printf("leaks %s: live: %s, fix %s; sim: %s; fix: %s\n", k.name, live.c_str(),
              live_ok.c_str(), found.c_str(), silent.c_str());
  std::fflush(stdout);
  if (!skipped.empty()) GTEST_SKIP() << skipped;
}

INSTANTIATE_TEST_SUITE_P(Corpus, Leaks, ::testing::ValuesIn(kernel_names()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
