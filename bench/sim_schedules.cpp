// ceramic bench — simulator throughput: schedules explored per second against the size of the
// program (processes, channel operations), with the floor every schedule pays in the same run:
// forking and reaping a process tree of that many processes that does nothing.
//
// The program: main makes one unbuffered channel and starts procs - 1 children; ops / 2 values
// are sent by the children (round robin) and received by main, which then joins them. Every
// value is a rendezvous, so ops channel operations, plus spawns, exits and joins.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <chrono>
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

// Runs explore() rounds of per_round schedules each until the benchmark has enough.
void explore_rounds(benchmark::State& state, int procs, int ops, unsigned workers,
                    std::size_t per_round) {
  trim_heap();
  ceramic::sim::Options o;
  o.strategy = ceramic::sim::Strategy::random;
  o.iterations = per_round;
  o.workers = workers;
  o.progress = 0;
  std::size_t schedules = 0;
  std::uint64_t round = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    o.seed = round++;
    auto r = ceramic::sim::explore([=] { program(procs, ops); }, o);
    if (r.failed) {
      state.SkipWithError(r.report.c_str());
      return;
    }
    schedules += r.schedules;
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  state.counters["schedules_per_s"] = static_cast<double>(schedules) / us * 1e6;
  state.counters["us_per_schedule"] = us / static_cast<double>(schedules);
}

void BM_sim_schedules(benchmark::State& state) {
  explore_rounds(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 1,
                 kSchedulesPerRound);
}

// The same with Options::workers explorer processes, one per core on this machine. Rounds are
// longer so that starting the workers (a fork each) is not what is measured.
void BM_sim_schedules_workers(benchmark::State& state) {
  explore_rounds(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)),
                 static_cast<unsigned>(state.range(2)), 5 * kSchedulesPerRound);
}
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
    ++trees;
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  state.counters["us_per_schedule"] = us / static_cast<double>(trees);
}
BENCHMARK(BM_process_tree)->ArgName("procs")->Arg(2)->Arg(3)->Arg(5)->Arg(8)->UseRealTime();

}  // namespace
}  // namespace bench
