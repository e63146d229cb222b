// ceramic bench — one-way throughput of large messages through the mechanisms a user would pick
// instead of a channel: memcpy (the floor, one thread), a pipe, a SOCK_STREAM socketpair, a
// two-copy shared-memory ring, and a single-copy process_vm_readv from the sender's memory.
//
// The peer (a forked child) sends, the measuring side receives; see stream.hpp. Pipes and
// sockets stream with their default kernel buffer sizes and no per-message acknowledgement.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "fd.hpp"
#include "handoff.hpp"
#include "peer.hpp"
#include "settings.hpp"
#include "stream.hpp"

namespace bench {
namespace {

// A message buffer, touched so that page faults are paid before the clock starts.
std::vector<char> touched_buffer(std::size_t size) { return std::vector<char>(size, 'x'); }

void BM_memcpy(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::vector<char> src = touched_buffer(size), dst = touched_buffer(size);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), size);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_memcpy)->Apply(timed_sizes);

// A byte stream (pipe or socketpair): the peer writes each message whole, the receiver reads
// exactly one message's worth.
class ByteStreamLink {
 public:
  explicit ByteStreamLink(FdPair ends) : ends_(std::move(ends)) {}  // a: read end, b: write end
  void in_peer(std::size_t size) {
    ends_.a.reset();
    msg_ = touched_buffer(size);
  }
  void in_parent(std::size_t size, pid_t) {
    ends_.b.reset();
    buf_ = touched_buffer(size);
  }
  bool peer_send() {
    stamp(msg_.data(), msg_.size(), ++sent_);
    return write_all(ends_.b.get(), msg_.data(), msg_.size());
  }
  bool recv() {
    return read_exact(ends_.a.get(), buf_.data(), buf_.size()) &&
           has_stamp(buf_.data(), buf_.size(), ++received_);
  }
  void unblock() { ::shutdown(ends_.a.get(), SHUT_RDWR); }  // sockets; a pipe sees EOF

 private:
  FdPair ends_;
  std::vector<char> msg_, buf_;
  std::uint64_t sent_ = 0, received_ = 0;
};

void BM_pipe_stream_proc(benchmark::State& state) {
  ByteStreamLink link(make_pipe());
  stream_to_parent<ForkedPeer>(state, link);
}
BENCHMARK(BM_pipe_stream_proc)->Apply(timed_sizes);

void BM_socketpair_stream_proc(benchmark::State& state) {
  ByteStreamLink link(make_socketpair(SOCK_STREAM));
  stream_to_parent<ForkedPeer>(state, link);
}
BENCHMARK(BM_socketpair_stream_proc)->Apply(timed_sizes);

// Two copies through shared memory: the peer copies each chunk into a ring of kSlots slots in
// MAP_SHARED memory, the receiver copies it out. head counts chunks written, tail chunks read;
// both are Words waited on with spin-then-futex, so the two copies overlap on two cores.
class ShmRingLink {
 public:
  static constexpr std::size_t kChunk = 64 * 1024;
  static constexpr std::uint32_t kSlots = 16;

  void in_peer(std::size_t size) { msg_ = touched_buffer(size); }
  void in_parent(std::size_t size, pid_t) { buf_ = touched_buffer(size); }
  bool peer_send() {
    stamp(msg_.data(), msg_.size(), ++sent_);
    for (std::size_t off = 0; off < msg_.size(); off += kChunk) {
      while (written_ - tail_seen_ >= kSlots)
        if ((tail_seen_ = wait_change<Wait::spin_then_futex>(r_->tail, tail_seen_, r_->stop)) == 0)
          return false;
      std::memcpy(r_->slots[written_ % kSlots], msg_.data() + off,
                  std::min(kChunk, msg_.size() - off));
      publish<Wait::spin_then_futex>(r_->head, ++written_);
    }
    return true;
  }
  bool recv() {
    for (std::size_t off = 0; off < buf_.size(); off += kChunk) {
      while (head_seen_ == read_)
        if ((head_seen_ = wait_change<Wait::spin_then_futex>(r_->head, head_seen_, r_->stop)) == 0)
          return false;
      std::memcpy(buf_.data() + off, r_->slots[read_ % kSlots],
                  std::min(kChunk, buf_.size() - off));
      publish<Wait::spin_then_futex>(r_->tail, ++read_);
    }
    return has_stamp(buf_.data(), buf_.size(), ++received_);
  }
  void unblock() {
    r_->stop.store(1);
    futex_wake(r_->head.seq, 1);
    futex_wake(r_->tail.seq, 1);
  }

