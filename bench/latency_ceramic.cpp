// ceramic bench — one-way rendezvous latency of ceramic::Chan<std::uint64_t>.
//
// Two unbuffered channels, ping and pong, between the measuring side and a ceramic::Proc child
// (or a std::thread); the same drivers and variants as the baselines (pingpong.hpp), so every
// ratio in docs/performance.md compares like with like.
#include <ceramic/ceramic.hpp>

#include <cstdint>
#include <optional>

#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {
namespace {

class ChanLink {
 public:
  bool send(std::uint64_t v) { return put(ping_, v); }
  bool recv(std::uint64_t& v) { return take(pong_, v); }
  bool peer_recv(std::uint64_t& v) { return take(ping_, v); }
  bool peer_send(std::uint64_t v) { return put(pong_, v); }
  void in_peer() {}
  void in_parent() {}
  // close() wakes every waiter, in every process: the blocked send throws, the recv ends.
  void unblock() {
    ping_.close();
    pong_.close();
  }

 private:
  static bool put(ceramic::Chan<std::uint64_t>& c, std::uint64_t v) {
    try {
      c.send(v);
      return true;
    } catch (const ceramic::ChannelClosed&) {
      return false;
    }
  }
  static bool take(ceramic::Chan<std::uint64_t>& c, std::uint64_t& v) {
    const std::optional<std::uint64_t> got = c.recv();
    if (!got) return false;
    v = *got;
    return true;
  }

  ceramic::Chan<std::uint64_t> ping_;  // measuring side -> peer
  ceramic::Chan<std::uint64_t> pong_;  // peer -> measuring side
};

void BM_ceramic_pingpong_proc(benchmark::State& state) {
  ChanLink link;
  pingpong_processes<ceramic::Proc>(state, link);
}
BENCHMARK(BM_ceramic_pingpong_proc)->Apply(timed);

void BM_ceramic_pingpong_proc_pinned(benchmark::State& state) {
  ChanLink link;
  pingpong_processes<ceramic::Proc>(state, link, {.pinned = true});
}
BENCHMARK(BM_ceramic_pingpong_proc_pinned)->Apply(timed);

void BM_ceramic_pingpong_proc_sleeping(benchmark::State& state) {
  ChanLink link;
  pingpong_processes<ceramic::Proc>(state, link, {.peer_sleeps = true});
}
BENCHMARK(BM_ceramic_pingpong_proc_sleeping)->Apply(timed);

void BM_ceramic_pingpong_threads(benchmark::State& state) {
  ChanLink link;
  pingpong_threads(state, link);
}
BENCHMARK(BM_ceramic_pingpong_threads)->Apply(timed);

}  // namespace
}  // namespace bench
