// ceramic bench — one-way latency of the mechanisms a user would pick instead of a channel.
//
// Each Link below moves 8-byte values both ways between the measuring side and a peer; the
// drivers in pingpong.hpp time the round trips. Process peers are forked children; thread peers
// are std::threads. See docs/performance.md for the results and how to read them.
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "fd.hpp"
#include "handoff.hpp"
#include "peer.hpp"
#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {
namespace {

// Two pipes, one per direction.
class PipeLink {
 public:
  bool send(std::uint64_t v) { return write_all(down_.b.get(), &v, sizeof v); }
  bool recv(std::uint64_t& v) { return read_exact(up_.a.get(), &v, sizeof v); }
  bool peer_recv(std::uint64_t& v) { return read_exact(down_.a.get(), &v, sizeof v); }
  bool peer_send(std::uint64_t v) { return write_all(up_.b.get(), &v, sizeof v); }
  void in_peer() {
    down_.b.reset();
    up_.a.reset();
  }
  void in_parent() {
    down_.a.reset();
    up_.b.reset();
  }
  void unblock() {}  // the watchdog kills the peer: reads see EOF, writes EPIPE

 private:
  FdPair down_ = make_pipe();  // parent -> peer
  FdPair up_ = make_pipe();    // peer -> parent
};

// One SOCK_STREAM socketpair, both directions.
class StreamSocketLink {
 public:
  bool send(std::uint64_t v) { return write_all(s_.a.get(), &v, sizeof v); }
  bool recv(std::uint64_t& v) { return read_exact(s_.a.get(), &v, sizeof v); }
  bool peer_recv(std::uint64_t& v) { return read_exact(s_.b.get(), &v, sizeof v); }
  bool peer_send(std::uint64_t v) { return write_all(s_.b.get(), &v, sizeof v); }
  void in_peer() { s_.a.reset(); }
  void in_parent() { s_.b.reset(); }
  void unblock() { ::shutdown(s_.a.get(), SHUT_RDWR); }

 private:
  FdPair s_ = make_socketpair(SOCK_STREAM);  // a: parent, b: peer
};

// The seed library's protocol: one channel is three SOCK_DGRAM socketpairs. A receive announces
// itself on `ready`, then takes the value from `data` and confirms on `ack`; a send waits for
// `ready`, writes `data` and returns only after `ack`, so send and receive meet like chan(0).
// In every pair, end a belongs to the sender and end b to the receiver.
class SeedChannel {
 public:
  bool send(std::uint64_t v) {
    char token = 0;
    return read_exact(ready_.a.get(), &token, 1) && write_all(data_.a.get(), &v, sizeof v) &&
           read_exact(ack_.a.get(), &token, 1);
  }
  bool recv(std::uint64_t& v) {
    const char token = 1;
    return write_all(ready_.b.get(), &token, 1) && read_exact(data_.b.get(), &v, sizeof v) &&
           write_all(ack_.b.get(), &token, 1);
  }
  void drop_sender_ends() {
    for (FdPair* p : {&data_, &ack_, &ready_}) p->a.reset();
  }
  void drop_receiver_ends() {
    for (FdPair* p : {&data_, &ack_, &ready_}) p->b.reset();
  }
  // A blocked recv on a datagram socket does not see its peer die; shutdown wakes it with 0.
  void shut_down() {
    for (FdPair* p : {&data_, &ack_, &ready_}) {
      ::shutdown(p->a.get(), SHUT_RDWR);
      ::shutdown(p->b.get(), SHUT_RDWR);
    }
  }

