// ceramic bench — how long the deadlock analysis takes against the size of the wait-for graph.
//
// A synthetic snapshot of N processes and 10 N channels: every process holds ten channels
// shared with its neighbour in a ring; all are blocked but one (so the whole ring unwinds
// through the worklist: the worst case for the fixed point), or all are blocked (a knot of N).
//
// BM_detector_report_*: the whole path from a snapshot to the printed reports (analyze, then
// text, DOT and JSON, what ceramic-run and ceramic-trace do) on snapshots of 10k, 20k and 40k
// thread entries, reported as ns_per_thread. Linear work keeps ns_per_thread flat: the ratio
// table compares 40k with 10k (1.0 linear; a quadratic part shows as 4). Shapes:
//   cycle  N single-threaded processes, each waiting on the next: one wait-for cycle of N;
//   crowd  an exited process P with N/2 thread entries, and N/2 single-threaded processes,
//          each blocked in a select over eight channels only it and P hold: every line of the
//          report names P, which has N/2 entries to be described from.
#include <benchmark/benchmark.h>

#include <chrono>

#include <ceramic/detector/analysis.hpp>
#include <ceramic/detector/report.hpp>

#include "settings.hpp"

namespace bench {
namespace {

using ceramic::detector::ChannelInfo;
using ceramic::detector::Snapshot;
using ceramic::detector::ThreadInfo;
using ceramic::detector::Wait;

Snapshot ring(std::int64_t n, bool all_blocked) {
  Snapshot s;
  const int per = 10;
  for (std::int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < per; ++k) {
      ChannelInfo c;
      c.id = static_cast<std::uint64_t>(i * per + k + 1);
      c.holders = {static_cast<pid_t>(i + 1), static_cast<pid_t>((i + 1) % n + 1)};
      s.channels.push_back(std::move(c));
    }
  }
  for (std::int64_t i = 0; i < n; ++i) {
    ThreadInfo t;
    t.pid = t.tid = static_cast<pid_t>(i + 1);
    bool blocked = all_blocked || i != 0;
    t.state = blocked ? ceramic::trace::ThreadState::blocked : ceramic::trace::ThreadState::running;
    t.op = ceramic::trace::WaitOp::recv;
    // Waits on the channel it shares with its predecessor.
    std::int64_t prev = (i + n - 1) % n;
    t.waits.push_back(Wait{static_cast<std::uint64_t>(prev * per + 1), ceramic::trace::WaitOp::recv});
    t.seq = 2;
    s.threads.push_back(std::move(t));
  }
  return s;
}

void BM_detector_analyze_ring_unwinds(benchmark::State& state) {
  Snapshot s = ring(state.range(0), false);
  for (auto _ : state) {
    auto r = ceramic::detector::analyze(s);
    benchmark::DoNotOptimize(r);
    if (r.deadlock) state.SkipWithError("a ring with one running process was reported");
  }
  state.counters["processes"] = static_cast<double>(state.range(0));
  state.counters["channels"] = static_cast<double>(state.range(0) * 10);
}
BENCHMARK(BM_detector_analyze_ring_unwinds)
    ->Unit(benchmark::kMillisecond)->MinTime(kMinTime)->Arg(100)->Arg(1000)->Arg(10000);

void BM_detector_analyze_knot(benchmark::State& state) {
  Snapshot s = ring(state.range(0), true);
  for (auto _ : state) {
    auto r = ceramic::detector::analyze(s);
    benchmark::DoNotOptimize(r);
    if (!r.deadlock) state.SkipWithError("a fully blocked ring was not reported");
  }
  state.counters["processes"] = static_cast<double>(state.range(0));
  state.counters["channels"] = static_cast<double>(state.range(0) * 10);
}
BENCHMARK(BM_detector_analyze_knot)
    ->Unit(benchmark::kMillisecond)->MinTime(kMinTime)->Arg(100)->Arg(1000)->Arg(10000);

Snapshot crowd(std::int64_t n) {
  Snapshot s;
  const pid_t p = 1;
  const std::int64_t waiters = n / 2;
  const int cases = 8;
  for (std::int64_t i = 0; i < n - waiters; ++i) {
    ThreadInfo t;
    t.pid = p;
    t.tid = static_cast<pid_t>(i + 1);
    t.name = "P";
    t.state = i == 0 ? ceramic::trace::ThreadState::exited : ceramic::trace::ThreadState::finished;
    t.last_peer = p;
    t.seq = 2;
    s.threads.push_back(std::move(t));
  }
  s.dead = {p};
  for (std::int64_t i = 0; i < waiters; ++i) {
    ThreadInfo t;
    t.pid = t.tid = static_cast<pid_t>(n + i + 1);
    t.name = "waiter";
    t.state = ceramic::trace::ThreadState::blocked;
    t.op = ceramic::trace::WaitOp::select;
    t.file = "/src/crowd.cpp";
    t.line = 42;
    for (int k = 0; k < cases; ++k) {
      ChannelInfo c;
      c.id = static_cast<std::uint64_t>(i * cases + k + 1);
      c.holders = {t.pid, p};
      s.channels.push_back(std::move(c));
      t.waits.push_back(Wait{static_cast<std::uint64_t>(i * cases + k + 1),
                             ceramic::trace::WaitOp::recv});
    }
    t.seq = 2;
    s.threads.push_back(std::move(t));
  }
  return s;
}

// Snapshot to printed reports, as ceramic-run does on a deadlock.
void report_all(benchmark::State& state, const Snapshot& s) {
  double ns = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto r = ceramic::detector::analyze(s);
    if (!r.deadlock) state.SkipWithError("the snapshot is not deadlocked");
    std::size_t bytes = ceramic::detector::to_text(r).size() + ceramic::detector::to_dot(r).size() +
                        ceramic::detector::to_json(r).size();
    benchmark::DoNotOptimize(bytes);
    ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  }
  const auto threads = static_cast<double>(s.threads.size());
  state.counters["threads"] = threads;
  state.counters["ns_per_thread"] = ns / static_cast<double>(state.iterations()) / threads;
}

void BM_detector_report_cycle(benchmark::State& state) { report_all(state, ring(state.range(0), true)); }
BENCHMARK(BM_detector_report_cycle)
    ->Unit(benchmark::kMillisecond)->MinTime(kMinTime)->Arg(10000)->Arg(20000)->Arg(40000);

void BM_detector_report_crowd(benchmark::State& state) { report_all(state, crowd(state.range(0))); }
BENCHMARK(BM_detector_report_crowd)
    ->Unit(benchmark::kMillisecond)->MinTime(kMinTime)->Arg(10000)->Arg(20000)->Arg(40000);

}  // namespace
}  // namespace bench
