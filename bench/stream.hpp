// ceramic bench — the one-way stream drivers behind every throughput benchmark.
//
// One benchmark iteration moves one message of state.range(0) bytes, and SetBytesProcessed turns
// that into bytes per second. The measuring side is the receiver (stream_to_parent,
// stream_threads) or, for a rendezvous channel whose send returns only once the value was taken,
// the sender (stream_from_parent). Either way the clock stops after the last byte has arrived.
//
// A Link is the mechanism under test, made before the fork:
//   void in_peer(std::size_t size)              on the peer: drop the other side's ends, allocate
//                                               and touch the peer's buffer
//   void in_parent(std::size_t size, pid_t)     on the measuring side, likewise (pid: the peer's)
//   bool peer_send() / bool recv()              peer -> measuring side, one message
//   bool send() / bool peer_recv()              measuring side -> peer (stream_from_parent only)
//   void unblock()                              from the watchdog: make blocked calls fail
// Buffers are allocated after the fork, on the side that uses them, so no copy-on-write fault is
// ever measured. Each message carries its sequence number in its first and last 8 bytes, and the
// receiver checks both: a short, torn or reordered transfer is an error, not a fast result.
#pragma once

#include <benchmark/benchmark.h>
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "handoff.hpp"
#include "peer.hpp"
#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {

inline void stamp(char* msg, std::size_t size, std::uint64_t seq) noexcept {
  std::memcpy(msg, &seq, sizeof seq);
  std::memcpy(msg + size - sizeof seq, &seq, sizeof seq);
}

inline bool has_stamp(const char* msg, std::size_t size, std::uint64_t seq) noexcept {
  std::uint64_t head = 0, tail = 0;
  std::memcpy(&head, msg, sizeof head);
  std::memcpy(&tail, msg + size - sizeof tail, sizeof tail);
  return head == seq && tail == seq;
}

namespace detail {

template <class Peer, class Link, class PeerLoop, class MeasureOne>
void stream_processes(benchmark::State& state, Link& link, PeerLoop peer_loop,
                      MeasureOne measure_one) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const benchmark::IterationCount n = state.max_iterations;
  flush_before_fork();
  SharedMapping<PeerControl> ctl;
  Peer peer([&link, &ctl, n, size, peer_loop] {
    link.in_peer(size);
    publish<Wait::spin_then_futex>(ctl->ready, 1);
    for (benchmark::IterationCount i = 0; i < n; ++i)
      if (!peer_loop(link)) throw PeerFailed("peer: transfer failed");
  });
  link.in_parent(size, peer.pid());
  const pid_t pid = peer.pid();
  Watchdog dog(ctl->progress, kStallLimit, [&link, &ctl, pid] {
    ::kill(pid, SIGKILL);
    ctl->stop.store(1);
    link.unblock();
  });
  if (wait_change<Wait::spin_then_futex>(ctl->ready, 0, ctl->stop) == 0) {
    state.SkipWithError(("peer did not start; " + explain_peer(peer, ctl->stop)).c_str());
  } else {
    std::int64_t message = 0;
    for (auto _ : state) {
      ++message;
      if (!measure_one(link)) {
        state.SkipWithError(("transfer of message " + std::to_string(message) +
                             " failed or arrived torn; " + explain_peer(peer, ctl->stop))
                                .c_str());
        break;
      }
      ctl->progress.store(static_cast<std::uint64_t>(message), std::memory_order_relaxed);
    }
  }
  if (dog.disarm() && !state.error_occurred()) state.SkipWithError("watchdog fired");
  if (state.error_occurred()) return;  // ~Peer kills and reaps the child
  const auto code = peer.join_for(kJoinLimit);
  if (!code || *code != 0) state.SkipWithError(("after the run: " + explain_exit(code)).c_str());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

}  // namespace detail

template <class Peer, class Link>
void stream_to_parent(benchmark::State& state, Link& link) {
  detail::stream_processes<Peer>(
      state, link, [](Link& l) { return l.peer_send(); }, [](Link& l) { return l.recv(); });
}

template <class Peer, class Link>
void stream_from_parent(benchmark::State& state, Link& link) {
  detail::stream_processes<Peer>(
      state, link, [](Link& l) { return l.peer_recv(); }, [](Link& l) { return l.send(); });
}

// Peer thread sends, measuring thread receives.
template <class Link>
void stream_threads(benchmark::State& state, Link& link) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const benchmark::IterationCount n = state.max_iterations;
  SharedMapping<PeerControl> ctl;
  link.in_parent(size, 0);
  std::thread peer([&link, &ctl, n, size] {
    try {
      link.in_peer(size);
      publish<Wait::spin_then_futex>(ctl->ready, 1);
      for (benchmark::IterationCount i = 0; i < n; ++i)
        if (!link.peer_send()) throw PeerFailed("peer: send failed");
    } catch (...) {
      ctl->failed.store(1);
    }
  });
  Watchdog dog(ctl->progress, kStallLimit, [&link, &ctl] {
    ctl->stop.store(1);
    link.unblock();
  });
  if (wait_change<Wait::spin_then_futex>(ctl->ready, 0, ctl->stop) == 0) {
    state.SkipWithError("peer did not start");
  } else {
    std::uint64_t message = 0;
    for (auto _ : state) {
      ctl->progress.store(++message, std::memory_order_relaxed);
      if (!link.recv()) {
        state.SkipWithError(ctl->stop.load() != 0 ? "watchdog fired"
                            : ctl->failed.load() != 0
                                ? "the peer thread failed"
                                : "a message failed to arrive or arrived torn");
        break;
      }
    }
  }
  if (state.error_occurred()) {
    ctl->stop.store(1);
    link.unblock();
  }
  peer.join();
  if (dog.disarm() && !state.error_occurred()) state.SkipWithError("watchdog fired");
  if (ctl->failed.load() != 0 && !state.error_occurred()) state.SkipWithError("peer failed");
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

}  // namespace bench
