// ceramic bench — MPMC scaling: messages per second through one channel with 1 to 8 senders and
// 1 to 8 receivers, between processes and between threads, against what a user would share
// instead: one pipe for all writers and readers (processes), a mutex+condition_variable queue
// (threads). The driver and the exactly-once check: mpmc.hpp.
//
// ceramic runs unbuffered (every message is a rendezvous of one sender and one receiver) and
// buffered with kQueueCapacity slots, the same depth as the mutex+cv queue. A pipe buffers 64 KiB
// by default, 8192 of these messages.
#include <ceramic/ceramic.hpp>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "fd.hpp"
#include "handoff.hpp"
#include "mpmc.hpp"
#include "peer.hpp"
#include "settings.hpp"

namespace bench {
namespace {

constexpr std::size_t kQueueCapacity = 1024;

class ChanHub {
 public:
  explicit ChanHub(std::size_t capacity) : ch_(ceramic::ChanOptions{.capacity = capacity}) {}
  bool send(std::uint64_t v) {
    try {
      ch_.send(v);
      return true;
    } catch (const ceramic::ChannelClosed&) {
      return false;
    }
  }
  bool recv(std::uint64_t& v) {
    const std::optional<std::uint64_t> got = ch_.recv();
    if (!got) return false;
    v = *got;
    return true;
  }
  void in_sender() {}
  void in_receiver() {}
  void in_parent() {}
  // close() wakes every waiter in every process; receivers still get the buffered values.
  void finish() { ch_.close(); }
  void unblock() { ch_.close(); }

 private:
  ceramic::Chan<std::uint64_t> ch_;
};

// One pipe, every sender writing and every receiver reading it. A write of 8 bytes is atomic
// (at most PIPE_BUF) and every read asks for 8, so values never interleave. The stream ends when
// the last write end closes: senders exit, and the measuring side drops its ends after the forks.
class PipeHub {
 public:
  bool send(std::uint64_t v) { return write_all(p_.b.get(), &v, sizeof v); }
  bool recv(std::uint64_t& v) { return read_exact(p_.a.get(), &v, sizeof v); }
  void in_sender() { p_.a.reset(); }
  void in_receiver() { p_.b.reset(); }
  void in_parent() {
    p_.a.reset();
    p_.b.reset();
  }
  void finish() {}
  void unblock() {}  // the watchdog kills the workers

 private:
  FdPair p_ = make_pipe();  // a: read end, b: write end
};

// Threads only: a bounded FIFO under one mutex, a condition variable for each direction.
class MutexCvQueueHub {
 public:
  bool send(std::uint64_t v) {
    {
      std::unique_lock lock(mu_);
      while (count_ == kQueueCapacity && !closed_) not_full_.wait_for(lock, kStopPoll);
      if (closed_) return false;
      ring_[(head_ + count_) % kQueueCapacity] = v;
      ++count_;
    }
    not_empty_.notify_one();
    return true;
  }
  bool recv(std::uint64_t& v) {
    {
      std::unique_lock lock(mu_);
      while (count_ == 0 && !closed_) not_empty_.wait_for(lock, kStopPoll);
      if (count_ == 0) return false;  // closed and drained
      v = ring_[head_];
      head_ = (head_ + 1) % kQueueCapacity;
      --count_;
    }
    not_full_.notify_one();
    return true;
  }
  void in_sender() {}
  void in_receiver() {}
  void in_parent() {}
  void finish() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  void unblock() { finish(); }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::vector<std::uint64_t> ring_ = std::vector<std::uint64_t>(kQueueCapacity);  // guarded by mu_
  std::size_t head_ = 0, count_ = 0;  // guarded by mu_
  bool closed_ = false;               // guarded by mu_
};

// ---- processes ----

void BM_ceramic_mpmc_proc(benchmark::State& state) {
  ChanHub hub(0);
  mpmc<ceramic::Proc>(state, hub);
}
BENCHMARK(BM_ceramic_mpmc_proc)->Apply(mpmc_shapes);

void BM_ceramic_mpmc_buffered_proc(benchmark::State& state) {
  ChanHub hub(kQueueCapacity);
  mpmc<ceramic::Proc>(state, hub);
}
BENCHMARK(BM_ceramic_mpmc_buffered_proc)->Apply(mpmc_shapes);

void BM_pipe_mpmc_proc(benchmark::State& state) {
  PipeHub hub;
  mpmc<ForkedPeer>(state, hub);
}
BENCHMARK(BM_pipe_mpmc_proc)->Apply(mpmc_shapes);

// ---- threads ----

void BM_ceramic_mpmc_threads(benchmark::State& state) {
  ChanHub hub(0);
  mpmc<ThreadPeer>(state, hub);
}
BENCHMARK(BM_ceramic_mpmc_threads)->Apply(mpmc_shapes);

void BM_ceramic_mpmc_buffered_threads(benchmark::State& state) {
  ChanHub hub(kQueueCapacity);
  mpmc<ThreadPeer>(state, hub);
}
BENCHMARK(BM_ceramic_mpmc_buffered_threads)->Apply(mpmc_shapes);

void BM_mutexcv_queue_mpmc_threads(benchmark::State& state) {
  MutexCvQueueHub hub;
  mpmc<ThreadPeer>(state, hub);
}
BENCHMARK(BM_mutexcv_queue_mpmc_threads)->Apply(mpmc_shapes);

}  // namespace
}  // namespace bench
