// ceramic bench — what tracing costs: the process ping-pong of BM_ceramic_pingpong_proc with
// the tracer on (every operation records its block/rendezvous into the trace file, as under
// ceramic-run). Compare with BM_ceramic_pingpong_proc, where nothing is installed and the hook
// costs one relaxed load per event.
#include <ceramic/ceramic.hpp>
#include <ceramic/trace_format.hpp>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>

#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {
namespace {

class TracedLink {
 public:
  bool send(std::uint64_t v) { return put(ping_, v); }
  bool recv(std::uint64_t& v) { return take(pong_, v); }
  bool peer_recv(std::uint64_t& v) { return take(ping_, v); }
  bool peer_send(std::uint64_t v) { return put(pong_, v); }
  void in_peer() {}
  void in_parent() {}
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
    auto got = c.recv();
    if (!got) return false;
    v = *got;
    return true;
  }
  ceramic::Chan<std::uint64_t> ping_, pong_;
};

void BM_ceramic_pingpong_proc_traced(benchmark::State& state) {
  const std::string path = "/tmp/ceramic-bench-trace." + std::to_string(getpid());
  unlink(path.c_str());
  if (!ceramic::trace::start(path)) {
    state.SkipWithError("cannot start the tracer");
    return;
  }
  {
    TracedLink link;
    pingpong_processes<ceramic::Proc>(state, link);
  }
  ceramic::trace::stop();
  unlink(path.c_str());
}
BENCHMARK(BM_ceramic_pingpong_proc_traced)->Apply(timed);

}  // namespace
}  // namespace bench
