// ceramic bench — the many-senders, many-receivers driver behind the MPMC benchmarks.
//
// S senders and R receivers (forked children, ceramic::Procs, or threads) share one mechanism, a
// Hub. Once all of them are ready the measuring side opens a window of kMpmcWindow: senders send
// distinct 8-byte values as fast as the hub takes them, receivers receive until the stream ends.
// Messages received while the window is open are the result (items_per_second over the window,
// timed by hand: UseManualTime, one iteration). The measuring side itself sleeps through the
// window, so on a 2-core machine it takes no CPU from the workers.
//
// Exactly once: every sender tallies the values it sent (count, sum, and the sum of a mixed hash
// of each value), every receiver the values it received, over the whole run; after the stream
// has ended the two totals must agree, or the benchmark reports an error. A value lost,
// duplicated or torn changes the count or a sum.
//
// A Hub is the mechanism under test, made before the forks so every worker inherits it:
//   bool send(std::uint64_t)         on a sender; false if the hub was shut
//   bool recv(std::uint64_t&)        on a receiver; false once the stream has ended
//   void in_sender(), in_receiver()  after a fork, in the child: drop the ends it does not use
//   void in_parent()                 after the last fork, on the measuring side
//   void finish()                    once every sender has returned: end the stream (close);
//                                    receivers drain what is left, then see the end
//   void unblock()                   from the watchdog: make blocked calls, on any side, fail
//
// Bounded: a Watchdog (peer.hpp) watches the steps of the run (workers ready, each worker
// joined); when one step takes longer than kStallLimit it kills the process workers, sets the
// stop flag and calls unblock(), and the benchmark reports an error.
#pragma once

#include <benchmark/benchmark.h>
#include <signal.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "handoff.hpp"
#include "peer.hpp"
#include "settings.hpp"

namespace bench {

// What one worker sent or received over the run. Written once, when the worker is done, so the
// measured loops share no cache line.
struct alignas(64) MpmcTally {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum{0};
  std::atomic<std::uint64_t> hash_sum{0};
  std::atomic<std::uint64_t> in_window{0};  // receivers: received while the window was open
};

// Shared by the measuring side and every worker (MAP_SHARED, so it works across fork).
struct MpmcControl {
  Word go;                                        // published once: the window opens
  alignas(64) std::atomic<std::uint32_t> window_closed{0};  // read by every worker, written once
  StopFlag stop{0};                               // set by the watchdog
  alignas(64) std::atomic<std::uint32_t> ready{0};  // workers set up and waiting for go
  alignas(64) std::atomic<std::uint64_t> progress{0};  // steps done, for the watchdog
  MpmcTally sent[kMpmcMaxSide];
  MpmcTally received[kMpmcMaxSide];
};

// splitmix64's finalizer: sums of it change when a value is replaced by another, which a plain
// sum misses when two errors cancel out.
inline std::uint64_t mix(std::uint64_t v) noexcept {
  v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
  v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
  return v ^ (v >> 31);
}

struct LocalTally {
  std::uint64_t count = 0, sum = 0, hash_sum = 0;
  void add(std::uint64_t v) noexcept {
    ++count;
    sum += v;
    hash_sum += mix(v);
  }
  void store(MpmcTally& t, std::uint64_t in_window = 0) const noexcept {
    t.count.store(count, std::memory_order_relaxed);
    t.sum.store(sum, std::memory_order_relaxed);
    t.hash_sum.store(hash_sum, std::memory_order_relaxed);
    t.in_window.store(in_window, std::memory_order_release);
  }
};

// Both sides: announce readiness, then wait for the window to open (false: stopped instead).
inline bool arrive_and_wait(MpmcControl& ctl) {
  ctl.ready.fetch_add(1);
  return wait_change<Wait::futex>(ctl.go, 0, ctl.stop) != 0;
}

// Sender k of `senders` sends k + 1, k + 1 + senders, ...: distinct values across all senders.
template <class Hub>
void mpmc_sender(Hub& hub, MpmcControl& ctl, int k, int senders) {
  if (!arrive_and_wait(ctl)) throw PeerFailed("sender: stopped before the window opened");
  LocalTally t;
  bool ok = true;
  for (std::uint64_t v = static_cast<std::uint64_t>(k) + 1;
       ctl.window_closed.load(std::memory_order_relaxed) == 0;
       v += static_cast<std::uint64_t>(senders)) {
    if (!(ok = hub.send(v))) break;  // not delivered: not counted
    t.add(v);
  }
  t.store(ctl.sent[k]);
  if (!ok) throw PeerFailed("sender: send failed");
}

template <class Hub>
void mpmc_receiver(Hub& hub, MpmcControl& ctl, int k) {
  if (!arrive_and_wait(ctl)) throw PeerFailed("receiver: stopped before the window opened");
  LocalTally t;
  std::uint64_t in_window = 0;
  std::uint64_t v = 0;
  while (hub.recv(v)) {
    t.add(v);
    if (ctl.window_closed.load(std::memory_order_relaxed) == 0) ++in_window;
  }
  t.store(ctl.received[k], in_window);
}

// A thread with the shape of ForkedPeer and ceramic::Proc (pid, join_for), so the driver takes
// all three. pid() is 0: there is nothing to kill, the watchdog's unblock() ends its waits.
class ThreadPeer {
 public:
  template <class F>
  explicit ThreadPeer(F&& body)
      : thread_([this, f = std::forward<F>(body)]() mutable {
          int code = 0;
          try {
            f();
          } catch (...) {
            code = 1;
          }
          code_.store(code);
          done_.store(1, std::memory_order_release);
        }) {}
  ThreadPeer(const ThreadPeer&) = delete;
  ThreadPeer& operator=(const ThreadPeer&) = delete;
  // The driver only destroys a ThreadPeer after it was joined or after unblock().
  ~ThreadPeer() {
    if (thread_.joinable()) thread_.join();
  }

