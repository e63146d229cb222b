// ceramic::sim — explore the interleavings of a multi-process channel program, find the one in
// ten thousand that deadlocks or crashes, and replay it from a short string.
//
//   auto r = ceramic::sim::explore([] {
//     ceramic::Chan<int> c;
//     ceramic::Proc a("A", [&] { c.send(1); });
//     ceramic::Proc b("B", [&] { c.recv(); });
//     c.send(2);   // the seed race: A may meet B first, and then nobody receives this
//     c.recv();
//   });
//   if (r.failed) std::cerr << r.report << r.replay;   // r.schedule replays it: replay(body, s)
//
// How it works. body runs in a fresh process tree for every schedule, using the ordinary Chan,
// Proc and select API. Each process of the tree parks at every scheduling point (every channel
// operation, select, close, closed() query, named-channel creation or opening, and every Proc
// spawn, exit, join, running() query and kill). When every live process is parked, the explorer
// (the calling process) picks the next transition among the enabled ones: which sender meets
// which receiver, a buffered push or pop, a close, a select case, a default case, a timeout.
// Given the sequence of choices the execution is deterministic, so that sequence, encoded
// compactly, is the schedule.
//
// The model: every schedule the simulator runs is one that some timing of the real program can
// produce, and every such timing's choices at channels can be reached.
//   - Arrival is lazy. A process parked at a blocking operation may still be on its way to the
//     channel: nothing in ceramic tells a waiting partner from a late one except meeting it. So
//     a select's default (or a zero timeout) may run although a partner is parked at one of its
//     channels, or may meet that partner; two non-blocking operations never meet. A buffered
//     value, buffer room and a closed channel cannot be late: they make the default impossible.
//   - Time (Options::timeouts). any_time, the default: a blocked timed wait (send_for, recv_for,
//     join_for, on_timeout) may time out at any point while it is blocked, because any partner
//     may be slow; deadlines keep their order. when_idle: timeouts fire only when nothing else
//     can happen, earliest deadline first (Go's testing/synctest model), for programs whose
//     timeouts are a safety net that a correct run never takes. A zero timeout tries once.
//   - Every choice is part of the schedule: which sender meets which receiver, which of several
//     ready select cases fires, a default or a meeting, a timeout or a meeting. PCT ranks
//     processes (and the clock, for timeouts) and draws among the chosen process's transitions.
//   - Spawn, exit and a join whose child has exited commute with every other transition, so
//     they run without a choice; a child's exit is a choice only while its parent watches it
//     (running(), join_for). An exiting process's children end with it (ended, not crashed).
//   - Fairness: a schedule in which some process could have moved for fairness_bound choice
//     points without being chosen turns fair (the longest-waiting process first), so a correct
//     program that needs a fair scheduler finishes; a runaway (more than max_steps transitions)
//     is then a livelock, not an unlucky schedule. max_processes counts processes alive at once.
//   - Leaks: a Proc destroyed while its child (or what the child started) waits without a
//     deadline with nothing left to serve it, or the program's end (the body returned, the
//     others ran on until nothing could move or for 1,000 more steps) while a process still so
//     waits, is Failure::leak. An explicit Proc::kill is the program's intent, never a leak.
//   - Failures: a deadlock (something is blocked and nothing can happen; reported by the
//     detector, same text and DOT as ceramic-run), a leak, a process killed by a signal or
//     exiting non-zero, an uncaught exception, a failed sim::check (or a GoogleTest assertion in
//     the body, see gtest.hpp), a runaway, a process that does not reach its next scheduling
//     point within step_timeout (blocked outside ceramic).
//   - Under the simulator, Proc::kill and a Proc destroyed while its child runs end the child
//     at once with SIGKILL (there is no clock for a grace period), and with it every process
//     it started (as PR_SET_PDEATHSIG would).
//   - Reports name processes by their creation order ("main (pid 1)", "A (pid 2)") and channels
//     by their creator ("main#1"), never by OS pid: a replay prints the same report every time.
//   - Threads: the simulator schedules processes. A channel operation from a second thread of a
//     process is reported as a failure.
//   - Values travel through the explorer: at most max_value_bytes per pending value.
//
// Replaying: every failure carries its schedule and a replay line. Either call
// replay(body, schedule), or run the same binary with CERAMIC_SIM_REPLAY=<schedule> in the
// environment: explore() then replays that schedule instead of exploring.
//
// Thread safety: explore and replay may be called from any thread, one call at a time per
// process (they fork, and set the calling process as the child subreaper while they run).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ceramic/detector/report.hpp"
#include "ceramic/detector/timeline.hpp"
#include "ceramic/site.hpp"

