// Partial-order reduction must not lose behaviour: for programs that mix every kind of
// transition (rendezvous, buffered steps, close, closed(), select with default, timeouts,
// join_for, running()), the set of outcomes the reduced DFS observes equals the full DFS's,
// and a failure found by one is found by the other.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <string>

#include "outcome_log.hpp"
#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;
namespace sim = ceramic::sim;
using ceramic::simtest::quick;
using namespace std::chrono_literals;

// What each process of a schedule saw, and every schedule's outcome (outcome_log.hpp).
using Observed = ceramic::simtest::OutcomeLog<8, 24, 8192>;

const char* name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::closed: return "closed";
    case Status::timeout: return "timeout";
    case Status::peer_died: return "died";
  }
  return "?";
}

// Close racing a send and a receive, with a closed() query and an unrelated pair.
void close_race(Observed* o) {
  Chan<int> c, noise;
  Proc s("S", [&] { o->see(1, name(c.send_for(1, 1s))); });
  Proc r("R", [&] {
    int v = 0;
    o->see(2, name(c.recv_for(v, 1s)));
  });
  Proc n1("N1", [&] { noise.send(5); });
  Proc n2("N2", [&] { o->see(3, std::to_string(*noise.recv())); });
  Proc q("Q", [&] { o->see(4, c.closed() ? "saw-closed" : "saw-open"); });
  c.close();
  for (Proc* p : {&s, &r, &n1, &n2, &q}) p->join();
  o->end_schedule();
}

// A buffered channel of capacity 1 with two producers, one consumer, and a select with a
// default polling a second channel.
void buffered_and_default(Observed* o) {
  Chan<int> b(ChanOptions{.capacity = 1}), side;
  Proc p1("P1", [&] { b.send(1); });
  Proc p2("P2", [&] { b.send(2); });
  Proc poll("Poll", [&] {
    std::string seen;
    ceramic::select(ceramic::on_recv(side, [&](std::optional<int> v) { seen = std::to_string(*v); }),
                    ceramic::on_default([&] { seen = "default"; }));
    o->see(1, seen);
  });
  Proc feeder("F", [&] {
    int v = 0;
    o->see(2, name(side.send_for(9, 1ms)));
    (void)v;
  });
  std::string order = std::to_string(*b.recv());
  order += std::to_string(*b.recv());
  o->see(3, order);
  for (Proc* p : {&p1, &p2, &poll, &feeder}) p->join();
  o->end_schedule();
}

// running() racing a child's exit (the child exits once X has met it), then join_for, with a
// timed receive and an unrelated pair.
void joins_and_timeouts(Observed* o) {
  Chan<int> a, noise;
  Proc child("C", [&] { a.recv(); });
  Proc x("X", [&] { a.send(1); });
  Proc n1("N1", [&] { o->see(4, name(noise.send_for(1, 5ms))); });
  Proc n2("N2", [&] {
    int v = 0;
    o->see(1, name(noise.recv_for(v, 5ms)));
  });
  o->see(2, child.running() ? "running" : "exited");
  std::optional<int> code = child.join_for(1ms);
  o->see(3, code ? "joined" : "join-timeout");
  for (Proc* p : {&child, &x, &n1, &n2}) p->join();
  o->end_schedule();
}

// A select offering a send on one channel and a receive on another; the partners give up
// (timeouts) when the select chose the other case, or were too early for it, and then the
// select gives up too. A third channel carries unrelated traffic.
void select_send_or_receive(Observed* o) {
  Chan<int> out, in, noise;
  Proc b("B", [&] {
    int v = 0;
    o->see(1, std::string("B:") + name(out.recv_for(v, 1ms)));
  });
  Proc c("C", [&] { o->see(2, std::string("C:") + name(in.send_for(7, 1ms))); });
  Proc n1("N1", [&] { noise.send(1); });
  Proc n2("N2", [&] { noise.recv(); });
  std::size_t fired = ceramic::select(ceramic::on_send(out, 3, [] {}),
                                      ceramic::on_recv(in, [](std::optional<int>) {}),
                                      ceramic::on_timeout(5ms, [] {}));
  o->see(3, fired == 0 ? "sent" : fired == 1 ? "received" : "neither");
  for (Proc* p : {&b, &c, &n1, &n2}) p->join();
  o->end_schedule();
}

