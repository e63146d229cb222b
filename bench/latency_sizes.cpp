// ceramic bench — rendezvous latency against value size, 8 B to 16 MiB: ceramic's
// Chan<std::string> between processes and threads, and the same sweep through a pipe, a
// SOCK_STREAM socketpair (processes) and a mutex+cv slot (threads).
//
// The ping-pong drivers of pingpong.hpp carry the round-trip number; every Link below turns it
// into a message of state.range(0) bytes with that number stamped into its first and last 8 bytes
// (stream.hpp), so a short, torn or stale message is an error, not a fast result. The peer echoes
// the message it received. ns_one_way is half a round trip; bytes_per_second is one message's
// bytes per one-way time.
//
// Buffers are allocated and touched after the fork, on the side that uses them (in_peer,
// in_parent), so no copy-on-write fault is measured; the thread variants call both hooks first.
#include <ceramic/ceramic.hpp>
#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

#include "fd.hpp"
#include "handoff.hpp"
#include "peer.hpp"
#include "pingpong.hpp"
#include "settings.hpp"
#include "stream.hpp"

namespace bench {
namespace {

// The round-trip number a received message carries, if its two stamps agree.
bool read_stamp(const std::string& msg, std::size_t size, std::uint64_t& v) {
  if (msg.size() != size) return false;
  std::uint64_t head = 0;
  std::memcpy(&head, msg.data(), sizeof head);
  if (!has_stamp(msg.data(), size, head)) return false;
  v = head;
  return true;
}

// The measuring side's and the peer's message buffers, each touched by the side that uses it.
class Buffers {
 public:
  explicit Buffers(std::size_t size) : size_(size) {}
  void in_peer() { peer_ = std::string(size_, 'p'); }
  void in_parent() { mine_ = std::string(size_, 'm'); }

  std::size_t size() const noexcept { return size_; }
  std::string& mine() noexcept { return mine_; }
  std::string& peer() noexcept { return peer_; }

 private:
  std::size_t size_;
  std::string mine_;
  alignas(64) std::string peer_;
};

// Two unbuffered Chan<std::string>. Receivers reuse their string (recv_for into it), as a
// program that cares about large values would; up to ChanOptions::inline_bytes (1 KiB) a value
// is copied through the channel's shared memory, above that the receiver reads it straight out
// of the sender's memory.
class SizedChanLink {
 public:
  explicit SizedChanLink(std::size_t size) : b_(size) {}
  bool send(std::uint64_t v) { return put(ping_, b_.mine(), v); }
  bool recv(std::uint64_t& v) { return take(pong_, b_.mine(), v); }
  bool peer_recv(std::uint64_t& v) { return take(ping_, b_.peer(), v); }
  bool peer_send(std::uint64_t v) { return put(pong_, b_.peer(), v); }
  void in_peer() { b_.in_peer(); }
  void in_parent() { b_.in_parent(); }
  void unblock() {
    ping_.close();
    pong_.close();
  }

 private:
  static bool put(ceramic::Chan<std::string>& c, std::string& msg, std::uint64_t v) {
    stamp(msg.data(), msg.size(), v);
    try {
      c.send(msg);
      return true;
    } catch (const ceramic::ChannelClosed&) {
      return false;
    }
  }
  bool take(ceramic::Chan<std::string>& c, std::string& into, std::uint64_t& v) {
    return c.recv_for(into, kStallLimit) == ceramic::Status::ok && read_stamp(into, b_.size(), v);
  }

  ceramic::Chan<std::string> ping_;  // measuring side -> peer
  ceramic::Chan<std::string> pong_;  // peer -> measuring side
  Buffers b_;
};

// Byte streams with their default kernel buffer sizes: two pipes, or one socketpair for both
// directions. A message larger than the buffer streams through it while the other side reads.

// Writes msg, stamped with v, whole.
bool put_stream(const Fd& fd, std::string& msg, std::uint64_t v) {
  stamp(msg.data(), msg.size(), v);
  return write_all(fd.get(), msg.data(), msg.size());
}

// Reads exactly one message of into.size() bytes; v is its round-trip number.
bool take_stream(const Fd& fd, std::string& into, std::uint64_t& v) {
  return read_exact(fd.get(), into.data(), into.size()) && read_stamp(into, into.size(), v);
}

class SizedPipeLink {
 public:
  explicit SizedPipeLink(std::size_t size) : b_(size) {}
  bool send(std::uint64_t v) { return put_stream(down_.b, b_.mine(), v); }
  bool recv(std::uint64_t& v) { return take_stream(up_.a, b_.mine(), v); }
  bool peer_recv(std::uint64_t& v) { return take_stream(down_.a, b_.peer(), v); }
  bool peer_send(std::uint64_t v) { return put_stream(up_.b, b_.peer(), v); }
  void in_peer() {
    down_.b.reset();
    up_.a.reset();
    b_.in_peer();
  }
  void in_parent() {
    down_.a.reset();
    up_.b.reset();
    b_.in_parent();
  }
  void unblock() {}  // the watchdog kills the peer: reads see EOF, writes EPIPE

