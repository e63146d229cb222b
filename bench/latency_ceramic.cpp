// ceramic bench — one-way rendezvous latency of ceramic::Chan<std::uint64_t>.
//
// Two unbuffered channels, ping and pong, between the measuring side and a ceramic::Proc child
// (or a std::thread); the same drivers and variants as the baselines (pingpong.hpp), so every
// ratio in docs/performance.md compares like with like.
#include <ceramic/ceramic.hpp>

#include <cstdint>
#include <optional>

#include "chan_link.hpp"
#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {
namespace {

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
