// ceramic bench — the knobs every suite shares, in one place so the docs can quote them.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace bench {

// Minimum measured time per benchmark run. Small on purpose: scripts/bench.sh (build, the whole
// binary with repetitions, the figures) must stay under ten minutes on a 2-core VM.
inline constexpr double kMinTime = 0.3;

// No single handoff may take longer than this. When one does, a watchdog kills the peer,
// unblocks the measuring side, and the benchmark reports an error instead of hanging.
inline constexpr std::chrono::seconds kStallLimit{10};

// How long a finished peer may take to exit before it is killed.
inline constexpr std::chrono::seconds kJoinLimit{5};

// "Sleeping peer" variants: the peer sleeps this long before answering each message, so the
// answer always finds the measuring side asleep in the kernel.
inline constexpr std::chrono::microseconds kPeerSleep{200};

// Spin budget of the spin-then-futex baseline.
inline constexpr std::chrono::microseconds kSpinBudget{5};

// Message sizes of the throughput suites.
inline constexpr std::size_t kMiB = std::size_t{1} << 20;

// Every benchmark measures wall-clock time: the work happens in two processes or threads, and
// the CPU time of the measuring thread alone would hide half of it.
inline void timed(benchmark::internal::Benchmark* b) { b->UseRealTime()->MinTime(kMinTime); }

// The throughput suites, once per message size.
inline void timed_sizes(benchmark::internal::Benchmark* b) {
  timed(b);
  b->Arg(static_cast<std::int64_t>(kMiB))->Arg(static_cast<std::int64_t>(16 * kMiB));
}

// The latency-against-size sweep: a word, a cache line's worth, under and over ceramic's 1 KiB
// inline limit for strings, a pipe's buffer, and the two throughput sizes.
inline void timed_value_sizes(benchmark::internal::Benchmark* b) {
  timed(b);
  for (std::int64_t size : {8, 64, 512, 4096, 65536, 1 << 20, 16 << 20}) b->Arg(size);
}

// MPMC: how long each run lets the senders send. The run is timed by hand (UseManualTime) over
// exactly this window, so it is one iteration; repetitions give the spread.
inline constexpr std::chrono::milliseconds kMpmcWindow{300};

// MPMC: the (senders, receivers) combinations, and the most of either side.
inline constexpr int kMpmcMaxSide = 8;
inline void mpmc_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"senders", "receivers"})->UseManualTime()->Iterations(1);
  for (int n : {1, 2, 4, 8}) b->Args({n, n});
  b->Args({1, 8})->Args({8, 1});
}

}  // namespace bench