// A forwarder between two senders and one receiver: which value arrives first depends on
// whether the forwarder met its sender before D met the receiver.
void forwarding_chain(Observed* o) {
  Chan<int> c1, c2;
  Proc a("A", [&] { c1.send(1); });
  Proc fwd("F", [&] { c2.send(*c1.recv() * 10); });
  Proc d("D", [&] { c2.send(2); });
  Proc r("R", [&] {
    int first = *c2.recv();
    int second = *c2.recv();
    o->see(1, std::to_string(first) + "," + std::to_string(second));
  });
  for (Proc* p : {&a, &fwd, &d, &r}) p->join();
  o->end_schedule();
}

// The transitions of the lazy-arrival model: a poll that may run before its blocking partner
// arrives or meet it, a zero-timeout receive, a timed wait that may give up while its partner is
// parked, and a child destroyed while it runs a timed loop (ended, not leaked); independent
// pairs around them.
void lazy_arrival(Observed* o) {
  Chan<int> c, d, n, quiet;
  Proc sender("S", [&] { o->see(1, name(c.send_for(1, 2ms))); });
  Proc late("L", [&] { o->see(2, name(d.send_for(2, 1ms))); });
  Proc n1("N1", [&] { n.send(1); });
  Proc n2("N2", [&] { n.recv(); });
  std::string seen;
  ceramic::select(ceramic::on_recv(c, [&](std::optional<int>) { seen = "met"; }),
                  ceramic::on_default([&] { seen = "default"; }));
  int v = 0;
  seen += std::string(",") + name(d.recv_for(v, 0ns));
  o->see(3, seen);
  {
    Proc waiter("W", [&] { (void)quiet.recv_for(v, 1ms); });   // destroyed while it may wait
  }
  for (Proc* p : {&sender, &late, &n1, &n2}) p->join();
  o->end_schedule();
}

void differential(void (*program)(Observed*)) {
  Observed* full = Observed::map();
  Observed* reduced = Observed::map();
  ASSERT_NE(full, nullptr);
  ASSERT_NE(reduced, nullptr);
  sim::Options f = quick(sim::Strategy::dfs, 20000);
  f.partial_order_reduction = false;
  sim::Options r = f;
  r.partial_order_reduction = true;
  sim::Result rf = sim::explore([full, program] { program(full); }, f);
  sim::Result rr = sim::explore([reduced, program] { program(reduced); }, r);
  EXPECT_EQ(rf.failed, rr.failed) << rf.report << "\n---\n" << rr.report;
  EXPECT_EQ(rf.failure, rr.failure);
  EXPECT_TRUE(rf.complete) << rf.schedules << " schedules";
  EXPECT_TRUE(rr.complete) << rr.schedules << " schedules";
  EXPECT_LE(rr.schedules, rf.schedules);
  EXPECT_GT(full->set().size(), 1u) << "the program should have several outcomes";
  EXPECT_EQ(reduced->set(), full->set());
  ::testing::Test::RecordProperty("full_schedules", static_cast<int>(rf.schedules));
  ::testing::Test::RecordProperty("reduced_schedules", static_cast<int>(rr.schedules));
  Observed::unmap(full);
  Observed::unmap(reduced);
}

TEST(ReductionDifferential, CloseRacingSendReceiveAndAQuery) { differential(close_race); }
TEST(ReductionDifferential, BufferedStepsAndASelectDefault) { differential(buffered_and_default); }
TEST(ReductionDifferential, JoinForRunningAndTimeouts) { differential(joins_and_timeouts); }

TEST(ReductionDifferential, SelectBetweenASendAndAReceive) { differential(select_send_or_receive); }
TEST(ReductionDifferential, AForwardingChain) { differential(forwarding_chain); }
TEST(ReductionDifferential, LazyArrivalTimeoutsAndADestroyedChild) { differential(lazy_arrival); }

}  // namespace
