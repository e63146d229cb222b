// Partial-order reduction in dfs (sleep sets, sim/src/dfs.cpp): independent transitions (no
// common process, no common channel) are explored in one order; everything observable that
// the full search reaches, the reduced search reaches too.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "outcome_log.hpp"
#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::contains;
using ceramic::simtest::independent_pairs;
using ceramic::simtest::quick;

sim::Options dfs(bool reduce, std::size_t iterations = 10000) {
  sim::Options o = quick(sim::Strategy::dfs, iterations);
  o.partial_order_reduction = reduce;
  return o;
}

// Sleep sets start every order of the first choice but cut the redundant ones short: n
// independent rendezvous cost 2^(n-1) schedules instead of n!.
TEST(Reduction, IndependentPairsNeedTwoToTheNMinusOneSchedulesNotNFactorial) {
  for (int n : {2, 3, 4, 5}) {
    SCOPED_TRACE(n);
    std::size_t factorial = 1;
    for (int k = 2; k <= n; ++k) factorial *= static_cast<std::size_t>(k);
    sim::Result full = sim::explore([n] { independent_pairs(n); }, dfs(false));
    EXPECT_FALSE(full.failed) << full.report;
    EXPECT_TRUE(full.complete);
    EXPECT_EQ(full.schedules, factorial);
    sim::Result reduced = sim::explore([n] { independent_pairs(n); }, dfs(true));
    EXPECT_FALSE(reduced.failed) << reduced.report;
    EXPECT_TRUE(reduced.complete);
    EXPECT_EQ(reduced.schedules, std::size_t{1} << (n - 1));
  }
}

TEST(Reduction, TransitionsOnOneChannelAreNeverReduced) {
  // Three senders to main on one channel: every order is a different outcome.
  auto body = [] {
    Chan<int> c;
    Proc a("A", [&] { c.send(1); });
    Proc b("B", [&] { c.send(2); });
    Proc d("C", [&] { c.send(3); });
    for (int i = 0; i < 3; ++i) c.recv();
  };
  sim::Result r = sim::explore(body, dfs(true));
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.schedules, 6u);
}

// The orders C saw, one per schedule (outcome_log.hpp).
using Log = ceramic::simtest::OutcomeLog<1, 8, 4096>;

// C selects twice over c1 (fed by A) and c2 (fed by B) and logs the order it saw; D and E talk
// on c3 meanwhile, independently of everything else: noise the reduction removes without
// losing either order C can see.
void select_with_noise(Log* log) {
  Chan<int> c1, c2, c3;
  Proc a("A", [&] { c1.send(1); });
  Proc b("B", [&] { c2.send(2); });
  Proc d("D", [&] {
    c3.send(3);
    c3.send(4);
  });
  Proc e("E", [&] {
    c3.recv();
    c3.recv();
  });
  std::string order;
  for (int i = 0; i < 2; ++i) {
    ceramic::select(ceramic::on_recv(c1, [&](std::optional<int> v) { order += std::to_string(*v); }),
                    ceramic::on_recv(c2, [&](std::optional<int> v) { order += std::to_string(*v); }));
  }
  log->add(order);
  d.join();   // or destroying E's Proc first could leave D waiting forever: a leak
  e.join();
}

TEST(Reduction, EveryOutcomeOfTheFullSearchIsReachedByTheReducedOne) {
  Log* full_log = Log::map();
  Log* reduced_log = Log::map();
  ASSERT_NE(full_log, nullptr);
  ASSERT_NE(reduced_log, nullptr);
  sim::Result full = sim::explore([full_log] { select_with_noise(full_log); }, dfs(false));
  sim::Result reduced = sim::explore([reduced_log] { select_with_noise(reduced_log); }, dfs(true));
  ASSERT_FALSE(full.failed) << full.report;
  ASSERT_FALSE(reduced.failed) << reduced.report;
  EXPECT_TRUE(full.complete);
  EXPECT_TRUE(reduced.complete);
  EXPECT_EQ(full_log->set(), (std::set<std::string>{"12", "21"}));
  EXPECT_EQ(reduced_log->set(), full_log->set());
  EXPECT_LT(reduced.schedules, full.schedules);
  Log::unmap(full_log);
  Log::unmap(reduced_log);
}

// The seed race with independent pairs around it: the deadlock is still found, sooner.
void seed_race_with_noise() {
  Chan<int> c, n1, n2;
  Proc s1("S1", [&] { n1.send(1); });
  Proc r1("R1", [&] { n1.recv(); });
  Proc s2("S2", [&] { n2.send(2); });
  Proc r2("R2", [&] { n2.recv(); });
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { c.recv(); });
  c.send(2);
  c.recv();
  for (Proc* p : {&s1, &r1, &s2, &r2, &a, &b}) p->join();
}

TEST(Reduction, KeepsEveryDeadlock) {
  sim::Result full = sim::explore(seed_race_with_noise, dfs(false));
  sim::Result reduced = sim::explore(seed_race_with_noise, dfs(true));
  ASSERT_TRUE(full.failed);
  ASSERT_TRUE(reduced.failed);
  EXPECT_EQ(reduced.failure, sim::Failure::deadlock) << reduced.report;
  EXPECT_LE(reduced.schedules, full.schedules);
  sim::Result again = sim::replay(seed_race_with_noise, reduced.schedule);
  CERAMIC_EXPECT_SAME_FAILURE(reduced, again);
}

TEST(Reduction, AProgramWithoutTheBugIsCompleteInFewerSchedules) {
  // The seed race fixed (A talks to main on one channel, main to B on another), amid the same
  // noise.
  auto fixed = [] {
    Chan<int> c, d, n1, n2;
    Proc s1("S1", [&] { n1.send(1); });
    Proc r1("R1", [&] { n1.recv(); });
    Proc s2("S2", [&] { n2.send(2); });
    Proc r2("R2", [&] { n2.recv(); });
    Proc a("A", [&] { c.send(1); });
    Proc b("B", [&] { d.recv(); });
    c.recv();
    d.send(2);
    for (Proc* p : {&s1, &r1, &s2, &r2, &a, &b}) p->join();
  };
  sim::Result full = sim::explore(fixed, dfs(false));
  sim::Result reduced = sim::explore(fixed, dfs(true));
  ASSERT_FALSE(full.failed) << full.report;
  ASSERT_FALSE(reduced.failed) << reduced.report;
  EXPECT_TRUE(full.complete);
  EXPECT_TRUE(reduced.complete);
  EXPECT_LT(reduced.schedules * 2, full.schedules)
      << reduced.schedules << " reduced against " << full.schedules << " full";
}

TEST(Reduction, CanBeTurnedOffFromTheEnvironment) {
  ::setenv(sim::kOptionsEnv, "reduction=0", 1);
  sim::Result r = sim::explore([] { independent_pairs(4); }, dfs(true));
  ::unsetenv(sim::kOptionsEnv);
  EXPECT_EQ(r.schedules, 24u);
}

}  // namespace
