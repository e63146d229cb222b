// ceramic bench — select: one-way latency of a select over 1, 2, 4 and 8 channels, against the
// plain recv of BM_ceramic_pingpong_proc (same driver, same peer).
//
// The measuring side sends on `ping` and answers come back on one of N channels, chosen in
// turn by the peer; the measuring side receives them with a select over all N.
#include <ceramic/ceramic.hpp>

#include <cstdint>
#include <optional>
#include <vector>

#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {
namespace {

class SelectLink {
 public:
  explicit SelectLink(std::size_t n) : pongs_(n) {}

  bool send(std::uint64_t v) { return put(ping_, v); }
  bool recv(std::uint64_t& v) {
    bool ok = false;
    auto take = [&](std::optional<std::uint64_t> got) {
      ok = got.has_value();
      if (ok) v = *got;
    };
    switch (pongs_.size()) {  // select takes its cases as arguments: one call per arity
      case 1: ceramic::select(ceramic::on_recv(pongs_[0], take)); break;
      case 2: ceramic::select(ceramic::on_recv(pongs_[0], take), ceramic::on_recv(pongs_[1], take)); break;
      case 4:
        ceramic::select(ceramic::on_recv(pongs_[0], take), ceramic::on_recv(pongs_[1], take),
                        ceramic::on_recv(pongs_[2], take), ceramic::on_recv(pongs_[3], take));
        break;
      default:
        ceramic::select(ceramic::on_recv(pongs_[0], take), ceramic::on_recv(pongs_[1], take),
                        ceramic::on_recv(pongs_[2], take), ceramic::on_recv(pongs_[3], take),
                        ceramic::on_recv(pongs_[4], take), ceramic::on_recv(pongs_[5], take),
                        ceramic::on_recv(pongs_[6], take), ceramic::on_recv(pongs_[7], take));
    }
    return ok;
  }
  bool peer_recv(std::uint64_t& v) {
    auto got = ping_.recv();
    if (!got) return false;
    v = *got;
    return true;
  }
  bool peer_send(std::uint64_t v) { return put(pongs_[next_++ % pongs_.size()], v); }
  void in_peer() {}
  void in_parent() {}
  void unblock() {
    ping_.close();
    for (auto& c : pongs_) c.close();
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
  ceramic::Chan<std::uint64_t> ping_;
  std::vector<ceramic::Chan<std::uint64_t>> pongs_;
  std::size_t next_ = 0;
};

void BM_ceramic_select_proc(benchmark::State& state) {
  SelectLink link(static_cast<std::size_t>(state.range(0)));
  pingpong_processes<ceramic::Proc>(state, link);
}
BENCHMARK(BM_ceramic_select_proc)->Apply(timed)->Arg(1)->Arg(2)->Arg(4)->Arg(8);

void BM_ceramic_select_threads(benchmark::State& state) {
  SelectLink link(static_cast<std::size_t>(state.range(0)));
  pingpong_threads(state, link);
}
BENCHMARK(BM_ceramic_select_threads)->Apply(timed)->Arg(1)->Arg(8);

}  // namespace
}  // namespace bench
