// ceramic-sim: explores a test binary's simulator scenarios harder, sharded or with workers, or
// replays one schedule, without a rebuild. It checks the options, puts them in the environment
// that explore() reads (CERAMIC_SIM_OPTIONS, CERAMIC_SIM_REPLAY) and execs the program, so the
// exit status is the program's own.
//
//   ceramic-sim --strategy dfs --iterations 100000 -- ./tests --gtest_filter='SeedRace.*'
//   ceramic-sim --shard 3/8 --workers 2 --time 10m -- ./tests      (machine 3 of 8 in CI)
//   ceramic-sim --replay 'cs2:12' -- ./tests --gtest_filter=SeedRace.NeverDeadlocks
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ceramic/sim/sim.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kUsage = 2;        // bad options: nothing was run
constexpr int kExecFailed = 127;  // as a shell says for a command it cannot run

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs a program whose tests call ceramic::sim::explore, with the exploration's "
               "options set from the command line (CERAMIC_SIM_OPTIONS), or replays one schedule "
               "(CERAMIC_SIM_REPLAY).\nExits with the program's status."};
  std::string strategy, iterations, seed, depth, time, shard, workers, max_steps, progress, replay;
  std::string timeouts, fairness, patience, html, junit;
  bool unbuffered = false, coverage = false;
  std::vector<std::string> command;
  app.add_option("--strategy", strategy, "random, pct or dfs")->type_name("S");
  app.add_option("--iterations", iterations, "schedules per exploration")->type_name("N");
  app.add_option("--seed", seed, "seed of random and pct")->type_name("N");
  app.add_option("--depth", depth, "PCT's bug depth")->type_name("D");
  app.add_flag("--unbuffered", unbuffered, "run buffered channels at capacity 0");
  app.add_option("--time", time, "time budget per exploration, e.g. 90s, 10m")->type_name("T");
  app.add_option("--shard", shard, "this machine's share I/N of the iterations")->type_name("I/N");
  app.add_option("--workers", workers, "explorer processes on this machine")->type_name("N");
  app.add_option("--max-steps", max_steps, "transitions per schedule before a runaway")
      ->type_name("N");
  app.add_option("--timeouts", timeouts,
                 "when a blocked timed wait may time out: any (at any point, the default) or idle "
                 "(only when nothing else can happen)")
      ->type_name("any|idle");
  app.add_option("--fairness", fairness, "steps a process may starve before a schedule turns fair")
      ->type_name("N");
  app.add_flag("--coverage", coverage, "print the concurrency coverage table after each exploration");
  app.add_option("--patience", patience,
                 "stop once this many schedules in a row added nothing to the coverage")
      ->type_name("N");
  app.add_option("--html", html,
                 "write the HTML report of a failing exploration to FILE (%n: the scenario, %p: "
                 "the pid)")
      ->type_name("FILE");
  app.add_option("--junit", junit,
                 "write JUnit XML to FILE, a test case per exploration (%n, %p as for --html)")
      ->type_name("FILE");
  app.add_option("--progress", progress, "progress line on stderr: on, off or auto")
      ->type_name("WHEN");
  app.add_option("--replay", replay, "replay this schedule instead of exploring")
      ->type_name("SCHEDULE");
  app.add_option("command", command, "PROGRAM ARGS... (after --)")->required();
  app.positionals_at_end();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kUsage;
  }

  for (const std::string* path : {&html, &junit}) {
    if (path->find_first_of(" ,\t\n") != std::string::npos) {
      std::fprintf(stderr, "ceramic-sim: '%s': a report file name must not contain spaces or commas "
                           "(CERAMIC_SIM_OPTIONS separates options with them)\n", path->c_str());
      return kUsage;
    }
  }
  std::string spec;
  auto add = [&spec](const char* key, const std::string& value) {
    if (value.empty()) return;
    if (!spec.empty()) spec += ' ';
    spec += key;
    spec += '=';
    spec += value;
  };
  add("strategy", strategy);
  add("iterations", iterations);
  add("seed", seed);
  add("depth", depth);
  add("time", time);
  add("shard", shard);
  add("workers", workers);
  add("max_steps", max_steps);
  add("progress", progress);
  add("timeouts", timeouts);
  add("fairness", fairness);
  add("patience", patience);
  add("html", html);
  add("junit", junit);
  if (unbuffered) add("unbuffered", "1");
  if (coverage) add("coverage", "1");

  if (!spec.empty()) {
    ceramic::sim::Options check;
    std::string error;
    if (!ceramic::sim::parse_options(spec, &check, &error)) {
      std::fprintf(stderr, "ceramic-sim: %s\n", error.c_str());
      return kUsage;
    }
    if (!replay.empty()) {
      std::fprintf(stderr, "ceramic-sim: --replay runs one schedule; exploration options do not "
                           "apply to it\n");
      return kUsage;
    }
    ::setenv(ceramic::sim::kOptionsEnv, spec.c_str(), 1);
  }
  if (!replay.empty()) ::setenv(ceramic::sim::kReplayEnv, replay.c_str(), 1);

  std::vector<char*> args;
  for (std::string& a : command) args.push_back(a.data());
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "ceramic-sim: cannot run %s: %s\n", args[0], std::strerror(errno));
  return kExecFailed;
}
