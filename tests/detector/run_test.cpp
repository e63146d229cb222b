// ceramic detector — ceramic-run and ceramic-trace on real multi-process programs.
//
// Each test runs `ceramic-run --json F --dot G -- ceramic-test-scenarios NAME` (scenarios.cpp).
// A deadlock scenario blocks forever by construction: ceramic-run must exit 3 and its JSON
// must name the stuck processes, the channels and the source lines (found by the `// @line`
// markers in scenarios.cpp). A healthy scenario blocks a lot but always completes: ceramic-run
// must exit 0 and report nothing. Every run is bounded by kPatience, a limit only a hang
// reaches; no test relies on timing to pass.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "process_util.hpp"

#if !defined(CERAMIC_RUN) || !defined(CERAMIC_TRACE_TOOL) || !defined(CERAMIC_SCENARIOS) || \
    !defined(CERAMIC_SCENARIOS_SOURCE)
#error "CMake passes the paths of ceramic-run, ceramic-trace and the scenarios program"
#endif

namespace ceramic_test {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kPatience{60};
constexpr const char* kMainName = "ceramic-test-scenarios";  // the root process's name

// `// @line NAME` markers of scenarios.cpp: NAME -> line number.
const std::map<std::string, int>& markers() {
  static const std::map<std::string, int> m = [] {
    std::map<std::string, int> out;
    std::ifstream in(CERAMIC_SCENARIOS_SOURCE);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      auto at = line.find("// @line ");
      if (at != std::string::npos) out[line.substr(at + 9)] = n;
    }
    return out;
  }();
  return m;
}

int line_of(const std::string& marker) {
  auto it = markers().find(marker);
  if (it == markers().end()) {
    ADD_FAILURE() << "no `// @line " << marker << "` in " << CERAMIC_SCENARIOS_SOURCE;
    return -1;
  }
  return it->second;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

struct ScenarioRun {
  CommandResult result;
  std::string json_path, dot_path, trace_path;
  json report;  // parsed --json output; null if none was written
};

// ceramic-run [extra...] --json F --dot G -- scenarios NAME
ScenarioRun run_scenario(const TempDir& dir, const std::string& scenario,
                 std::vector<std::string> extra = {}) {
  ScenarioRun run;
  run.json_path = dir.file(scenario + ".json");
  run.dot_path = dir.file(scenario + ".dot");
  std::vector<std::string> argv = {CERAMIC_RUN};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"--json", run.json_path, "--dot", run.dot_path, "--", CERAMIC_SCENARIOS,
                           scenario});
  run.result = run_command(argv, kPatience);
  if (file_exists(run.json_path)) {
    std::string text = read_file(run.json_path);
    try {
      run.report = json::parse(text);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "ceramic-run wrote JSON that does not parse (" << e.what() << "):\n" << text;
    }
  }
  return run;
}

std::string describe(const ScenarioRun& run) {
  return "ceramic-run exited " + std::to_string(run.result.status) + " after " +
         std::to_string(run.result.seconds) + " s" + (run.result.timed_out ? " (TIMED OUT)" : "") +
         "\nstderr:\n" + run.result.err + "\nstdout:\n" + run.result.out;
}

// The stuck thread entries of a report, by process name.
std::map<std::string, json> stuck_by_name(const json& report) {
  std::map<std::string, json> out;
  for (const json& s : report.at("stuck")) out[s.at("name").get<std::string>()] = s;
  return out;
}

void expect_site(const json& stuck, const std::string& marker) {
  EXPECT_TRUE(ends_with(stuck.at("site").at("file").get<std::string>(), "scenarios.cpp"))
      << stuck.dump(2);
  EXPECT_EQ(stuck.at("site").at("line").get<int>(), line_of(marker)) << stuck.dump(2);
}

// The channels of a report, by the line that made them.
std::set<int> channel_lines(const json& report) {
  std::set<int> out;
  for (const json& c : report.at("channels")) {
    if (c.contains("created")) out.insert(c.at("created").at("line").get<int>());
  }
  return out;
}

