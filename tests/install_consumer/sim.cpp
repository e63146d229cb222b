// Finds the seed race with an installed ceramic::sim, and checks that the detector's headers
// are installed too.
#include <ceramic/ceramic.hpp>
#include <ceramic/detector/report.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdio>

int main() {
  ceramic::sim::Options o;
  o.strategy = ceramic::sim::Strategy::dfs;
  o.progress = 0;
  ceramic::sim::Result r = ceramic::sim::explore(
      [] {
        ceramic::Chan<int> chan;
        ceramic::Proc a("A", [&] { chan.send(1); });
        ceramic::Proc b("B", [&] { chan.recv(); });
        chan.send(2);
        chan.recv();
      },
      o);
  std::printf("%s after %zu schedule(s): %s\n", r.failed ? "found" : "not found", r.schedules,
              r.schedule.c_str());
  return r.failed && r.failure == ceramic::sim::Failure::deadlock ? 0 : 1;
}
