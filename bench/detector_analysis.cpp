// ceramic bench — how long the deadlock analysis takes against the size of the wait-for graph.
//
// A synthetic snapshot of N processes and 10 N channels: every process holds ten channels
// shared with its neighbour in a ring; all are blocked but one (so the whole ring unwinds
// through the worklist: the worst case for the fixed point), or all are blocked (a knot of N).
#include <benchmark/benchmark.h>

#include <ceramic/detector/analysis.hpp>

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

}  // namespace
}  // namespace bench
