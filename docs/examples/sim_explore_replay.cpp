// The simulator outside GoogleTest: explore the seed race, print what it found, replay it.
// [doc:body]
#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

// [/doc:body]
#include <iostream>

#include "example_check.hpp"

// [doc:body]
void seed_race() {                       // the seed README's race
  ceramic::Chan<int> chan;
  ceramic::Proc a("A", [&] { chan.send(1); });
  ceramic::Proc b("B", [&] { chan.recv(); });
  chan.send(2);                          // blocks forever if A met B first
  chan.recv();
}
// [/doc:body]

int main() {
  // [doc:body]

  ceramic::sim::Result r = ceramic::sim::explore(seed_race);   // PCT, 1000 schedules
  if (r.failed) std::cerr << r.report;                         // what, where, how to replay
  ceramic::sim::Result again = ceramic::sim::replay(seed_race, r.schedule);   // same failure
  // [/doc:body]
  expect(r.failed && r.failure == ceramic::sim::Failure::deadlock, "PCT finds the deadlock");
  expect(again.failed && again.failure == r.failure && again.steps == r.steps,
         "the replay fails the same way, at the same step");
  expect(r.report.find("is blocked in send at sim_explore_replay.cpp:") != std::string::npos,
         "the report names the blocked send");
  std::cout << "found in " << r.schedules << " schedule(s), replayed: " << r.schedule << "\n";
  return 0;
}
