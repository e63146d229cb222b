// moby_33781 -- GoKer goker/blocking/moby/33781 (moby/moby PR 33781, fix 67297ba).
//
// Shape: a container health monitor probes on every interval: it starts the probe in a
// goroutine that sends its result on an unbuffered channel, and selects on the result, the
// probe's timeout and the monitor's stop channel. When stop wins, the monitor returns without
// draining the result and the probe goroutine blocks on its send forever.
//
// Fix (as ported): the stop case drains the probe's result before returning (GoKer marks the
// spot: "results should be drained here").
//
// Adaptations: time.After(probeInterval) and the probe context's timeout are on_timeout cases;
// the stopper's 50 ns sleep before it sends stop is dropped (only the order matters). The
// probe goroutine is a Proc joined at the end of each probe; main joins the monitor and the
// stopper (GoKer's test returns and leaks them).
//
// Needs: the monitor must probe, that is its interval timeout must fire while the stopper is
// already waiting to send stop; today a timeout fires only when nothing else can happen, so
// the monitor always takes stop first and never probes (model change 1). Once probing, the
// inner select must take stop while the probe is ready to send its result, which PCT already
// chooses (two different partners).
#include <ceramic/ceramic.hpp>

#include "goker/corpus.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::on_recv;
using ceramic::on_timeout;
using ceramic::Proc;
using ceramic::select;

void probe(Chan<bool>& stop, bool fixed, bool& stopped) {
  Chan<bool> results;
  Proc g3("probe", [&] {
    results.send(true);
    results.close();
  });
  select(on_recv(stop,
                 [&](std::optional<bool>) {
                   if (fixed) results.recv();   // cancelProbe(); drain
                   stopped = true;
                 }),
         on_recv(results, [](std::optional<bool>) {}),
         on_timeout(50ns, [&] { results.recv(); }));   // <-ctx.Done(): the probe timed out
  g3.join();
}

void monitor(Chan<bool>& stop, bool fixed) {
  bool stopped = false;
  while (!stopped) {
    select(on_recv(stop, [&](std::optional<bool>) { stopped = true; }),
           on_timeout(50ns, [&] { probe(stop, fixed, stopped); }));
  }
}

void run(bool fixed) {
  Chan<bool> stop;
  Proc g1("monitor", [&] { monitor(stop, fixed); });
  Proc g2("stopper", [&] { stop.send(true); });
  g1.join();
  g2.join();
}

void bug() { run(false); }
void fix() { run(true); }

const ceramic::goker::Registration registered{{
    .name = "moby_33781",
    .bug = bug,
    .fix = fix,
    .description = "a health monitor stops without draining its running probe's result",
    .dfs_iterations = 50,   // each timeout of the monitor loop forks a probe; DFS does not complete
}};

}  // namespace
