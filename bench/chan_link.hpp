// ceramic bench — the Link (see pingpong.hpp) of two unbuffered ceramic::Chan<std::uint64_t>,
// shared by the latency benchmarks with and without tracing.
#pragma once

#include <ceramic/ceramic.hpp>

#include <cstdint>
#include <optional>

namespace bench {

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

}  // namespace bench
