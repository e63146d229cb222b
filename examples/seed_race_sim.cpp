// The seed README's race, found by the simulator instead of waited for: explore the
// interleavings of the program, print the deadlock with the schedule that produces it, replay
// that schedule to show it fails the same way every time, and draw the wait-for graph.
//
//   ceramic-example-seed_race_sim [out.dot]
#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdio>
#include <fstream>

namespace sim = ceramic::sim;

// Exactly the program of examples/seed_race.cpp with --block: no timeouts, no retries.
void seed_race() {
  ceramic::Chan<int> chan;
  ceramic::Proc a("A", [&] { chan.send(1); });
  ceramic::Proc b("B", [&] { chan.recv(); });
  chan.send(2);  // blocks forever if A met B first
  chan.recv();
}

int main(int argc, char** argv) {
  sim::Options options;
  options.strategy = sim::Strategy::pct;
  options.iterations = 1000;
  sim::Result found = sim::explore(seed_race, options);
  if (!found.failed) {
    std::printf("no failure in %zu schedules\n", found.schedules);
    return 1;
  }
  std::printf("explored %zu schedule(s) in %.3f s with PCT and found:\n\n%s\n", found.schedules,
              found.seconds, found.report.c_str());

  sim::Result again = sim::replay(seed_race, found.schedule);
  std::printf("replaying %s: %s (%s, %zu steps)\n", found.schedule.c_str(),
              again.failed && again.failure == found.failure ? "same failure" : "DIFFERENT",
              sim::to_string(again.failure), again.steps);

  if (argc > 1) {
    std::ofstream(argv[1]) << found.dot;
    std::printf("wait-for graph: %s\n", argv[1]);
  }
  return again.failed && again.failure == found.failure ? 0 : 1;
}
