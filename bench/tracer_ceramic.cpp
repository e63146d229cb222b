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

#include "chan_link.hpp"
#include "pingpong.hpp"
#include "settings.hpp"

namespace bench {
namespace {

void BM_ceramic_pingpong_proc_traced(benchmark::State& state) {
  const std::string path = "/tmp/ceramic-bench-trace." + std::to_string(getpid());
  unlink(path.c_str());
  if (!ceramic::trace::start(path)) {
    state.SkipWithError("cannot start the tracer");
    return;
  }
  {
    ChanLink link;
    pingpong_processes<ceramic::Proc>(state, link);
  }
  ceramic::trace::stop();
  unlink(path.c_str());
}
BENCHMARK(BM_ceramic_pingpong_proc_traced)->Apply(timed);

}  // namespace
}  // namespace bench