 private:
  FdPair data_ = make_socketpair(SOCK_DGRAM);
  FdPair ack_ = make_socketpair(SOCK_DGRAM);
  FdPair ready_ = make_socketpair(SOCK_DGRAM);
};

class SeedLink {
 public:
  bool send(std::uint64_t v) { return ping_.send(v); }
  bool recv(std::uint64_t& v) { return pong_.recv(v); }
  bool peer_recv(std::uint64_t& v) { return ping_.recv(v); }
  bool peer_send(std::uint64_t v) { return pong_.send(v); }
  void in_peer() {
    ping_.drop_sender_ends();
    pong_.drop_receiver_ends();
  }
  void in_parent() {
    ping_.drop_receiver_ends();
    pong_.drop_sender_ends();
  }
  void unblock() {
    ping_.shut_down();
    pong_.shut_down();
  }

 private:
  SeedChannel ping_;  // parent sends
  SeedChannel pong_;  // peer sends
};

// Two eventfds, one per direction; the 8-byte counter is the value (always non-zero here).
class EventfdLink {
 public:
  EventfdLink() : ping_(eventfd(0, EFD_CLOEXEC)), pong_(eventfd(0, EFD_CLOEXEC)) {
    if (ping_.get() < 0 || pong_.get() < 0) throw std::runtime_error("eventfd failed");
  }
  bool send(std::uint64_t v) { return write_all(ping_.get(), &v, sizeof v); }
  bool recv(std::uint64_t& v) { return read_exact(pong_.get(), &v, sizeof v); }
  bool peer_recv(std::uint64_t& v) { return read_exact(ping_.get(), &v, sizeof v); }
  bool peer_send(std::uint64_t v) { return write_all(pong_.get(), &v, sizeof v); }
  void in_peer() {}
  void in_parent() {}
  // An eventfd reader does not see its peer die: hand it a value nobody sent.
  void unblock() {
    const std::uint64_t poison = std::uint64_t{1} << 62;
    [[maybe_unused]] auto a = ::write(ping_.get(), &poison, sizeof poison);
    [[maybe_unused]] auto b = ::write(pong_.get(), &poison, sizeof poison);
  }

 private:
  Fd ping_, pong_;
};

// Two Words in MAP_SHARED memory (handoff.hpp), waited on by futex, spin-then-futex or spinning.
template <Wait W>
class WordLink {
 public:
  bool send(std::uint64_t v) {
    publish<W>(s_->ping, next(ping_sent_), v);
    return true;
  }
  bool recv(std::uint64_t& v) { return take(s_->pong, pong_seen_, v); }
  bool peer_recv(std::uint64_t& v) { return take(s_->ping, ping_seen_, v); }
  bool peer_send(std::uint64_t v) {
    publish<W>(s_->pong, next(pong_sent_), v);
    return true;
  }
  void in_peer() {}
  void in_parent() {}
  void unblock() {
    s_->stop.store(1);
    futex_wake(s_->ping.seq, 1);
    futex_wake(s_->pong.seq, 1);
  }
  // spin: the yields of both sides (handoff.hpp), reported per million one-way handoffs.
  std::uint64_t yields() const
    requires(W == Wait::spin)
  {
    return std::uint64_t{s_->ping.yields.load()} + s_->pong.yields.load();
  }

 private:
  struct Shared {
    Word ping;  // parent -> peer
    Word pong;  // peer -> parent
    StopFlag stop{0};
  };
  static std::uint32_t next(std::uint32_t& seq) {
    if (++seq == 0) ++seq;  // 0 means "stopped" to wait_change
    return seq;
  }
  bool take(Word& w, std::uint32_t& seen, std::uint64_t& v) {
    const std::uint32_t now = wait_change<W>(w, seen, s_->stop);
    if (now == 0) return false;
    seen = now;
    v = w.value.load(std::memory_order_relaxed);
    return true;
  }

