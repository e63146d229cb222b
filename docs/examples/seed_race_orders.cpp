// The seed README's race, both of its interleavings, replayed on demand by the simulator:
//
//   thread A { write(); }   thread B { read(); }   main { write(); read(); }
//
// Exhaustive search (dfs) finds that the program can deadlock; replaying each of the two
// schedules shows the interleaving that works and the one that does not, step by step.
#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdio>

#include "example_check.hpp"

namespace sim = ceramic::sim;

// [doc:race]
void seed_race() {
  ceramic::Chan<int> chan;
  ceramic::Proc a("A", [&] { chan.send(1); });   // A writes
  ceramic::Proc b("B", [&] { chan.recv(); });    // B reads
  chan.send(2);                                  // main writes: to B, it hopes
  chan.recv();                                   // main reads: from A, it hopes
}
// [/doc:race]

int main() {
  // [doc:explore]
  sim::Result all = sim::explore(seed_race, {.strategy = sim::Strategy::dfs});
  // all.failed == true, all.schedule == "cs2:12": one choice, transition 1 of 2

  sim::Result good = sim::replay(seed_race, "cs2:02");   // main meets B first
  sim::Result bad = sim::replay(seed_race, "cs2:12");    // A meets B first
  std::printf("%s", bad.report.c_str());
  // [/doc:explore]
  expect(all.failed && all.failure == sim::Failure::deadlock, "dfs finds the deadlock");
  expect(all.schedule == "cs2:12", "the deadlocking schedule is cs2:12");
  expect(!good.failed, "main meeting B first completes");
  expect(bad.failed && bad.failure == sim::Failure::deadlock, "A meeting B first deadlocks");
  return 0;
}