// A deadlock run: exit 3, a parsed report, the text on stderr, a DOT file Graphviz accepts.
void expect_deadlock(const ScenarioRun& run) {
  ASSERT_FALSE(run.result.timed_out) << describe(run);
  ASSERT_EQ(run.result.status, 3) << describe(run);
  ASSERT_FALSE(run.report.is_null()) << "no JSON report\n" << describe(run);
  EXPECT_TRUE(run.report.at("deadlock").get<bool>());
  EXPECT_NE(run.result.err.find("ceramic: DEADLOCK"), std::string::npos) << describe(run);
  EXPECT_NE(run.result.err.find("killed the process tree"), std::string::npos) << describe(run);
  ASSERT_TRUE(file_exists(run.dot_path)) << describe(run);
  if (on_path("dot")) {
    CommandResult dot = run_command({"dot", "-Tsvg", run.dot_path, "-o", run.dot_path + ".svg"},
                                    kPatience);
    EXPECT_EQ(dot.status, 0) << dot.err;
    EXPECT_EQ(dot.err, "") << "Graphviz warned about the DOT";
  }
  std::cerr << "[          ] deadlock found and reported in " << run.result.seconds << " s\n";
}

void expect_healthy(const ScenarioRun& run) {
  ASSERT_FALSE(run.result.timed_out) << describe(run);
  EXPECT_EQ(run.result.status, 0) << describe(run);
  EXPECT_EQ(run.result.err.find("DEADLOCK"), std::string::npos) << describe(run);
  EXPECT_EQ(run.result.err.find("LEAK"), std::string::npos) << describe(run);
  EXPECT_FALSE(file_exists(run.json_path)) << "a report was written:\n"
                                           << read_file(run.json_path);
  EXPECT_FALSE(file_exists(run.dot_path));
}

// ---------------------------------------------------------------------------------------------
// Deadlocks: reported, explained, killed.

TEST(CeramicRunDeadlock, SeedRaceAfterAMetBIsReported) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "seed_race");
  expect_deadlock(run);
  if (HasFatalFailure()) return;
  const json& r = run.report;
  EXPECT_EQ(r.at("kind"), "no live peer");
  ASSERT_EQ(r.at("stuck").size(), 1u) << r.dump(2);
  const json& main = r.at("stuck")[0];
  EXPECT_EQ(main.at("name"), kMainName);
  EXPECT_EQ(main.at("op"), "send");
  expect_site(main, "seed_race.block");
  ASSERT_EQ(main.at("waits").size(), 1u);
  const json& wait = main.at("waits")[0];
  EXPECT_EQ(wait.at("channel").at("created").at("line").get<int>(), line_of("seed_race.chan"));
  std::map<std::string, json> others;
  for (const json& p : wait.at("others")) others[p.at("name").get<std::string>()] = p;
  ASSERT_TRUE(others.count("A") && others.count("B")) << wait.dump(2);
  EXPECT_EQ(others["A"].at("state"), "exited");
  EXPECT_EQ(others["B"].at("state"), "exited");
  // Their last rendezvous: with each other, at their own lines.
  EXPECT_EQ(others["A"].at("site").at("line").get<int>(), line_of("seed_race.a"));
  EXPECT_EQ(others["B"].at("site").at("line").get<int>(), line_of("seed_race.b"));
  EXPECT_EQ(others["A"].at("last_peer").at("name"), "B");
  EXPECT_EQ(others["B"].at("last_peer").at("name"), "A");
  EXPECT_NE(run.result.err.find("no one can ever receive"), std::string::npos) << describe(run);
}

