// moby_33781 -- Go's goroutine leak profile test Moby33781 (golang/go,
// src/runtime/testdata/testgoroutineleakprofile/goker/moby33781.go; GoKer
// goker/blocking/moby/33781, moby/moby PR 33781, fix 67297ba).
//
// Shape: a container health monitor probes on every interval: it starts the probe in a
// goroutine that sends its result on an unbuffered channel, and selects on the result, the
// probe's timeout and the monitor's stop channel. When stop wins, the monitor returns without
// draining the result, and the probe goroutine blocks on its send forever. Go expects the
// probe goroutine in "chan send".
//
// Fix (as in tests/goker; Go's kernel marks the spot, "results should be drained here"): the
// stop case drains the probe's result before returning.
//
// Adaptations: time.After(probeInterval) and the probe context's timeout are on_timeout cases
// (1 ms each, Go's). The monitor runs in main (Go runs it in a goroutine that returns: a Proc's
// children end with it); the stopper and the probes are Procs nobody joins (go()). The
// stopper's sleep before it sends stop is left out. The probe's close of its result channel
// after the send is kept.
//
// Live (live_bug): the stopper waits at a gate that the monitor opens once it has started a
// probe, so the first interval is sure to pass; the probe waits at a gate that the monitor
// opens once its inner select has returned, so the result is not ready before stop is; and the
// probe's timeout is 10 s instead of 1 ms, a bound only a hang reaches, so that stop, sent at
// once, is what the inner select takes.
#include <chrono>
#include <optional>

#include <ceramic/ceramic.hpp>

#include "leaks/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::select;
using ceramic::leaks::Gate;
using ceramic::leaks::go;

struct Gates {        // live_bug only
  Gate probing;       // the monitor has started a probe: stop now
  Gate selected;      // the monitor's inner select has returned: the probe may answer
};

void monitor(Chan<bool>& stop, bool fixed, std::chrono::nanoseconds probe_timeout, Gates* gates) {
  for (;;) {
    bool stopped = false, probe = false;
    select(on_recv(stop, [&](std::optional<bool>) { stopped = true; }),
           on_timeout(1ms, [&] { probe = true; }));
    if (stopped) return;
    if (!probe) continue;
    Chan<bool> results;
    go("probe", [&] {
      if (gates) gates->selected.wait();
      results.send(true);  // @leak
      results.close();
    });
    if (gates) gates->probing.open();
    bool drain = false;
    select(on_recv(stop, [&](std::optional<bool>) { stopped = true; }),
           on_recv(results, [](std::optional<bool>) {}),
           on_timeout(probe_timeout, [&] { drain = true; }));   // ctx.Done()
    if (gates) gates->selected.open();
    if (stopped) {
      if (fixed) (void)results.recv();   // the fix: drain the result
      return;
    }
    if (drain) (void)results.recv();
  }
}

void run(bool fixed, std::chrono::nanoseconds probe_timeout, Gates* gates) {
  Chan<bool> stop;
  go("stopper", [&] {
    if (gates) gates->probing.wait();
    stop.send(true);
  });
  monitor(stop, fixed, probe_timeout, gates);
}

void bug() { run(false, 1ms, nullptr); }
void fix() { run(true, 1ms, nullptr); }
void live_bug() {
  Gates gates;
  run(false, 10s, &gates);
}

const ceramic::leaks::Registration registered{{
    .name = "moby_33781",
    .source = __FILE__,
    .bug = bug,
    .fix = fix,
    .live_bug = live_bug,
    .description = "a health monitor stops without draining its running probe",
    .dfs_iterations = 50,
}};

}  // namespace
