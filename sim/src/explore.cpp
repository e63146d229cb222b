// ceramic::sim — explore and replay: strategies, shards, worker processes, progress.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "ceramic/sim/sim.hpp"
#include "artifacts.hpp"
#include "client.hpp"
#include "report.hpp"
#include "run.hpp"
#include "schedule.hpp"
#include "strategy.hpp"

namespace ceramic::sim {

const char* to_string(Failure f) noexcept {
  switch (f) {
    case Failure::none: return "none";
    case Failure::deadlock: return "deadlock";
    case Failure::crash: return "crash";
    case Failure::exit_code: return "non-zero exit";
    case Failure::check: return "failed check";
    case Failure::runaway: return "runaway";
    case Failure::stalled: return "stalled";
    case Failure::misuse: return "misuse";
    case Failure::mismatch: return "schedule mismatch";
    case Failure::leak: return "leak";
  }
  return "unknown";
}

bool simulated() noexcept { return detail::in_tree(); }

void check(bool cond, std::string_view message, Site site) {
  if (cond) return;
  std::string text = message.empty() ? std::string("check failed") : std::string(message);
  if (detail::in_tree()) detail::fail_now(Failure::check, text, site);
  throw std::logic_error(std::string(site.file) + ":" + std::to_string(site.line) + ": " + text);
}

namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

const char* strategy_name(sim::Strategy s) {
  switch (s) {
    case sim::Strategy::random: return "random";
    case sim::Strategy::pct: return "pct";
    case sim::Strategy::dfs: return "dfs";
  }
  return "?";
}

// Worker w of nworkers: random and pct take every nworkers-th iteration (mine()), dfs its part of
// the tree (dfs.cpp).
std::unique_ptr<detail::Scheduler> make_strategy(const Options& o, unsigned w, unsigned nworkers) {
  switch (o.strategy) {
    case sim::Strategy::random: return make_random(o.seed);
    case sim::Strategy::pct: return make_pct(o.seed, o.pct_depth);
    case sim::Strategy::dfs: return make_dfs(o.partial_order_reduction, w, nworkers);
  }
  return make_random(o.seed);
}

// Shared by the workers of one exploration (MAP_SHARED): how far they got, and the lowest
// failing iteration so far (workers skip iterations above it, so the reported failure is the
// first one in iteration order, however many workers there are).
struct Shared {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> first_failure{UINT64_MAX};
};

struct Found {
  bool failed = false;
  std::uint64_t iteration = 0;
  Outcome outcome;
  CoverageLog coverage;   // of every schedule the worker ran
};

class Progress {
 public:
  Progress(const Options& o, std::size_t total)
      : on_(o.progress > 0 || (o.progress < 0 && isatty(STDERR_FILENO))), total_(total),
        name_(strategy_name(o.strategy)), start_(Clock::now()), last_(start_) {}
  void update(std::uint64_t done, bool failed, bool force = false) {
    if (!on_) return;
    auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\r\033[Kceramic sim [%s] %llu/%zu schedules  %.0f/s  %s  %.1fs", name_,
                 static_cast<unsigned long long>(done), total_, secs > 0 ? static_cast<double>(done) / secs : 0.0,
                 failed ? "FAILED" : "0 failures", secs);
    shown_ = true;
  }
  void finish(std::uint64_t done, bool failed) {
    if (!on_) return;
    update(done, failed, true);
    if (shown_) std::fputc('\n', stderr);
  }