TEST(CeramicRunDeadlock, TwoProcessesReceivingFromEachOtherAreReported) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "cycle");
  expect_deadlock(run);
  if (HasFatalFailure()) return;
  const json& r = run.report;
  EXPECT_EQ(r.at("kind"), "cycle");
  auto stuck = stuck_by_name(r);
  ASSERT_TRUE(stuck.count("P") && stuck.count("Q") && stuck.count(kMainName)) << r.dump(2);
  EXPECT_EQ(stuck["P"].at("op"), "recv");
  expect_site(stuck["P"], "cycle.p");
  EXPECT_EQ(stuck["Q"].at("op"), "recv");
  expect_site(stuck["Q"], "cycle.q");
  EXPECT_EQ(stuck[kMainName].at("op"), "join");
  expect_site(stuck[kMainName], "cycle.join");
  EXPECT_EQ(stuck[kMainName].at("join").at("name"), "P");
  EXPECT_EQ(channel_lines(r), (std::set<int>{line_of("cycle.p_to_q"), line_of("cycle.q_to_p")}));
  ASSERT_FALSE(r.at("cycles").empty());
  // P and Q are on one cycle.
  bool together = false;
  const auto p_pid = stuck["P"].at("pid").get<int>(), q_pid = stuck["Q"].at("pid").get<int>();
  for (const json& c : r.at("cycles")) {
    auto pids = c.get<std::vector<int>>();
    std::set<int> s(pids.begin(), pids.end());
    together = together || (s.count(p_pid) && s.count(q_pid));
  }
  EXPECT_TRUE(together) << r.at("cycles").dump();
}

TEST(CeramicRunDeadlock, ParentJoiningAChildThatWaitsForItIsReported) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "join_cycle");
  expect_deadlock(run);
  if (HasFatalFailure()) return;
  const json& r = run.report;
  EXPECT_EQ(r.at("kind"), "cycle");
  auto stuck = stuck_by_name(r);
  ASSERT_TRUE(stuck.count("child") && stuck.count(kMainName)) << r.dump(2);
  EXPECT_EQ(stuck[kMainName].at("op"), "join");
  expect_site(stuck[kMainName], "join_cycle.join");
  EXPECT_EQ(stuck[kMainName].at("join").at("name"), "child");
  EXPECT_EQ(stuck["child"].at("op"), "recv");
  expect_site(stuck["child"], "join_cycle.child");
  EXPECT_EQ(channel_lines(r), (std::set<int>{line_of("join_cycle.chan")}));
}

TEST(CeramicRunDeadlock, KnotOfThreeSelectingProcessesIsReported) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "knot3");
  expect_deadlock(run);
  if (HasFatalFailure()) return;
  const json& r = run.report;
  auto stuck = stuck_by_name(r);
  for (const char* k : {"K1", "K2", "K3"}) {
    ASSERT_TRUE(stuck.count(k)) << k << " missing:\n" << r.dump(2);
    EXPECT_EQ(stuck[k].at("op"), "select");
    expect_site(stuck[k], "knot3.select");
    ASSERT_EQ(stuck[k].at("waits").size(), 2u) << stuck[k].dump(2);
    for (const json& w : stuck[k].at("waits")) {
      EXPECT_EQ(w.at("op"), "recv");
      for (const json& p : w.at("others")) EXPECT_EQ(p.at("state"), "stuck") << w.dump(2);
    }
  }
  ASSERT_TRUE(stuck.count(kMainName));
  expect_site(stuck[kMainName], "knot3.join");
  EXPECT_EQ(channel_lines(r),
            (std::set<int>{line_of("knot3.c12"), line_of("knot3.c13"), line_of("knot3.c23")}));
}

TEST(CeramicRunDeadlock, SelectOnTwoChannelsWhosePeersExitedIsReported) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "select_dead_ends");
  expect_deadlock(run);
  if (HasFatalFailure()) return;
  const json& r = run.report;
  EXPECT_EQ(r.at("kind"), "no live peer");
  ASSERT_EQ(r.at("stuck").size(), 1u) << r.dump(2);
  const json& main = r.at("stuck")[0];
  EXPECT_EQ(main.at("name"), kMainName);
  EXPECT_EQ(main.at("op"), "select");
  expect_site(main, "select_dead_ends.block");
  ASSERT_EQ(main.at("waits").size(), 2u);
  // X and Y both inherited both channels; both exited after their one rendezvous with main.
  std::set<int> lines;
  for (const json& w : main.at("waits")) {
    EXPECT_EQ(w.at("op"), "recv");
    lines.insert(w.at("channel").at("created").at("line").get<int>());
    std::map<std::string, json> others;
    for (const json& p : w.at("others")) others[p.at("name").get<std::string>()] = p;
    ASSERT_TRUE(others.count("X") && others.count("Y")) << w.dump(2);
    EXPECT_EQ(others["X"].at("state"), "exited");
    EXPECT_EQ(others["Y"].at("state"), "exited");
    EXPECT_EQ(others["X"].at("site").at("line").get<int>(), line_of("select_dead_ends.x"));
    EXPECT_EQ(others["Y"].at("site").at("line").get<int>(), line_of("select_dead_ends.y"));
    EXPECT_EQ(others["X"].at("last_peer").at("name"), kMainName);
  }
  EXPECT_EQ(lines, (std::set<int>{line_of("select_dead_ends.c1"), line_of("select_dead_ends.c2")}));
}

