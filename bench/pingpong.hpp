// ceramic bench — the ping-pong drivers behind every latency benchmark.
//
// The measuring thread sends an 8-byte value to a peer, the peer sends it back; one benchmark
// iteration is one round trip, and the counter ns_one_way is half of it (the one-way rendezvous
// latency). The peer is a forked child (pingpong_processes, with ForkedPeer or ceramic::Proc) or
// a std::thread (pingpong_threads).
//
// A Link is the mechanism under test. It is made before the fork, so both sides inherit it:
//   bool send(std::uint64_t)        measuring side -> peer
//   bool recv(std::uint64_t&)       peer -> measuring side
//   bool peer_recv(std::uint64_t&)  on the peer
//   bool peer_send(std::uint64_t)   on the peer
//   void in_peer(), in_parent()     after a fork, on each side: drop the other side's ends
//   void unblock()                  from the watchdog: make blocked calls (on either side) fail
// Every call returns false on failure; the benchmark then reports an error instead of a number.
//
// Variants: `pinned` puts both processes on CPU 0 (every handoff is then a context switch);
// `peer_sleeps` makes the peer sleep kPeerSleep before each answer, so the answer has to wake a
// measuring side that is asleep. There ns_one_way is (round trip - the peer's measured sleep) / 2
// and us_sleep reports the sleep itself.
#pragma once

#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "handoff.hpp"
#include "peer.hpp"
#include "settings.hpp"

namespace bench {

struct PingPongOptions {
  bool pinned = false;
  bool peer_sleeps = false;
};

// Shared by the measuring side and the peer (MAP_SHARED, so it works across fork).
struct PeerControl {
  Word ready;                              // the peer publishes 1 once it is set up
  StopFlag stop{0};                        // set by the watchdog
  std::atomic<std::uint32_t> failed{0};    // a thread peer's failure (a process peer exits 1)
  std::atomic<std::uint64_t> slept_ns{0};  // peer_sleeps: total time the peer spent asleep
  // Handoffs completed by the measuring side, for the watchdog (its own cache line: the measured
  // loop writes it, only the watchdog reads it).
  alignas(64) std::atomic<std::uint64_t> progress{0};
};

inline void sleep_before_answer(PeerControl& ctl) {
  const std::int64_t start = monotonic_ns();
  const auto ns = std::chrono::nanoseconds(kPeerSleep).count();
  timespec left{0, static_cast<long>(ns)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &left, &left) == EINTR) {
  }
  ctl.slept_ns.fetch_add(static_cast<std::uint64_t>(monotonic_ns() - start),
                         std::memory_order_relaxed);
}

template <class Link>
void echo_peer(Link& link, PeerControl& ctl, benchmark::IterationCount n, bool sleeps) {
  if (sleeps) prctl(PR_SET_TIMERSLACK, 1UL);  // sleep 200 us, not 200 us + 50 us of slack
  publish<Wait::spin_then_futex>(ctl.ready, 1);
  for (benchmark::IterationCount i = 0; i < n; ++i) {
    std::uint64_t v = 0;
    if (!link.peer_recv(v)) throw PeerFailed("peer: receive failed");
    if (sleeps) sleep_before_answer(ctl);
    if (!link.peer_send(v)) throw PeerFailed("peer: send failed");
  }
}

// The measured part, the same for process and thread peers. explain() says what the peer was
// doing when a round trip failed (it runs only then).
template <class Link, class Explain>
void measure_round_trips(benchmark::State& state, Link& link, PeerControl& ctl, Explain explain) {
  if (wait_change<Wait::spin_then_futex>(ctl.ready, 0, ctl.stop) == 0) {
    state.SkipWithError(("peer did not start; " + explain()).c_str());
    return;
  }
  std::uint64_t i = 1;
  const std::int64_t start = monotonic_ns();
  for (auto _ : state) {
    std::uint64_t back = 0;
    const char* failed = !link.send(i)       ? "send failed"
                         : !link.recv(back)  ? "receive failed"
                         : back != i         ? "a wrong value came back"
                                             : nullptr;
    if (failed != nullptr) {
      state.SkipWithError(
          (std::string(failed) + " in round trip " + std::to_string(i) + "; " + explain())
              .c_str());
      break;
    }
    ctl.progress.store(i, std::memory_order_relaxed);
    ++i;
  }
  const std::int64_t elapsed = monotonic_ns() - start;
  if (state.error_occurred() || state.iterations() == 0) return;
  const double slept = static_cast<double>(ctl.slept_ns.load(std::memory_order_acquire));
  const double iters = static_cast<double>(state.iterations());
  state.counters["ns_one_way"] = (static_cast<double>(elapsed) - slept) / (2 * iters);
  if (slept > 0) state.counters["us_sleep"] = slept / iters / 1e3;
  // A spinning link counts how often a side gave up polling: each such stall costs as much as
  // thousands of handoffs, so a few per million move the mean (docs/performance.md).
  if constexpr (requires { link.yields(); })
    state.counters["yields_per_M"] = static_cast<double>(link.yields()) * 1e6 / (2 * iters);
}

// Peer: ForkedPeer or ceramic::Proc (constructed from a callable; pid(); join_for()).
template <class Peer, class Link>
void pingpong_processes(benchmark::State& state, Link& link, PingPongOptions opt = {}) {
  ScopedPinning pin(opt.pinned);
  SharedMapping<PeerControl> ctl;
  const benchmark::IterationCount n = state.max_iterations;
  flush_before_fork();
  Peer peer([&link, &ctl, n, opt] {
    link.in_peer();
    echo_peer(link, *ctl, n, opt.peer_sleeps);
  });
  link.in_parent();
  const pid_t pid = peer.pid();
  Watchdog dog(ctl->progress, kStallLimit, [&link, &ctl, pid] {
    ::kill(pid, SIGKILL);
    ctl->stop.store(1);
    link.unblock();
  });
  measure_round_trips(state, link, *ctl, [&] { return explain_peer(peer, ctl->stop); });
  if (dog.disarm() && !state.error_occurred()) state.SkipWithError("watchdog fired");
  if (state.error_occurred()) return;  // ~Peer kills and reaps the child
  const auto code = peer.join_for(kJoinLimit);
  if (!code || *code != 0) state.SkipWithError(("after the run: " + explain_exit(code)).c_str());
}

template <class Link>
void pingpong_threads(benchmark::State& state, Link& link) {
  SharedMapping<PeerControl> ctl;
  const benchmark::IterationCount n = state.max_iterations;
  std::thread peer([&link, &ctl, n] {
    try {
      echo_peer(link, *ctl, n, false);
    } catch (...) {
      ctl->failed.store(1);
    }
  });
  Watchdog dog(ctl->progress, kStallLimit, [&link, &ctl] {
    ctl->stop.store(1);
    link.unblock();
  });
  measure_round_trips(state, link, *ctl, [&] {
    return std::string(ctl->stop.load() != 0 ? "watchdog fired; " : "") +
           (ctl->failed.load() != 0 ? "the peer thread failed" : "the peer thread is running");
  });
  if (state.error_occurred()) {
    ctl->stop.store(1);
    link.unblock();
  }
  peer.join();
  if (dog.disarm() && !state.error_occurred()) state.SkipWithError("watchdog fired");
  if (ctl->failed.load() != 0 && !state.error_occurred()) state.SkipWithError("peer failed");
}

}  // namespace bench
