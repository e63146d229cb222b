// A test that fails on purpose: ctest runs it through sim_replay.sh, which expects the failure,
// its replay line, and then runs that line and expects the same failure again.
// [doc:readme]
#include <ceramic/ceramic.hpp>
#include <ceramic/sim/gtest.hpp>   // or <ceramic/sim/sim.hpp> outside GoogleTest

TEST(SeedRace, NeverDeadlocks) {
  auto seed_race = [] {
    ceramic::Chan<int> chan;
    ceramic::Proc a("A", [&] { chan.send(1); });
    ceramic::Proc b("B", [&] { chan.recv(); });
    chan.send(2);
    chan.recv();
  };
  CERAMIC_EXPECT_NO_SIM_FAILURE(ceramic::sim::explore(seed_race));
}
// fails with the detector's report and:
//   CERAMIC_SIM_REPLAY='cs2:12' ./tests --gtest_filter=SeedRace.NeverDeadlocks
// [/doc:readme]