  SharedMapping<Shared> s_;
  // Each pair is used by one side only (after a fork, each process has its own copy); separate
  // cache lines so that thread peers do not share them.
  alignas(64) std::uint32_t ping_sent_ = 0, pong_seen_ = 0;  // measuring side
  alignas(64) std::uint32_t ping_seen_ = 0, pong_sent_ = 0;  // peer
};

// Threads only: a one-value slot per direction, guarded by a mutex and a condition variable.
class MutexCvLink {
 public:
  bool send(std::uint64_t v) { return put(ping_, v); }
  bool recv(std::uint64_t& v) { return take(pong_, v); }
  bool peer_recv(std::uint64_t& v) { return take(ping_, v); }
  bool peer_send(std::uint64_t v) { return put(pong_, v); }
  void in_peer() {}
  void in_parent() {}
  void unblock() {
    for (Slot* s : {&ping_, &pong_}) {
      {
        std::lock_guard lock(s->mu);
        s->stop = true;
      }
      s->cv.notify_all();
    }
  }

 private:
  struct alignas(64) Slot {
    std::mutex mu;
    std::condition_variable cv;
    bool full = false;  // guarded by mu
    bool stop = false;  // guarded by mu
    std::uint64_t value = 0;
  };
  static bool put(Slot& s, std::uint64_t v) {
    {
      std::lock_guard lock(s.mu);
      s.value = v;
      s.full = true;
    }
    s.cv.notify_one();
    return true;
  }
  static bool take(Slot& s, std::uint64_t& v) {
    std::unique_lock lock(s.mu);
    while (!s.full) {
      if (s.stop) return false;
      s.cv.wait_for(lock, kStopPoll);
    }
    s.full = false;
    v = s.value;
    return true;
  }

  Slot ping_, pong_;
};

// ---- process to process ----

void BM_pipe_pingpong_proc(benchmark::State& state) {
  PipeLink link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_pipe_pingpong_proc)->Apply(timed);

void BM_socketpair_pingpong_proc(benchmark::State& state) {
  StreamSocketLink link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_socketpair_pingpong_proc)->Apply(timed);

void BM_seed3dgram_pingpong_proc(benchmark::State& state) {
  SeedLink link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_seed3dgram_pingpong_proc)->Apply(timed);

void BM_eventfd_pingpong_proc(benchmark::State& state) {
  EventfdLink link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_eventfd_pingpong_proc)->Apply(timed);

void BM_futex_pingpong_proc(benchmark::State& state) {
  WordLink<Wait::futex> link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_futex_pingpong_proc)->Apply(timed);

void BM_spinfutex_pingpong_proc(benchmark::State& state) {
  WordLink<Wait::spin_then_futex> link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_spinfutex_pingpong_proc)->Apply(timed);

void BM_spin_pingpong_proc(benchmark::State& state) {
  WordLink<Wait::spin> link;
  pingpong_processes<ForkedPeer>(state, link);
}
BENCHMARK(BM_spin_pingpong_proc)->Apply(timed);

void BM_futex_pingpong_proc_pinned(benchmark::State& state) {
  WordLink<Wait::futex> link;
  pingpong_processes<ForkedPeer>(state, link, {.pinned = true});
}
BENCHMARK(BM_futex_pingpong_proc_pinned)->Apply(timed);

void BM_futex_pingpong_proc_sleeping(benchmark::State& state) {
  WordLink<Wait::futex> link;
  pingpong_processes<ForkedPeer>(state, link, {.peer_sleeps = true});
}
BENCHMARK(BM_futex_pingpong_proc_sleeping)->Apply(timed);

// ---- thread to thread ----

void BM_mutexcv_pingpong_threads(benchmark::State& state) {
  MutexCvLink link;
  pingpong_threads(state, link);
}
BENCHMARK(BM_mutexcv_pingpong_threads)->Apply(timed);

void BM_spin_pingpong_threads(benchmark::State& state) {
  WordLink<Wait::spin> link;
  pingpong_threads(state, link);
}
BENCHMARK(BM_spin_pingpong_threads)->Apply(timed);

void BM_spinfutex_pingpong_threads(benchmark::State& state) {
  WordLink<Wait::spin_then_futex> link;
  pingpong_threads(state, link);
}
BENCHMARK(BM_spinfutex_pingpong_threads)->Apply(timed);

}  // namespace
}  // namespace bench
