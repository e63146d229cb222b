// ceramic bench — one-way throughput of 1 MiB and 16 MiB std::string values through an
// unbuffered ceramic::Chan<std::string>, between processes (both directions) and threads.
//
// The receiver reuses one std::string (recv_for into it), as a program that cares about
// throughput would; BM_ceramic_string_to_parent_fresh uses recv(), which returns a new string
// per message, to show what that convenience costs.
#include <ceramic/ceramic.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "settings.hpp"
#include "stream.hpp"

namespace bench {
namespace {

template <bool kFreshStrings>
class StringChanLink {
 public:
  void in_peer(std::size_t size) { peer_buf_ = std::string(size, 'x'); }
  void in_parent(std::size_t size, pid_t) { buf_ = std::string(size, 'x'); }

  bool peer_send() { return put(peer_buf_, ++peer_seq_); }
  bool recv() { return take(buf_, ++seq_); }
  bool send() { return put(buf_, ++seq_); }
  bool peer_recv() { return take(peer_buf_, ++peer_seq_); }
  void unblock() { ch_.close(); }

 private:
  bool put(std::string& msg, std::uint64_t seq) {
    stamp(msg.data(), msg.size(), seq);
    try {
      ch_.send(msg);
      return true;
    } catch (const ceramic::ChannelClosed&) {
      return false;
    }
  }
  bool take(std::string& into, std::uint64_t seq) {
    const std::size_t size = into.size();
    if constexpr (kFreshStrings) {
      std::optional<std::string> got = ch_.recv();
      if (!got || got->size() != size) return false;
      return has_stamp(got->data(), size, seq);
    } else {
      if (ch_.recv_for(into, kStallLimit) != ceramic::Status::ok || into.size() != size)
        return false;
      return has_stamp(into.data(), size, seq);
    }
  }

  ceramic::Chan<std::string> ch_;
  std::string peer_buf_;  // the peer's message (or receive buffer)
  std::uint64_t peer_seq_ = 0;
  alignas(64) std::string buf_;  // the measuring side's
  std::uint64_t seq_ = 0;
};

void BM_ceramic_string_to_parent(benchmark::State& state) {
  StringChanLink<false> link;
  stream_to_parent<ceramic::Proc>(state, link);
}
BENCHMARK(BM_ceramic_string_to_parent)->Apply(timed_sizes);

void BM_ceramic_string_from_parent(benchmark::State& state) {
  StringChanLink<false> link;
  stream_from_parent<ceramic::Proc>(state, link);
}
BENCHMARK(BM_ceramic_string_from_parent)->Apply(timed_sizes);

void BM_ceramic_string_to_parent_fresh(benchmark::State& state) {
  StringChanLink<true> link;
  stream_to_parent<ceramic::Proc>(state, link);
}
BENCHMARK(BM_ceramic_string_to_parent_fresh)->Apply(timed_sizes);

void BM_ceramic_string_threads(benchmark::State& state) {
  StringChanLink<false> link;
  stream_threads(state, link);
}
BENCHMARK(BM_ceramic_string_threads)->Apply(timed_sizes);

}  // namespace
}  // namespace bench