// ---------------------------------------------------------------------------------------------
// Leaks: reported when the program ends, at the blocked operation's line, exit 3.

void expect_leak(const ScenarioRun& run, const std::string& scenario) {
  ASSERT_FALSE(run.result.timed_out) << describe(run);
  ASSERT_EQ(run.result.status, 3) << describe(run);
  EXPECT_NE(run.result.err.find("ceramic: LEAK"), std::string::npos) << describe(run);
  ASSERT_FALSE(run.report.is_null()) << "no JSON report\n" << describe(run);
  EXPECT_TRUE(run.report.at("leak").get<bool>());
  std::map<std::string, json> stuck = stuck_by_name(run.report);
  ASSERT_EQ(stuck.size(), 1u) << run.report.dump(2);
  ASSERT_TRUE(stuck.count("worker")) << run.report.dump(2);
  expect_site(stuck["worker"], scenario + ".block");
  EXPECT_EQ(channel_lines(run.report), (std::set<int>{line_of(scenario + ".chan")}));
  ASSERT_TRUE(file_exists(run.dot_path)) << describe(run);
}

TEST(CeramicRunLeak, LocalProcEndedWhileItsChildWaitsOnItsOwnChannel) {
  TempDir dir;
  expect_leak(run_scenario(dir, "leak_local_proc"), "leak_local_proc");
}

TEST(CeramicRunLeak, MainReturnsWhileAWorkerWaitsInSend) {
  TempDir dir;
  expect_leak(run_scenario(dir, "leak_main_returns"), "leak_main_returns");
}

TEST(CeramicRunLeak, OnlyOtherHolderIsAnUnrelatedBackgroundProcess) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "leak_unrelated_holder");
  expect_leak(run, "leak_unrelated_holder");
  // The report says what became of the background process that held the channel.
  EXPECT_NE(run.result.err.find("background"), std::string::npos) << describe(run);
}

TEST(CeramicRunLeak, RangeForOverAChannelNeverClosedIsReportedAtTheLoopsLine) {
  TempDir dir;
  expect_leak(run_scenario(dir, "leak_range_for"), "leak_range_for");
}

TEST(CeramicRunLeak, WarnKeepsTheProgramsStatusAndStillReports) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "leak_local_proc", {"--leaks=warn"});
  EXPECT_EQ(run.result.status, 0) << describe(run);
  EXPECT_NE(run.result.err.find("ceramic: LEAK"), std::string::npos) << describe(run);
}

TEST(CeramicRunLeak, OffReportsNothing) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "leak_main_returns", {"--leaks=off"});
  EXPECT_EQ(run.result.status, 0) << describe(run);
  EXPECT_EQ(run.result.err.find("LEAK"), std::string::npos) << describe(run);
  EXPECT_FALSE(file_exists(run.json_path));
}

TEST(CeramicRunLeak, ExplicitKillOfABlockedChildIsIntentNotALeak) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "kill_blocked_child"));
}

TEST(CeramicRunLeak, WorkersReleasedByCloseThenDestroyedAreNotLeaks) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "close_then_destroy"));
}

TEST(CeramicRunLeak, LongRunningWorkersReleasedByCloseBeforeTheEndAreNotLeaks) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "long_running_close"));
}

TEST(CeramicRunLeak, ChildHangingOutsideCeramicAbandonedAfterADeadlineIsNotALeak) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "hang_outside_ceramic"));
}

#ifdef CERAMIC_EXAMPLE_ISOLATE_HANG
TEST(CeramicRunLeak, IsolateHangExampleIsNotALeak) {
  CommandResult r = run_command({CERAMIC_RUN, "--", CERAMIC_EXAMPLE_ISOLATE_HANG}, kPatience);
  ASSERT_FALSE(r.timed_out) << r.err;
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("LEAK"), std::string::npos) << r.err;
}
#endif