  pid_t pid() const noexcept { return 0; }

  std::optional<int> join_for(std::chrono::nanoseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (done_.load(std::memory_order_acquire) == 0) {
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (thread_.joinable()) thread_.join();
    return code_.load();
  }

 private:
  std::atomic<int> code_{0};
  std::atomic<std::uint32_t> done_{0};
  std::thread thread_;  // last: starts after the fields above exist
};

namespace detail {

inline void sleep_for_window() {
  const auto ns = std::chrono::nanoseconds(kMpmcWindow).count();
  timespec left{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &left, &left) == EINTR) {
  }
}

template <class Peer>
std::string join_all(std::vector<std::unique_ptr<Peer>>& peers, const char* role,
                     MpmcControl& ctl) {
  std::string error;
  for (std::size_t i = 0; i < peers.size(); ++i) {
    // The watchdog bounds this: after kStallLimit without a step it kills or unblocks the peer.
    const auto code = peers[i]->join_for(2 * kStallLimit + kJoinLimit);
    ctl.progress.fetch_add(1, std::memory_order_relaxed);
    if ((!code || *code != 0) && error.empty())
      error = std::string(role) + " " + std::to_string(i) + ": " + explain_exit(code);
  }
  return error;
}

}  // namespace detail

// Peer: ForkedPeer, ceramic::Proc or ThreadPeer. state.range(0) senders, state.range(1)
// receivers.
template <class Peer, class Hub>
void mpmc(benchmark::State& state, Hub& hub) {
  constexpr bool kProcesses = !std::is_same_v<Peer, ThreadPeer>;
  const int senders = static_cast<int>(state.range(0));
  const int receivers = static_cast<int>(state.range(1));
  if (senders < 1 || receivers < 1 || senders > kMpmcMaxSide || receivers > kMpmcMaxSide) {
    state.SkipWithError("senders and receivers must be 1 to kMpmcMaxSide");
    return;
  }
  SharedMapping<MpmcControl> ctl;
  std::vector<std::unique_ptr<Peer>> rx, tx;
  flush_before_fork();
  for (int k = 0; k < receivers; ++k)
    rx.push_back(std::make_unique<Peer>([&hub, &ctl, k] {
      if constexpr (kProcesses) hub.in_receiver();
      mpmc_receiver(hub, *ctl, k);
    }));
  for (int k = 0; k < senders; ++k)
    tx.push_back(std::make_unique<Peer>([&hub, &ctl, k, senders] {
      if constexpr (kProcesses) hub.in_sender();
      mpmc_sender(hub, *ctl, k, senders);
    }));
  if constexpr (kProcesses) hub.in_parent();
  std::vector<pid_t> pids;
  for (auto* side : {&rx, &tx})
    for (auto& p : *side) pids.push_back(p->pid());
  Watchdog dog(ctl->progress, kStallLimit, [&hub, &ctl, pids] {
    if constexpr (kProcesses)
      for (pid_t pid : pids) ::kill(pid, SIGKILL);
    ctl->stop.store(1);
    hub.unblock();
    futex_wake(ctl->go.seq, INT_MAX);
  });

  for (auto _ : state) {  // once: mpmc_shapes fixes Iterations(1), and go is published once
    const auto workers = static_cast<std::uint32_t>(senders + receivers);
    while (ctl->ready.load() != workers && ctl->stop.load() == 0)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    ctl->progress.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t start = monotonic_ns();
    ctl->go.seq.store(1, std::memory_order_release);
    futex_wake(ctl->go.seq, INT_MAX);
    detail::sleep_for_window();
    ctl->window_closed.store(1, std::memory_order_relaxed);
    state.SetIterationTime(static_cast<double>(monotonic_ns() - start) / 1e9);
  }

  std::string error = detail::join_all(tx, "sender", *ctl);
  hub.finish();
  const std::string rx_error = detail::join_all(rx, "receiver", *ctl);
  if (error.empty()) error = rx_error;
  if (dog.disarm()) error = "watchdog fired; " + error;
  if (!error.empty()) {
    hub.unblock();  // thread workers still waiting end now, before ~ThreadPeer joins them
    state.SkipWithError(error.c_str());
    return;
  }

  LocalTally out, in;
  std::uint64_t in_window = 0;
  for (int k = 0; k < senders; ++k) {
    out.count += ctl->sent[k].count.load();
    out.sum += ctl->sent[k].sum.load();
    out.hash_sum += ctl->sent[k].hash_sum.load();
  }
  for (int k = 0; k < receivers; ++k) {
    in_window += ctl->received[k].in_window.load(std::memory_order_acquire);
    in.count += ctl->received[k].count.load();
    in.sum += ctl->received[k].sum.load();
    in.hash_sum += ctl->received[k].hash_sum.load();
  }
  if (out.count != in.count || out.sum != in.sum || out.hash_sum != in.hash_sum) {
    state.SkipWithError(("not exactly once: " + std::to_string(out.count) + " values sent, " +
                         std::to_string(in.count) + " received" +
                         (out.count == in.count ? ", different values" : ""))
                            .c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(in_window));
  state.counters["delivered"] = static_cast<double>(in.count);
}

}  // namespace bench