 private:
  FdPair down_ = make_pipe();  // parent -> peer (a: read end, b: write end)
  FdPair up_ = make_pipe();    // peer -> parent
  Buffers b_;
};

class SizedSocketLink {
 public:
  explicit SizedSocketLink(std::size_t size) : b_(size) {}
  bool send(std::uint64_t v) { return put_stream(s_.a, b_.mine(), v); }
  bool recv(std::uint64_t& v) { return take_stream(s_.a, b_.mine(), v); }
  bool peer_recv(std::uint64_t& v) { return take_stream(s_.b, b_.peer(), v); }
  bool peer_send(std::uint64_t v) { return put_stream(s_.b, b_.peer(), v); }
  void in_peer() {
    s_.a.reset();
    b_.in_peer();
  }
  void in_parent() {
    s_.b.reset();
    b_.in_parent();
  }
  void unblock() { ::shutdown(s_.a.get(), SHUT_RDWR); }

 private:
  FdPair s_ = make_socketpair(SOCK_STREAM);  // a: parent, b: peer
  Buffers b_;
};

// Threads only: a one-value slot per direction, guarded by a mutex and a condition variable.
// One copy per handoff, like ceramic between threads: the sender copies into the slot's string;
// the receiver swaps it out, leaving its previous buffer in the slot, so after the first round
// trip nothing is allocated. (A thread-only program could move the string instead and copy
// nothing; a value that crosses a process boundary has to be copied at least once.)
class SizedMutexCvLink {
 public:
  explicit SizedMutexCvLink(std::size_t size) : b_(size) {}
  bool send(std::uint64_t v) { return put(ping_, b_.mine(), v); }
  bool recv(std::uint64_t& v) { return take(pong_, b_.mine(), v); }
  bool peer_recv(std::uint64_t& v) { return take(ping_, b_.peer(), v); }
  bool peer_send(std::uint64_t v) { return put(pong_, b_.peer(), v); }
  void in_peer() { b_.in_peer(); }
  void in_parent() { b_.in_parent(); }
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
    std::string value;  // guarded by mu
  };
  static bool put(Slot& s, std::string& msg, std::uint64_t v) {
    stamp(msg.data(), msg.size(), v);
    {
      std::lock_guard lock(s.mu);
      s.value.assign(msg);
      s.full = true;
    }
    s.cv.notify_one();
    return true;
  }
  bool take(Slot& s, std::string& into, std::uint64_t& v) {
    {
      std::unique_lock lock(s.mu);
      while (!s.full) {
        if (s.stop) return false;
        s.cv.wait_for(lock, kStopPoll);
      }
      s.full = false;
      into.swap(s.value);
    }
    return read_stamp(into, b_.size(), v);
  }

  Slot ping_, pong_;
  Buffers b_;
};

std::size_t message_size(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

// bytes_per_second: one message per one-way trip (two per iteration).
void count_bytes(benchmark::State& state) {
  if (!state.error_occurred())
    state.SetBytesProcessed(state.iterations() * 2 * static_cast<std::int64_t>(state.range(0)));
}

// Peer: ceramic::Proc for ceramic, ForkedPeer for the baselines (as in the 8-byte suites).
template <class Peer, class Link>
void sized_processes(benchmark::State& state) {
  Link link(message_size(state));
  pingpong_processes<Peer>(state, link);
  count_bytes(state);
}

template <class Link>
void sized_threads(benchmark::State& state) {
  Link link(message_size(state));
  link.in_parent();
  link.in_peer();
  pingpong_threads(state, link);
  count_bytes(state);
}

void BM_ceramic_pingpong_size_proc(benchmark::State& state) {
  sized_processes<ceramic::Proc, SizedChanLink>(state);
}
BENCHMARK(BM_ceramic_pingpong_size_proc)->Apply(timed_value_sizes);

void BM_socketpair_pingpong_size_proc(benchmark::State& state) {
  sized_processes<ForkedPeer, SizedSocketLink>(state);
}
BENCHMARK(BM_socketpair_pingpong_size_proc)->Apply(timed_value_sizes);

void BM_pipe_pingpong_size_proc(benchmark::State& state) {
  sized_processes<ForkedPeer, SizedPipeLink>(state);
}
BENCHMARK(BM_pipe_pingpong_size_proc)->Apply(timed_value_sizes);

void BM_ceramic_pingpong_size_threads(benchmark::State& state) {
  sized_threads<SizedChanLink>(state);
}
BENCHMARK(BM_ceramic_pingpong_size_threads)->Apply(timed_value_sizes);

void BM_mutexcv_pingpong_size_threads(benchmark::State& state) {
  sized_threads<SizedMutexCvLink>(state);
}
BENCHMARK(BM_mutexcv_pingpong_size_threads)->Apply(timed_value_sizes);

}  // namespace
}  // namespace bench
