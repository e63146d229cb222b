// ceramic bench — simulator throughput: schedules explored per second against the size of the
// program (processes, channel operations), with the floor every schedule pays in the same run:
// forking and reaping a process tree of that many processes that does nothing. Two floors: the
// bare tree (BM_process_tree: fork the root, which forks the others, reap), and the same with
// the root forked ahead (BM_process_tree_forked_ahead: the next tree's root is forked while the
// current tree runs and waits to be started, as the simulator's roots are). BM_sim_schedules
// also measures the bare tree between its rounds and reports its time against it (x_bare_tree),
// so that the ratio comes from one stretch of machine time.
//
// The program: main makes one unbuffered channel and starts procs - 1 children; ops / 2 values
// are sent by the children (round robin) and received by main, which then joins them. Every
// value is a rendezvous, so ops channel operations, plus spawns, exits and joins.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t kSchedulesPerRound = 20;

// fork copies the page tables of the whole process, so a schedule costs more in a process with a
// large heap: after the 16 MiB suites glibc keeps tens of MiB of freed strings (its mmap
// threshold grows to the largest block freed) and every fork here took several times longer
// than in a test binary. These benchmarks run first (bench/CMakeLists.txt); with a filter that
// puts others first, giving the freed memory back keeps most of the difference away.
void trim_heap() { malloc_trim(0); }

void program(int procs, int ops) {
  ceramic::Chan<int> c;
  const int kids = procs - 1;
  const int values = ops / 2;
  std::vector<ceramic::Proc> ps;
  for (int k = 0; k < kids; ++k) {
    ps.emplace_back([&c, k, kids, values] {
      for (int v = k; v < values; v += kids) c.send(v);
    });
  }
  for (int v = 0; v < values; ++v) c.recv();
  for (auto& p : ps) p.join();
}

// The bare floor: fork a root that forks procs - 1 children that exit at once, reap them all.
void bare_tree(int procs) {
  pid_t root = fork();
  if (root == 0) {
    for (int k = 1; k < procs; ++k) {
      pid_t c = fork();
      if (c == 0) _exit(0);
      waitpid(c, nullptr, 0);
    }
    _exit(0);
  }
  waitpid(root, nullptr, 0);
}

double since_us(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
}

// Runs explore() rounds of per_round schedules each until the benchmark has enough. With
// baseline, each round is followed by as many bare trees (not timed by the benchmark), for
// x_bare_tree: the time of a schedule over the time of a bare tree of as many processes.
void explore_rounds(benchmark::State& state, int procs, int ops, unsigned workers,
                    std::size_t per_round, ceramic::sim::Strategy strategy, bool baseline) {
  trim_heap();
  ceramic::sim::Options o;
  o.strategy = strategy;
  o.iterations = per_round;
  o.workers = workers;
  o.progress = 0;
  std::size_t schedules = 0;
  std::size_t trees = 0;
  double sim_us = 0;
  double tree_us = 0;
  std::uint64_t round = 0;
  for (auto _ : state) {
    o.seed = round++;
    auto start = std::chrono::steady_clock::now();
    auto r = ceramic::sim::explore([=] { program(procs, ops); }, o);
    sim_us += since_us(start);
    if (r.failed) {
      state.SkipWithError(r.report.c_str());
      return;
    }
    schedules += r.schedules;
    if (!baseline) continue;
    state.PauseTiming();
    start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < r.schedules; ++i) bare_tree(procs);
    tree_us += since_us(start);
    trees += r.schedules;
    state.ResumeTiming();
  }
  state.counters["schedules_per_s"] = static_cast<double>(schedules) / sim_us * 1e6;
  state.counters["us_per_schedule"] = sim_us / static_cast<double>(schedules);
  if (trees > 0) {
    state.counters["bare_tree_us"] = tree_us / static_cast<double>(trees);
    state.counters["x_bare_tree"] =
        (sim_us / static_cast<double>(schedules)) / (tree_us / static_cast<double>(trees));
  }
}