// ---------------------------------------------------------------------------------------------
// Healthy programs: never reported, their own exit status.

TEST(CeramicRunHealthy, PingPongTenThousandTimes) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "pingpong"));
}

TEST(CeramicRunHealthy, PipelineOfFourProcessesWithClose) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "pipeline"));
}

TEST(CeramicRunHealthy, WorkerPoolWithSelectAndAQuitChannel) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "worker_pool"));
}

TEST(CeramicRunHealthy, LongRecvTimeoutsThatEventuallySucceed) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "recv_timeouts"));
}

TEST(CeramicRunHealthy, ProcessSleepingBeforeItAnswers) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "slow_answer"));
}

TEST(CeramicRunHealthy, ThreadBlockedInReadServesTheMainThread) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "pipe_thread"));
}

TEST(CeramicRunHealthy, ThreadThatUsedCeramicBlockedInReadServesTheMainThread) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "pipe_thread_known"));
}

// A Proc holds every channel its parent held from the moment of the fork, not only from when
// its body starts to run.
TEST(CeramicRunHealthy, ChildThatStartsSlowlyAlreadyHoldsItsParentsChannels) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "slow_child_start"));
}

// A short interval makes the watchdog look far more often than the program's blocking
// operations last: still nothing may be reported.
TEST(CeramicRunHealthy, WorkerPoolWatchedEveryTenMilliseconds) {
  TempDir dir;
  expect_healthy(run_scenario(dir, "worker_pool", {"--interval", "10"}));
}

// ---------------------------------------------------------------------------------------------
// Exit statuses

TEST(CeramicRunStatus, ProgramExitStatusIsPassedThrough) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "exit7");
  ASSERT_FALSE(run.result.timed_out);
  EXPECT_EQ(run.result.status, 7) << describe(run);
  EXPECT_FALSE(file_exists(run.json_path));
}

TEST(CeramicRunStatus, ProgramKilledBySignalGives128PlusSignal) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "killed");
  ASSERT_FALSE(run.result.timed_out);
  EXPECT_EQ(run.result.status, 128 + SIGKILL) << describe(run);
}

TEST(CeramicRunStatus, UnknownScenarioExitsWithItsUsageStatus) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "no_such_scenario");
  ASSERT_FALSE(run.result.timed_out);
  EXPECT_EQ(run.result.status, 2) << describe(run);
}

TEST(CeramicRunStatus, ProgramThatCannotBeStartedGives127) {
  CommandResult r = run_command({CERAMIC_RUN, "--", "/nonexistent/program"}, kPatience);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 127) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/program"), std::string::npos) << r.err;
}

TEST(CeramicRunStatus, NoProgramIsAToolFailure) {
  CommandResult r = run_command({CERAMIC_RUN}, kPatience);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 125) << r.err;
}

TEST(CeramicRunStatus, ExistingTraceFileIsRefused) {
  TempDir dir;
  const std::string trace = dir.file("exists.trace");
  std::ofstream(trace) << "x";
  CommandResult r =
      run_command({CERAMIC_RUN, "--trace", trace, "--", CERAMIC_SCENARIOS, "exit7"}, kPatience);
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 125) << r.err;
  EXPECT_EQ(read_file(trace), "x");  // untouched
}

// A program that truncates the trace file under the watchdog: ceramic-run reads it with
// pread, says once that it cannot, and passes the program's status through (it used to die
// of SIGBUS, 128 + 7, reading a mapping past the new end of the file).
TEST(CeramicRunStatus, TraceTruncatedByTheProgramIsReportedOnceNotACrash) {
  TempDir dir;
  ScenarioRun run = run_scenario(dir, "shrink_trace", {"--interval", "10"});
  ASSERT_FALSE(run.result.timed_out);
  EXPECT_EQ(run.result.status, 0) << describe(run);
  const std::string& err = run.result.err;
  const std::string what = "shrank to 0 bytes";
  auto at = err.find(what);
  EXPECT_NE(at, std::string::npos) << err;
  if (at != std::string::npos) {
    EXPECT_EQ(err.find(what, at + 1), std::string::npos) << "said more than once:\n" << err;
  }
}