namespace ceramic::sim {

// random: a uniform random walk over the enabled transitions.
// pct: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
//      Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010):
//      random task priorities and pct_depth - 1 random priority change points; a bug of depth d
//      in a program with n processes and k steps is found with probability >= 1/(n k^(d-1))
//      per schedule.
// dfs: bounded exhaustive depth-first search over the choices, with partial-order reduction
//      (sleep sets: one order of independent transitions); Result::complete says whether the
//      whole space was covered within `iterations` schedules.
enum class Strategy { random, pct, dfs };

// When a blocked timed wait (send_for, recv_for, join_for, a select's on_timeout) may time out.
// any_time: whenever it is blocked, because any partner may be slow (real executions do this;
//           the default). Deadlines keep their order: a wait does not time out while one with an
//           earlier deadline is still blocked.
// when_idle: only when nothing else can happen, earliest deadline first (Go's testing/synctest):
//           for programs whose timeouts are a fallback that a correct run never takes.
enum class Timeouts { any_time, when_idle };

struct Options {
  Strategy strategy = Strategy::pct;
  std::size_t iterations = 1000;   // schedules to run (dfs: at most)
  std::uint64_t seed = 0;
  int pct_depth = 3;
  bool force_unbuffered = false;   // run buffered channels at capacity 0
  // ---- ceramic's additions ----
  std::size_t max_steps = 10000;   // transitions per schedule before it counts as a runaway
  std::chrono::milliseconds time_budget{0};   // stop starting schedules after this (0: none)
  unsigned shard_index = 0;        // run only iterations i with i % shard_count == shard_index,
  unsigned shard_count = 1;        //   so that n machines split one exploration (random, pct)
  unsigned workers = 1;            // explorer processes on this machine (dfs: split its tree)
  int progress = -1;               // progress line on stderr: 1 on, 0 off, -1 if it is a terminal
  std::chrono::milliseconds step_timeout{10000};   // longest a process may run between points
  std::size_t max_value_bytes = std::size_t{1} << 20;
  std::size_t max_processes = 64;  // processes alive at once (spawns over a schedule are not bounded)
  // dfs: explore one order of independent transitions (no common process, no common channel)
  // instead of all of them (sleep sets). Every deadlock and failing state stays reachable;
  // Result::complete then means every non-equivalent interleaving was run.
  bool partial_order_reduction = true;
  Timeouts timeouts = Timeouts::any_time;
  // After this many steps in which some process could have moved and was not chosen, the rest
  // of the schedule is run fairly (the longest-waiting process first), so that a program that
  // only finishes under a fair scheduler does finish; a runaway is reported only when a fair
  // schedule does not finish either. 0: never.
  std::size_t fairness_bound = 200;
  // Stop once this many schedules in a row added nothing to the coverage (a new site, a site
  // first seen waiting or completing, a select case first taken); iterations stays the bound.
  // 0: run all iterations.
  std::size_t coverage_patience = 0;
  bool print_coverage = false;     // explore prints the coverage table (to_table) on stderr
  // Report files for CI (docs/guide/ci.md). html: written when the exploration fails (the
  // self-contained HTML report: verdict, graph, replay line with a copy button, steps,
  // coverage). junit: JUnit XML with one test case per exploration this process ran, rewritten
  // after each. In both, %p becomes the process id and %n the scenario's name. name: the
  // scenario (default: the program's name and the exploration's number in this process).
  std::string html{};
  std::string junit{};
  std::string name{};
};

enum class Failure {
  none,
  deadlock,       // blocked processes and nothing enabled
  crash,          // a process was killed by a signal
  exit_code,      // a process exited with a non-zero code (or an uncaught exception)
  check,          // sim::check or a GoogleTest assertion failed
  runaway,        // more than max_steps transitions
  stalled,        // a process did not reach its next scheduling point within step_timeout
  misuse,         // the program did something the simulator cannot schedule (see message)
  mismatch,       // replay: the schedule is malformed, or the program no longer follows it
  leak,           // a process left blocked forever: its Proc was destroyed, or the program
                  //   ended, while it waited without a deadline on something nobody served
};

const char* to_string(Failure) noexcept;

// A failure as data. Result::report and Result::dot are printed from it; a tool that wants its
// own format (HTML, JUnit, JSON) reads this instead of parsing text.
struct FailureInfo {
  Failure kind = Failure::none;
  std::string summary;             // one line: what happened
  std::string process;             // the process that failed (crash, exit, check, misuse), if one
  std::string file;                // where, when known
  int line = 0;
  std::vector<std::string> steps;  // the last transitions, "N. what", oldest first
  // Deadlocks and leaks: the detector's report (what waits on what, and why nothing can serve
  // it). Empty when the detector could not prove it; `blocked` then lists who waits where.
  std::optional<detector::Report> graph;
  std::vector<std::string> blocked;
  // The failing schedule as a timeline (a lane a process, time in steps: unit "step"), for the
  // HTML report. Drawn by explore() when Options::html is set (one more run of the schedule).
  detector::Timeline timeline{};
};

// Concurrency coverage of an exploration (what GoAT measures): every channel operation site the
// schedules reached, whether it was seen waiting and seen completing, and for a select which
// cases fired. A site that never blocked, or a select case never taken (the timeout, the
// default), is a part of the program's concurrency that no schedule tried.
struct SiteCoverage {
  std::string file;
  int line = 0;
  std::string op;               // send, recv, select, join, close
  std::size_t reached = 0;      // times a process arrived here
  std::size_t blocked = 0;      // times it had to wait (something else ran while it could not)
  std::size_t completed = 0;    // times it completed
  struct Case {
    std::string kind;           // recv, send, default, timeout
    std::size_t taken = 0;
  };
  std::vector<Case> cases;      // select: its cases in argument order
};
struct Coverage {
  std::vector<SiteCoverage> sites;  // by file, then line
};
// The coverage as a table, one site a line, with the select cases never taken called out.
std::string to_table(const Coverage&);

struct Result {
  bool failed = false;        // a deadlock, crash or failed check was found
  std::string schedule;       // the failing interleaving, replayable
  std::string report;         // human-readable, same format as the live detector
  std::string dot;            // Graphviz wait-for graph of the failure (deadlocks)
  std::size_t schedules = 0;  // interleavings executed
  // ---- ceramic's additions ----
  Failure failure = Failure::none;
  std::string replay;         // how to replay: the environment variable and the call
  std::string output;         // what the failing schedule's processes printed (the tail)
  std::size_t iteration = 0;  // which schedule failed (0-based)
  std::size_t steps = 0;      // transitions in the failing schedule
  bool complete = false;      // dfs: every interleaving was explored
  double seconds = 0;         // wall time of the exploration
  FailureInfo info;           // the failure as data (kind none when nothing failed)
  Coverage coverage;          // explore: what the schedules run reached (replay: that schedule's)
};

Result explore(std::function<void()> body, Options = {});
Result replay(std::function<void()> body, std::string_view schedule);
// A malformed schedule, or one the program no longer follows, is not thrown: replay returns
// failed = true with a report that says so.

// Fails the current schedule when cond is false, with message and the call's source line.
// Outside a simulation it throws std::logic_error with the same text.
void check(bool cond, std::string_view message = {}, Site = Site::current());

// True in a process that the simulator is running (inside body).
bool simulated() noexcept;

// The environment variable that makes explore() replay a schedule.
inline constexpr const char* kReplayEnv = "CERAMIC_SIM_REPLAY";

// The environment variable that overrides explore()'s options from outside the program, so
// that a test binary's scenario can be explored harder, sharded or given workers without a
// rebuild (this is what the ceramic-sim tool sets):
//   CERAMIC_SIM_OPTIONS='strategy=dfs iterations=100000 shard=3/8 workers=2 time=10m' ./tests
// Fields given there replace the program's own; the others keep the program's values. A
// malformed value makes explore() fail with Failure::misuse and a report that names it.
inline constexpr const char* kOptionsEnv = "CERAMIC_SIM_OPTIONS";

// Applies spec, "key=value" pairs separated by blanks or commas, to *options. Keys:
//   strategy=random|pct|dfs   iterations=N   seed=N   depth=N (pct_depth)   unbuffered=0|1
//   max_steps=N   time=DURATION (time_budget)   shard=I/N   workers=N   progress=0|1|auto
//   step_timeout=DURATION   max_value_bytes=N   max_processes=N   reduction=0|1
//   timeouts=any|idle   fairness=N   patience=N (coverage_patience)   coverage=0|1
// DURATION is a number with a unit: ms, s, m or h (e.g. 500ms, 90s, 10m). Returns false and
// sets *error (naming the field and what is wrong) on the first bad pair; *options is then
// left unchanged.
bool parse_options(std::string_view spec, Options* options, std::string* error);

}  // namespace ceramic::sim