 private:
  struct Ring {
    Word head;  // chunks written (peer)
    Word tail;  // chunks read (receiver)
    StopFlag stop{0};
    alignas(64) char slots[kSlots][kChunk];
  };
  SharedMapping<Ring> r_;
  std::vector<char> msg_, buf_;
  alignas(64) std::uint32_t written_ = 0, tail_seen_ = 0;  // peer
  std::uint64_t sent_ = 0;
  alignas(64) std::uint32_t read_ = 0, head_seen_ = 0;  // receiver
  std::uint64_t received_ = 0;
};

void BM_shm_two_copy_proc(benchmark::State& state) {
  ShmRingLink link;
  stream_to_parent<ForkedPeer>(state, link);
}
BENCHMARK(BM_shm_two_copy_proc)->Apply(timed_sizes);

// One copy: the peer publishes the address of its message, the receiver copies it straight out
// of the peer's memory with process_vm_readv and acknowledges, after which the peer may reuse it.
class VmReadvLink {
 public:
  void in_peer(std::size_t size) { msg_ = touched_buffer(size); }
  void in_parent(std::size_t size, pid_t peer) {
    buf_ = touched_buffer(size);
    peer_ = peer;
  }
  bool peer_send() {
    stamp(msg_.data(), msg_.size(), ++sent_);
    const auto seq = static_cast<std::uint32_t>(sent_);
    publish<Wait::spin_then_futex>(s_->offer, seq, reinterpret_cast<std::uintptr_t>(msg_.data()));
    std::uint32_t done = seq - 1;
    while (done != seq)
      if ((done = wait_change<Wait::spin_then_futex>(s_->done, done, s_->stop)) == 0) return false;
    return true;
  }
  bool recv() {
    const auto seq = static_cast<std::uint32_t>(++received_);
    std::uint32_t offered = seq - 1;
    while (offered != seq)
      if ((offered = wait_change<Wait::spin_then_futex>(s_->offer, offered, s_->stop)) == 0)
        return false;
    const auto remote = static_cast<std::uintptr_t>(s_->offer.value.load(std::memory_order_relaxed));
    for (std::size_t off = 0; off < buf_.size();) {
      iovec local{buf_.data() + off, buf_.size() - off};
      iovec from{reinterpret_cast<void*>(remote + off), buf_.size() - off};
      const ssize_t n = process_vm_readv(peer_, &local, 1, &from, 1, 0);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    publish<Wait::spin_then_futex>(s_->done, seq);
    return has_stamp(buf_.data(), buf_.size(), received_);
  }
  void unblock() {
    s_->stop.store(1);
    futex_wake(s_->offer.seq, 1);
    futex_wake(s_->done.seq, 1);
  }

 private:
  struct Shared {
    Word offer;  // peer: seq = message number, value = its address
    Word done;   // receiver: seq = last message copied out
    StopFlag stop{0};
  };
  SharedMapping<Shared> s_;
  std::vector<char> msg_, buf_;
  pid_t peer_ = -1;
  std::uint64_t sent_ = 0, received_ = 0;
};

void BM_process_vm_readv_proc(benchmark::State& state) {
  VmReadvLink link;
  stream_to_parent<ForkedPeer>(state, link);
}
BENCHMARK(BM_process_vm_readv_proc)->Apply(timed_sizes);

}  // namespace
}  // namespace bench