// ---------------------------------------------------------------------------------------------
// The kept trace, read by ceramic-trace

struct TraceRun {
  ScenarioRun run;
  std::string trace;
};

TraceRun run_with_trace(const TempDir& dir, const std::string& scenario) {
  TraceRun t;
  t.trace = dir.file(scenario + ".trace");
  t.run = run_scenario(dir, scenario, {"--trace", t.trace});
  return t;
}

CommandResult ceramic_trace(std::vector<std::string> args) {
  args.insert(args.begin(), CERAMIC_TRACE_TOOL);
  return run_command(args, kPatience);
}

void expect_chrome_json(const std::string& text) {
  json j;
  ASSERT_NO_THROW(j = json::parse(text)) << text.substr(0, 2000);
  ASSERT_TRUE(j.contains("traceEvents")) << text.substr(0, 2000);
  const json& events = j.at("traceEvents");
  ASSERT_TRUE(events.is_array());
  ASSERT_FALSE(events.empty());
  std::set<std::string> phases;
  for (const json& e : events) {
    ASSERT_TRUE(e.contains("ph") && e.contains("pid")) << e.dump();
    phases.insert(e.at("ph").get<std::string>());
    if (e.at("ph") == "X") {
      EXPECT_TRUE(e.contains("ts") && e.contains("dur")) << e.dump();
      EXPECT_GE(e.at("dur").get<double>(), 0.0) << e.dump();
    }
  }
  EXPECT_TRUE(phases.count("M")) << "no track names";
  EXPECT_TRUE(phases.count("X")) << "no blocked intervals";
  EXPECT_TRUE(phases.count("i")) << "no instant events";
}

TEST(CeramicTrace, DeadlockTraceDumpsChromeExportsAndAnalyzesAsDeadlocked) {
  TempDir dir;
  TraceRun t = run_with_trace(dir, "seed_race");
  expect_deadlock(t.run);
  ASSERT_TRUE(file_exists(t.trace)) << describe(t.run);
  EXPECT_NE(t.run.result.err.find(t.trace), std::string::npos) << "the report names the trace";

  CommandResult dump = ceramic_trace({"dump", t.trace});
  ASSERT_EQ(dump.status, 0) << dump.err;
  for (const char* part : {"threads:", "channels:", "events (oldest first):", "A (pid", "B (pid",
                           "blocked  send", "rendezvous", "exited"}) {
    EXPECT_NE(dump.out.find(part), std::string::npos) << part << " missing:\n" << dump.out;
  }

  const std::string chrome_path = dir.file("chrome.json");
  CommandResult chrome = ceramic_trace({"chrome", t.trace, "-o", chrome_path});
  ASSERT_EQ(chrome.status, 0) << chrome.err;
  expect_chrome_json(read_file(chrome_path));
  CommandResult chrome_stdout = ceramic_trace({"chrome", t.trace});
  ASSERT_EQ(chrome_stdout.status, 0) << chrome_stdout.err;
  EXPECT_EQ(chrome_stdout.out, read_file(chrome_path));

  const std::string json_path = dir.file("analyze.json"), dot_path = dir.file("analyze.dot");
  CommandResult analyze =
      ceramic_trace({"analyze", t.trace, "--json", json_path, "--dot", dot_path});
  EXPECT_EQ(analyze.status, 3) << analyze.out << analyze.err;
  EXPECT_NE(analyze.out.find("(no live peer)"), std::string::npos) << analyze.out;
  json offline = json::parse(read_file(json_path));
  ASSERT_EQ(offline.at("stuck").size(), 1u);
  EXPECT_EQ(offline.at("stuck")[0].at("site").at("line").get<int>(), line_of("seed_race.block"));
  EXPECT_EQ(offline.at("stuck")[0].at("pid"), t.run.report.at("stuck")[0].at("pid"));
  EXPECT_TRUE(file_exists(dot_path));
}