 private:
  bool on_;
  std::size_t total_;
  const char* name_;
  Clock::time_point start_, last_;
  bool shown_ = false;
};

// The iterations of this shard that worker w of nworkers runs, in order. dfs splits its tree
// instead: every worker runs its own iterations.
bool mine(std::uint64_t it, const Options& o, unsigned w, unsigned nworkers) {
  if (o.strategy == Strategy::dfs) return true;
  if (it % o.shard_count != o.shard_index) return false;
  return (it / o.shard_count) % nworkers == w;
}

// Whether worker w has an iteration after it (a schedule may still follow: dfs does not know).
bool more_after(std::uint64_t it, const Options& o, unsigned w, unsigned nworkers) {
  if (o.strategy == Strategy::dfs) return true;
  for (std::uint64_t next = it + 1; next < o.iterations; ++next) {
    if (mine(next, o, w, nworkers)) return true;
    if (next - it > std::uint64_t{o.shard_count} * nworkers) break;
  }
  return false;
}

// Runs the iterations of worker w; reports each finished schedule through `shared`.
//
// dfs: a worker's iterations also count the schedules of other workers' parts that it runs on
// its way (Scheduler::owned); those are neither counted in `shared.done` nor reported (their
// owner runs and reports them). Options::iterations bounds the counted schedules of all workers
// together, and the first failure any worker finds stops them all.
Found run_worker(const std::function<void()>& body, const Options& o, unsigned w, unsigned nworkers,
                 Shared& shared, Progress* progress, bool* complete) {
  Runner runner(o);
  auto strategy = make_strategy(o, w, nworkers);
  const bool dfs = o.strategy == Strategy::dfs;
  Found found;
  Clock::time_point stop = o.time_budget.count() > 0 ? Clock::now() + o.time_budget
                                                     : Clock::time_point::max();
  std::size_t stale = 0;  // schedules in a row that added nothing to the coverage
  for (std::uint64_t it = 0; dfs || it < o.iterations; ++it) {
    if (!mine(it, o, w, nworkers)) continue;
    const std::uint64_t failed_at = shared.first_failure.load(std::memory_order_acquire);
    if (it > failed_at || (dfs && failed_at != UINT64_MAX)) break;
    if (dfs && shared.done.load(std::memory_order_relaxed) >= o.iterations) break;
    if (Clock::now() >= stop) break;
    if (!strategy->begin(it)) {
      *complete = true;
      break;
    }
    runner.expect_more(more_after(it, o, w, nworkers));
    Outcome out = runner.run(body, *strategy, o.force_unbuffered);
    // A mismatch (the program left its own prefix) is reported by whoever meets it: its owner
    // may not meet it again.
    if (!strategy->owned() && out.info.kind != Failure::mismatch) continue;
    if (shared.done.fetch_add(1, std::memory_order_relaxed) >= o.iterations) {
      shared.done.fetch_sub(1, std::memory_order_relaxed);  // another worker took the last one
      break;
    }
    if (out.failed()) {
      found.failed = true;
      found.iteration = it;
      found.outcome = std::move(out);
      std::uint64_t cur = shared.first_failure.load();
      while (it < cur && !shared.first_failure.compare_exchange_weak(cur, it)) {
      }
      break;
    }
    if (progress) progress->update(shared.done.load(), false);
    stale = out.grew ? 0 : stale + 1;
    if (o.coverage_patience > 0 && stale >= o.coverage_patience) break;
  }
  if (!found.failed && strategy->complete()) *complete = true;
  found.coverage = runner.coverage();
  return found;
}

Schedule schedule_of(const Options& opts, std::vector<Choice> choices) {
  Schedule s;
  s.unbuffered = opts.force_unbuffered;
  s.choices = std::move(choices);
  s.idle_timeouts = opts.timeouts == Timeouts::when_idle;
  s.fairness = static_cast<std::uint32_t>(std::min<std::size_t>(opts.fairness_bound, UINT32_MAX));
  return s;
}

Result to_result(const Found& f, const Options& opts, std::size_t schedules) {
  Result r;
  r.schedules = schedules;
  r.coverage = f.coverage.result();
  if (!f.failed) return r;
  const Outcome& o = f.outcome;
  Schedule s = schedule_of(opts, o.choices);
  // A runaway stopped at the step bound: the schedule carries it so that replay stops there too.
  if (o.info.kind == Failure::runaway) s.step_limit = static_cast<std::uint32_t>(std::min<std::size_t>(o.steps, UINT32_MAX));
  r.failed = true;
  r.failure = o.info.kind;
  r.info = o.info;
  r.schedule = encode(s);
  r.replay = replay_line(r.schedule);
  // The edge: the failure's data becomes text here, and nowhere before.
  r.report = failure_report(o, r.schedule, r.replay, f.iteration);
  if (o.info.graph) r.dot = detector::to_dot(*o.info.graph);
  r.output = o.output;
  r.iteration = f.iteration;
  r.steps = o.steps;
  return r;
}

// ---- worker processes: a result travels back through a pipe ----

void put_str(std::string& out, const std::string& s) {
  std::uint64_t n = s.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += s;
}
bool get_str(const std::string& in, std::size_t& pos, std::string& s) {
  std::uint64_t n;
  if (in.size() - pos < sizeof n) return false;
  std::memcpy(&n, in.data() + pos, sizeof n);
  pos += sizeof n;
  if (in.size() - pos < n) return false;
  s.assign(in, pos, n);
  pos += n;
  return true;
}

std::string serialize(const Found& f, bool complete) {
  std::string out;
  put_str(out, f.failed ? "1" : "0");
  put_str(out, complete ? "1" : "0");
  put_str(out, f.coverage.encode());
  if (!f.failed) return out;
  const Outcome& o = f.outcome;
  // The detector's graph does not travel: the parent replays the schedule to rebuild it.
  const FailureInfo& i = o.info;
  put_str(out, std::to_string(f.iteration));
  put_str(out, std::to_string(static_cast<int>(i.kind)));
  put_str(out, i.summary);
  put_str(out, i.process);
  put_str(out, i.file);
  put_str(out, std::to_string(i.line));
  put_str(out, encode(Schedule{false, o.choices, 0}));
  put_str(out, std::to_string(o.steps));
  std::string steps;
  for (const auto& l : i.steps) steps += l + '\n';
  put_str(out, steps);
  put_str(out, o.output);
  return out;
}

bool deserialize(const std::string& in, Found& f, bool& complete) {
  std::size_t pos = 0;
  std::string s;
  if (!get_str(in, pos, s)) return false;
  f.failed = s == "1";
  if (!get_str(in, pos, s)) return false;
  complete = s == "1";
  if (!get_str(in, pos, s) || !f.coverage.decode(s)) return false;
  if (!f.failed) return true;
  Outcome& o = f.outcome;
  FailureInfo& i = o.info;
  std::string it, kind, line, sched, steps, recent;
  if (!get_str(in, pos, it) || !get_str(in, pos, kind) || !get_str(in, pos, i.summary) ||
      !get_str(in, pos, i.process) || !get_str(in, pos, i.file) || !get_str(in, pos, line) ||
      !get_str(in, pos, sched) || !get_str(in, pos, steps) || !get_str(in, pos, recent) ||
      !get_str(in, pos, o.output)) {
    return false;
  }
  f.iteration = std::stoull(it);
  i.kind = static_cast<Failure>(std::stoi(kind));
  i.line = std::stoi(line);
  std::string err;
  auto decoded = decode(sched, &err);
  if (decoded) o.choices = decoded->choices;
  o.steps = std::stoull(steps);
  for (std::size_t a = 0, b; a < recent.size(); a = b + 1) {
    b = recent.find('\n', a);
    if (b == std::string::npos) b = recent.size();
    i.steps.push_back(recent.substr(a, b - a));
  }
  return true;
}

Result explore_workers(const std::function<void()>& body, const Options& o, unsigned nworkers) {
  auto* shared = static_cast<Shared*>(mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                                           MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) throw std::runtime_error("ceramic::sim: mmap failed");
  new (shared) Shared();
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
    std::string data;
  };
  std::vector<Worker> workers(nworkers);
  std::fflush(nullptr);
  for (unsigned w = 0; w < nworkers; ++w) {
    int p[2];
    if (pipe(p) != 0) throw std::runtime_error("ceramic::sim: pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(p[0]);
      bool complete = false;
      Found f = run_worker(body, o, w, nworkers, *shared, nullptr, &complete);
      std::string out = serialize(f, complete);
      for (std::size_t off = 0; off < out.size();) {
        ssize_t n = ::write(p[1], out.data() + off, out.size() - off);
        if (n <= 0 && errno != EINTR) break;
        if (n > 0) off += static_cast<std::size_t>(n);
      }
      _exit(0);
    }
    ::close(p[1]);
    workers[w].pid = pid;
    workers[w].fd = p[0];
  }
  Progress progress(o, o.iterations / std::max(1u, o.shard_count));
  std::size_t open = nworkers;
  while (open > 0) {
    std::vector<pollfd> fds;
    for (auto& w : workers) {
      if (w.fd >= 0) fds.push_back({w.fd, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 250);
    for (auto& w : workers) {
      if (w.fd < 0) continue;
      pollfd one{w.fd, POLLIN, 0};
      if (::poll(&one, 1, 0) <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(w.fd, buf, sizeof buf);
      if (n > 0) {
        w.data.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(w.fd);
        w.fd = -1;
        --open;
      }
    }
    progress.update(shared->done.load(), shared->first_failure.load() != UINT64_MAX);
  }
  Found best;
  CoverageLog all;
  bool complete = true;
  for (auto& w : workers) {
    int st;
    while (waitpid(w.pid, &st, 0) < 0 && errno == EINTR) {
    }
    Found f;
    bool c = false;
    if (!deserialize(w.data, f, c)) {
      munmap(shared, sizeof(Shared));
      throw std::runtime_error("ceramic::sim: a worker process died without reporting");
    }
    complete = complete && c;
    all.merge(f.coverage);
    if (f.failed && (!best.failed || f.iteration < best.iteration)) best = std::move(f);
  }
  std::size_t done = shared->done.load();
  progress.finish(done, best.failed);
  munmap(shared, sizeof(Shared));
  FailureInfo& info = best.outcome.info;
  if (best.failed && (info.kind == Failure::deadlock || info.kind == Failure::leak)) {
    // The detector's graph stayed in the worker: replaying the schedule here rebuilds it.
    Runner runner(o);
    auto again = make_replay(schedule_of(o, best.outcome.choices));
    again->begin(0);
    Outcome rerun = runner.run(body, *again, o.force_unbuffered);
    if (rerun.info.kind == info.kind) {
      info.graph = std::move(rerun.info.graph);
      info.blocked = std::move(rerun.info.blocked);
    }
  }
  best.coverage = std::move(all);
  Result r = to_result(best, o, done);
  r.complete = complete && !best.failed;  // dfs: every worker explored all of its part
  return r;
}

}  // namespace
}  // namespace detail

namespace detail {

// The options a schedule carries, for running it again.
Options options_of(const Schedule& s) {
  Options o;
  o.force_unbuffered = s.unbuffered;
  o.timeouts = s.idle_timeouts ? Timeouts::when_idle : Timeouts::any_time;
  o.fairness_bound = s.fairness;
  if (s.step_limit != 0) o.max_steps = s.step_limit;
  return o;
}

// One more run of a failing schedule, drawing its timeline (exploring does not draw: a string per
// step). Empty when the schedule no longer decodes.
detector::Timeline schedule_timeline(const std::function<void()>& body, std::string_view schedule) {
  std::string error;
  auto s = decode(schedule, &error);
  if (!s) return {};
  Options o = options_of(*s);
  Runner runner(o);
  runner.record_timeline(true);
  auto strategy = make_replay(*s);
  strategy->begin(0);
  return runner.run(body, *strategy, s->unbuffered).info.timeline;
}

}  // namespace detail

Result replay(std::function<void()> body, std::string_view schedule) {
  std::string error;
  auto s = detail::decode(schedule, &error);
  Result r;
  if (!s) {
    r.failed = true;
    r.failure = Failure::mismatch;
    r.schedule = std::string(schedule);
    r.report = "ceramic sim: cannot replay \"" + std::string(schedule) + "\": " + error + "\n";
    return r;
  }
  Options o = options_of(*s);
  auto start = std::chrono::steady_clock::now();
  detail::Runner runner(o);
  auto strategy = detail::make_replay(*s);
  strategy->begin(0);
  detail::Found f;
  f.outcome = runner.run(body, *strategy, s->unbuffered);
  f.failed = f.outcome.failed();
  f.coverage = runner.coverage();
  r = detail::to_result(f, o, 1);
  if (r.failure == Failure::mismatch) {
    // The choices taken before the program left the schedule replay nothing useful: report
    // the schedule that was given, and no replay line.
    r.schedule = std::string(schedule);
    r.replay.clear();
    r.report = detail::failure_report(f.outcome, r.schedule, r.replay, 0);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

Result explore(std::function<void()> body, Options o) {
  if (const char* env = std::getenv(kReplayEnv); env && *env) return replay(std::move(body), env);
  if (const char* env = std::getenv(kOptionsEnv); env && *env) {
    std::string error;
    if (!parse_options(env, &o, &error)) {
      Result r;
      r.failed = true;
      r.failure = Failure::misuse;
      r.report = std::string("ceramic sim: ") + kOptionsEnv + ": " + error + "\n";
      return r;
    }
  }
  if (o.shard_count == 0) throw std::invalid_argument("ceramic::sim::explore: shard_count is 0");
  if (o.shard_index >= o.shard_count) {
    throw std::invalid_argument("ceramic::sim::explore: shard_index must be below shard_count");
  }
  if (o.max_steps == 0) throw std::invalid_argument("ceramic::sim::explore: max_steps is 0");
  auto start = std::chrono::steady_clock::now();
  unsigned nworkers = std::max(1u, o.workers);
  Result r;
  if (o.strategy == Strategy::dfs) {
    // One search tree, split over the workers (dfs.cpp) but not over shards: shards other than
    // 0 have nothing to do.
    if (o.shard_index != 0) {
      r.complete = false;
      return r;
    }
    o.shard_count = 1;
  }
  if (nworkers > 1) {
    r = detail::explore_workers(body, o, nworkers);
  } else {
    detail::Shared shared;
    detail::Progress progress(o, o.iterations / o.shard_count);
    bool complete = false;
    detail::Found f = detail::run_worker(body, o, 0, 1, shared, &progress, &complete);
    progress.finish(shared.done.load(), f.failed);
    r = detail::to_result(f, o, shared.done.load());
    r.complete = complete;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (o.print_coverage) std::fputs(to_table(r.coverage).c_str(), stderr);
  if (!o.html.empty() && r.failed && !r.schedule.empty()) {
    r.info.timeline = detail::schedule_timeline(body, r.schedule);
  }
  detail::write_artifacts(o, r);
  return r;
}

}  // namespace ceramic::sim