void BM_sim_schedules(benchmark::State& state) {
  explore_rounds(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 1,
                 kSchedulesPerRound, ceramic::sim::Strategy::random, true);
}

// The same with Options::workers explorer processes, one per core on this machine. Rounds are
// longer so that starting the workers (a fork each) is not what is measured.
void BM_sim_schedules_workers(benchmark::State& state) {
  explore_rounds(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                 static_cast<unsigned>(state.range(2)), 5 * kSchedulesPerRound,
                 ceramic::sim::Strategy::random, false);
}

// DFS split over Options::workers: the first 200 schedules of a tree of several thousand
// (4 processes, 16 operations: 3 senders interleaving 8 values into one receiver).
void BM_sim_dfs_workers(benchmark::State& state) {
  explore_rounds(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                 static_cast<unsigned>(state.range(2)), 10 * kSchedulesPerRound,
                 ceramic::sim::Strategy::dfs, false);
}
BENCHMARK(BM_sim_dfs_workers)
    ->ArgNames({"procs", "ops", "workers"})
    ->Args({4, 16, 1})
    ->Args({4, 16, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sim_schedules_workers)
    ->ArgNames({"procs", "ops", "workers"})
    ->Args({3, 10, 2})
    ->Args({5, 20, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_sim_schedules)
    ->ArgNames({"procs", "ops"})
    ->Args({2, 10})
    ->Args({3, 10})
    ->Args({3, 20})
    ->Args({3, 40})
    ->Args({5, 10})
    ->Args({5, 20})
    ->Args({8, 20})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The floor: fork a root that forks procs - 1 children that exit at once, reap them all.
void BM_process_tree(benchmark::State& state) {
  const int procs = static_cast<int>(state.range(0));
  trim_heap();
  std::size_t trees = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    bare_tree(procs);
    ++trees;
  }
  double us = since_us(start);
  state.counters["us_per_schedule"] = us / static_cast<double>(trees);
  state.counters["schedules_per_s"] = static_cast<double>(trees) / us * 1e6;
}
BENCHMARK(BM_process_tree)->ArgName("procs")->Arg(2)->Arg(3)->Arg(5)->Arg(8)->UseRealTime();

// The floor of a simulator that forks each root ahead: the next tree's root is forked while the
// current tree runs, and waits on a futex until it is started; a started root forks procs - 1
// children that exit at once and reaps them.
void BM_process_tree_forked_ahead(benchmark::State& state) {
  const int procs = static_cast<int>(state.range(0));
  trim_heap();
  auto* go = static_cast<std::atomic<std::uint32_t>*>(
      mmap(nullptr, sizeof(std::atomic<std::uint32_t>), PROT_READ | PROT_WRITE,
           MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (go == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  new (go) std::atomic<std::uint32_t>(0);
  auto fork_waiting_root = [go, procs]() -> pid_t {
    const std::uint32_t gen = go->load();
    pid_t root = fork();
    if (root == 0) {
      while (go->load() == gen) {
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(go), FUTEX_WAIT, gen, nullptr, nullptr, 0);
      }
      for (int k = 1; k < procs; ++k) {
        pid_t c = fork();
        if (c == 0) _exit(0);
        waitpid(c, nullptr, 0);
      }
      _exit(0);
    }
    return root;
  };
  std::size_t trees = 0;
  pid_t next = fork_waiting_root();
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const pid_t root = next;
    go->fetch_add(1);
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(go), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    next = fork_waiting_root();
    waitpid(root, nullptr, 0);
    ++trees;
  }
  double us = since_us(start);
  go->fetch_add(1);
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(go), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  waitpid(next, nullptr, 0);
  munmap(go, sizeof(std::atomic<std::uint32_t>));
  state.counters["us_per_schedule"] = us / static_cast<double>(trees);
  state.counters["schedules_per_s"] = static_cast<double>(trees) / us * 1e6;
}
BENCHMARK(BM_process_tree_forked_ahead)->ArgName("procs")->Arg(3)->Arg(8)->UseRealTime();

}  // namespace
}  // namespace bench
