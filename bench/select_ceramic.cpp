// ceramic bench — select: one-way latency of a select over 1, 2, 4 and 8 channels, against the
// plain recv of BM_ceramic_pingpong_proc (same driver, same peer); and the cost of a select
// with a default (Go's non-blocking select), in one thread, over 1, 2, 4 and 8 channels.
//
// The measuring side sends on `ping` and answers come back on one of N channels, chosen in
// turn by the peer; the measuring side receives them with a select over all N.
#include <ceramic/ceramic.hpp>

#include <cstdint>
#include <optional>
#include <utility>
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

// A select with a default over N channels, in one thread.
//   idle:  nothing is ready (no one else holds the channels): the default runs every time.
//   ready: every channel (buffered, capacity 1) holds a value; the select takes one and its
//          callback puts it back, so each iteration is one receive plus one buffered send.
template <class... Cases>
std::size_t select_default(Cases&&... cases) {
  return ceramic::select(std::forward<Cases>(cases)..., ceramic::on_default([] {}));
}

std::size_t select_over(std::vector<ceramic::Chan<std::uint64_t>>& c, std::uint64_t& got) {
  auto take = [&](std::optional<std::uint64_t> v) { got = v.value_or(0); };
  switch (c.size()) {
    case 1: return select_default(ceramic::on_recv(c[0], take));
    case 2: return select_default(ceramic::on_recv(c[0], take), ceramic::on_recv(c[1], take));
    case 4:
      return select_default(ceramic::on_recv(c[0], take), ceramic::on_recv(c[1], take),
                            ceramic::on_recv(c[2], take), ceramic::on_recv(c[3], take));
    default:
      return select_default(ceramic::on_recv(c[0], take), ceramic::on_recv(c[1], take),
                            ceramic::on_recv(c[2], take), ceramic::on_recv(c[3], take),
                            ceramic::on_recv(c[4], take), ceramic::on_recv(c[5], take),
                            ceramic::on_recv(c[6], take), ceramic::on_recv(c[7], take));
  }
}

void BM_ceramic_select_default_idle(benchmark::State& state) {
  std::vector<ceramic::Chan<std::uint64_t>> c(static_cast<std::size_t>(state.range(0)));
  std::uint64_t got = 0;
  for (auto _ : state) {
    if (select_over(c, got) != c.size()) state.SkipWithError("a case fired with no partner");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ceramic_select_default_idle)->Apply(timed)->Arg(1)->Arg(2)->Arg(4)->Arg(8);

void BM_ceramic_select_default_ready(benchmark::State& state) {
  std::vector<ceramic::Chan<std::uint64_t>> c;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    c.emplace_back(ceramic::ChanOptions{.capacity = 1});
    c.back().send(static_cast<std::uint64_t>(i));
  }
  std::uint64_t got = 0;
  for (auto _ : state) {
    std::size_t fired = select_over(c, got);
    if (fired >= c.size()) {
      state.SkipWithError("the default ran while every channel held a value");
      break;
    }
    c[fired].send(got);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ceramic_select_default_ready)->Apply(timed)->Arg(1)->Arg(2)->Arg(4)->Arg(8);

}  // namespace
}  // namespace bench