TEST(CeramicTrace, HealthyTraceAnalyzesClean) {
  TempDir dir;
  TraceRun t = run_with_trace(dir, "pipeline");
  expect_healthy(t.run);
  ASSERT_TRUE(file_exists(t.trace));
  CommandResult analyze = ceramic_trace({"analyze", t.trace});
  EXPECT_EQ(analyze.status, 0) << analyze.out << analyze.err;
  EXPECT_EQ(analyze.out, "ceramic: no deadlock\n");
  CommandResult chrome = ceramic_trace({"chrome", t.trace});
  ASSERT_EQ(chrome.status, 0) << chrome.err;
  expect_chrome_json(chrome.out);
  // The pipeline's rendezvous are drawn as flow arrows.
  json j = json::parse(chrome.out);
  std::size_t flows = 0;
  for (const json& e : j.at("traceEvents")) flows += e.at("ph") == "s";
  EXPECT_GT(flows, 0u);
  CommandResult dump = ceramic_trace({"dump", t.trace});
  ASSERT_EQ(dump.status, 0) << dump.err;
  for (const char* name : {"generate (pid", "square (pid", "even (pid", "sum (pid"}) {
    EXPECT_NE(dump.out.find(name), std::string::npos) << name << " missing:\n" << dump.out;
  }
}

TEST(CeramicTrace, NotATraceFileExits2WithAMessage) {
  TempDir dir;
  const std::string path = dir.file("garbage.trace");
  std::ofstream(path) << std::string(4096, 'g');
  for (const char* cmd : {"dump", "chrome", "analyze"}) {
    CommandResult r = ceramic_trace({cmd, path});
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("not a ceramic trace"), std::string::npos) << cmd << ": " << r.err;
  }
  CommandResult missing = ceramic_trace({"dump", dir.file("missing.trace")});
  EXPECT_EQ(missing.status, 2) << missing.err;
}


// ---------------------------------------------------------------------------------------------
// The status line and the report files

TEST(CeramicRunProgress, AStatusLineOnlyWhenAskedOrOnATerminal) {
  // Not a terminal here (stderr is a file): auto writes nothing; on draws the line in place.
  CommandResult quiet = run_command({CERAMIC_RUN, "--", "sleep", "3"}, kPatience);
  ASSERT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("\033[K"), std::string::npos) << "a status line in a log";
  CommandResult shown = run_command({CERAMIC_RUN, "--progress", "on", "--", "sleep", "3"}, kPatience);
  ASSERT_EQ(shown.status, 0) << shown.err;
  EXPECT_NE(shown.err.find("\r\033[Kceramic-run: sleep: "), std::string::npos) << shown.err;
  EXPECT_NE(shown.err.find(" channels, "), std::string::npos) << shown.err;
  // Cleared before the last words, so they start on a clean line.
  EXPECT_NE(shown.err.find("\r\033[Kceramic-run: sleep exited with status 0"), std::string::npos)
      << shown.err;
}

TEST(CeramicRunReports, HtmlAndJunitOnADeadlockOnlyJunitWhenItPasses) {
  TempDir dir;
  const std::string html = dir.file("r.html"), junit = dir.file("r.xml");
  CommandResult bad = run_command({CERAMIC_RUN, "--html", html, "--junit", junit, "--",
                                   CERAMIC_SCENARIOS, "seed_race"},
                                  kPatience);
  ASSERT_EQ(bad.status, 3) << bad.err;
  const std::string page = read_file(html);
  EXPECT_NE(page.find("id=\"graph\""), std::string::npos);
  EXPECT_NE(page.find("id=\"timeline\""), std::string::npos);
  EXPECT_NE(page.find("class=\"slice stuck\""), std::string::npos) << "the stuck wait is drawn";
  EXPECT_NE(read_file(junit).find("type=\"deadlock\""), std::string::npos) << read_file(junit);

  const std::string html2 = dir.file("ok.html"), junit2 = dir.file("ok.xml");
  CommandResult good = run_command({CERAMIC_RUN, "--html", html2, "--junit", junit2, "--",
                                    CERAMIC_SCENARIOS, "exit7"},
                                   kPatience);
  ASSERT_EQ(good.status, 7) << good.err;
  EXPECT_FALSE(file_exists(html2)) << "no report when nothing was found";
  EXPECT_NE(read_file(junit2).find("<failure message=\"exited with status 7"), std::string::npos)
      << read_file(junit2);
}

}  // namespace
}  // namespace ceramic_test
