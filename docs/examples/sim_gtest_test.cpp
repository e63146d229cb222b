// The simulator in GoogleTest: tests that pass, and what a failing body looks like to a test.
// [doc:pipeline]
#include <ceramic/ceramic.hpp>
#include <ceramic/sim/gtest.hpp>

// [/doc:pipeline]
#include <string>

namespace sim = ceramic::sim;

// [doc:pipeline]
TEST(Pipeline, NeverDeadlocks) {
  auto pipeline = [] {
    ceramic::Chan<int> c;
    ceramic::Proc p([&] { c.send(1); });
    EXPECT_EQ(*c.recv(), 1);   // fails the schedule, with this line, in any process of the tree
  };
  CERAMIC_EXPECT_NO_SIM_FAILURE(
      ceramic::sim::explore(pipeline, {.strategy = ceramic::sim::Strategy::dfs}));
}
// [/doc:pipeline]

// [doc:fixed]
// The seed race fixed: B and main each get their own channel, so A cannot steal main's reader.
void seed_race_fixed() {
  ceramic::Chan<int> to_b, from_a;
  ceramic::Proc a("A", [&] { from_a.send(1); });
  ceramic::Proc b("B", [&] { to_b.recv(); });
  to_b.send(2);
  from_a.recv();
}

TEST(SeedRace, FixedNeverDeadlocks) {
  sim::Result r = sim::explore(seed_race_fixed, {.strategy = sim::Strategy::dfs});
  CERAMIC_EXPECT_NO_SIM_FAILURE(r);
  EXPECT_TRUE(r.complete);   // dfs ran every interleaving: none deadlocks
}
// [/doc:fixed]

// [doc:find_replay]
void seed_race() {
  ceramic::Chan<int> chan;
  ceramic::Proc a("A", [&] { chan.send(1); });
  ceramic::Proc b("B", [&] { chan.recv(); });
  chan.send(2);
  chan.recv();
}

// The bug is known: pin it down. Every strategy finds it; the replay fails the same way.
TEST(SeedRace, FoundAndReplayed) {
  for (sim::Strategy s : {sim::Strategy::random, sim::Strategy::pct, sim::Strategy::dfs}) {
    sim::Result found = sim::explore(seed_race, {.strategy = s});
    ASSERT_TRUE(found.failed);
    EXPECT_EQ(found.failure, sim::Failure::deadlock);
    sim::Result again = sim::replay(seed_race, found.schedule);
    EXPECT_EQ(again.failure, found.failure);
    EXPECT_EQ(again.steps, found.steps);
  }
}
// [/doc:find_replay]

// [doc:assertion]
TEST(Pipeline, AnAssertionInAChildFailsTheSchedule) {
  sim::Result r = sim::explore([] {
    ceramic::Chan<int> c;
    ceramic::Proc p("producer", [&] { c.send(2); });
    EXPECT_EQ(*c.recv(), 1);   // wrong on purpose
  });
  EXPECT_EQ(r.failure, sim::Failure::check);
  EXPECT_NE(r.report.find("GoogleTest assertion failed"), std::string::npos) << r.report;
}
// [/doc:assertion]
