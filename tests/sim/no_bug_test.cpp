// Correct programs pass every schedule of every strategy: no false deadlocks, crashes, runaways
// or failed checks. Timeouts run on simulated time (they fire only when nothing else can happen).
#include <gtest/gtest.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/gtest.hpp>
#include <ceramic/sim/sim.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;
namespace sim = ceramic::sim;
using ceramic::simtest::contains;

class NoBug : public ::testing::TestWithParam<sim::Strategy> {
 protected:
  sim::Options options(std::size_t iterations = 0) const {
    if (iterations == 0) iterations = GetParam() == sim::Strategy::dfs ? 300 : 150;
    return ceramic::simtest::quick(GetParam(), iterations, 42);
  }
  // Explores body and expects no failure in any schedule.
  void expect_clean(const std::function<void()>& body, std::size_t iterations = 0,
                    sim::Timeouts timeouts = sim::Timeouts::any_time) {
    sim::Options o = options(iterations);
    o.timeouts = timeouts;
    sim::Result r = sim::explore(body, o);
    CERAMIC_EXPECT_NO_SIM_FAILURE(r);
    EXPECT_GE(r.schedules, 1u);
    if (GetParam() != sim::Strategy::dfs) {
      EXPECT_EQ(r.schedules, options(iterations).iterations);
    }
  }
};

TEST_P(NoBug, ProducerConsumersWithCloseAndRangeFor) {
  expect_clean([] {
    Chan<int> work;
    Chan<int> partial;
    Proc producer("producer", [&] {
      for (int i = 1; i <= 6; ++i) work.send(i);
      work.close();
    });
    Proc consumer("consumer", [&] {
      int sum = 0;
      for (int v : work) sum += v;
      partial.send(sum);
    });
    int sum = 0;
    for (int v : work) sum += v;
    sum += *partial.recv();
    sim::check(sum == 21, "every value consumed once");
    sim::check(producer.join() == 0 && consumer.join() == 0);
  });
}

TEST_P(NoBug, BufferedPipeline) {
  expect_clean([] {
    Chan<int> numbers(ChanOptions{.capacity = 2});
    Chan<int> doubled(ChanOptions{.capacity = 1});
    Proc source("source", [&] {
      for (int i = 1; i <= 5; ++i) numbers.send(i);
      numbers.close();
    });
    Proc twice("twice", [&] {
      for (int v : numbers) doubled.send(2 * v);
      doubled.close();
    });
    std::vector<int> got;
    for (int v : doubled) got.push_back(v);
    sim::check(got == std::vector<int>{2, 4, 6, 8, 10}, "a pipeline keeps the order");
    source.join();
    twice.join();
  });
}

TEST_P(NoBug, SelectWithSeveralReadyCases) {
  expect_clean([] {
    Chan<int> c1, c2;
    Chan<std::string> c3(ChanOptions{.capacity = 1});
    Proc a("A", [&] {
      for (int i = 0; i < 3; ++i) c1.send(1);
    });
    Proc b("B", [&] {
      for (int i = 0; i < 3; ++i) c2.send(2);
    });
    Proc d("D", [&] {
      for (int i = 0; i < 3; ++i) c3.send("three");
    });
    int ones = 0, twos = 0, threes = 0;
    for (int i = 0; i < 9; ++i) {
      ceramic::select(ceramic::on_recv(c1, [&](std::optional<int> v) { ones += *v == 1; }),
                      ceramic::on_recv(c2, [&](std::optional<int> v) { twos += *v == 2; }),
                      ceramic::on_recv(c3, [&](std::optional<std::string> v) {
                        threes += *v == "three";
                      }));
    }
    sim::check(ones == 3 && twos == 3 && threes == 3, "each case fired for each value");
    a.join();
    b.join();
    d.join();
  });
}

TEST_P(NoBug, SelectWithSendAndReceiveCases) {
  // main offers values on out while taking values from in; each side finishes.
  expect_clean([] {
    Chan<int> out, in;
    Proc echo("echo", [&] {
      for (int i = 0; i < 3; ++i) in.send(10 + *out.recv());
    });
    int sent = 0, got = 0, sum = 0;
    while (got < 3) {
      if (sent < 3) {
        ceramic::select(ceramic::on_send(out, sent, [&] { ++sent; }),
                        ceramic::on_recv(in, [&](std::optional<int> v) {
                          ++got;
                          sum += *v;
                        }));
      } else {
        sum += *in.recv();
        ++got;
      }
    }
    sim::check(sum == 10 + 11 + 12, "every echo received once");
    echo.join();
  });
}

TEST_P(NoBug, RecvForOnASilentChannelTimesOutAndTheProgramEnds) {
  expect_clean([] {
    Chan<int> nobody_sends;
    int v = 0;
    Status st = nobody_sends.recv_for(v, 1s);
    sim::check(st == Status::timeout, "recv_for on a silent channel times out");
    Status st2 = nobody_sends.send_for(5, 1s);
    sim::check(st2 == Status::timeout, "send_for with no receiver times out");
  });
}

TEST_P(NoBug, UnderWhenIdleATimeoutNeverFiresWhileSomethingElseCanHappen) {
  // A has three rendezvous with B to do before it sends to main. Under Timeouts::when_idle,
  // main's 1 ns timeout only fires when nothing else can happen, which is never before A's
  // send: main always gets the value. (Under any_time it may fire: ModelTimeouts tests that.)
  expect_clean([] {
    Chan<int> busy, c;
    Proc a("A", [&] {
      for (int i = 0; i < 3; ++i) busy.send(i);
      c.send(42);
    });
    Proc b("B", [&] {
      for (int i = 0; i < 3; ++i) busy.recv();
    });
    int v = 0;
    Status st = c.recv_for(v, 1ns);
    sim::check(st == Status::ok && v == 42, "recv_for timed out while A could still send");
    bool timed_out = false;
    Chan<int> late;
    Proc l("L", [&] {
      for (int i = 0; i < 2; ++i) busy.send(i);
      late.send(7);
    });
    Proc m("M", [&] {
      for (int i = 0; i < 2; ++i) busy.recv();
    });
    ceramic::select(ceramic::on_recv(late, [&](std::optional<int> x) { v = *x; }),
                    ceramic::on_timeout(1ns, [&] { timed_out = true; }));
    sim::check(!timed_out && v == 7, "on_timeout fired while L could still send");
    a.join();
    b.join();
    l.join();
    m.join();
  }, 0, sim::Timeouts::when_idle);
}

TEST_P(NoBug, JoinReturnsTheChildsExitCode) {
  expect_clean([] {
    Chan<int> c;
    Proc ok("ok", [&] { c.send(1); });
    c.recv();
    sim::check(ok.join() == 0, "a child that returns exits with 0");
    sim::check(ok.join() == 0, "join again returns the same code");
    Proc blocked("blocked", [&] { c.recv(); });
    blocked.kill(SIGKILL);
    int code = blocked.join();
    sim::check(code == 128 + SIGKILL, "a killed child's code is 128 + SIGKILL, not " + std::to_string(code));
    sim::check(!blocked.running());
  });
}

TEST_P(NoBug, JoinForTimesOutOnABlockedChildAndClosingReleasesIt) {
  expect_clean([] {
    Chan<int> c;
    Proc child("child", [&] {
      std::optional<int> v = c.recv();  // nobody sends: only the close ends this
      sim::check(!v.has_value(), "the receive ends by the close");
    });
    std::optional<int> early = child.join_for(1s);
    sim::check(!early.has_value(), "join_for on a blocked child times out");
    sim::check(child.running(), "the child still runs after join_for timed out");
    c.close();
    sim::check(child.join() == 0, "the released child exits cleanly");
  });
}

TEST_P(NoBug, KillEndsTheChildAndEveryProcessItStarted) {
  expect_clean([] {
    Chan<int> never;
    Chan<int> ready;
    Proc parent("parent", [&] {
      Proc grandchild("grandchild", [&] {
        ready.send(1);
        never.recv();
      });
      never.recv();
    });
    ready.recv();  // the grandchild exists and will block
    parent.kill(SIGTERM);
    sim::check(parent.join() == 128 + SIGKILL, "the simulator ends a killed child with SIGKILL");
  });
}

TEST_P(NoBug, DestroyingARunningProcEndsItWithoutAGracePeriod) {
  // The child polls with a deadline (it is not left waiting forever: no leak); destroying its
  // Proc ends it at once. A child left blocked forever is a leak instead (leak_test.cpp).
  expect_clean([] {
    Chan<int> never;
    {
      Proc busy("busy", [&] {
        int v = 0;
        while (never.recv_for(v, 1ms) == Status::timeout) {
        }
      });
    }
    // Reaching here without a deadlock is the test.
    sim::check(true);
  }, GetParam() == sim::Strategy::dfs ? 200 : 0);
}

TEST_P(NoBug, ExactlyOnceDeliveryFromSeveralSenders) {
  constexpr int kSenders = 3;
  constexpr int kEach = 4;
  for (std::size_t capacity : {std::size_t{0}, std::size_t{2}}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    expect_clean(
        [capacity] {
          Chan<int> c(ChanOptions{.capacity = capacity});
          std::vector<Proc> senders;
          for (int s = 0; s < kSenders; ++s) {
            senders.emplace_back("S" + std::to_string(s), [&c, s] {
              for (int i = 0; i < kEach; ++i) c.send(s * kEach + i);
            });
          }
          std::uint32_t seen = 0;
          int count = 0, sum = 0;
          for (int i = 0; i < kSenders * kEach; ++i) {
            int v = *c.recv();
            sim::check(v >= 0 && v < kSenders * kEach, "a value nobody sent");
            sim::check(!(seen & (1u << v)), "value " + std::to_string(v) + " received twice");
            seen |= 1u << v;
            ++count;
            sum += v;
          }
          constexpr int n = kSenders * kEach;
          sim::check(count == n && sum == n * (n - 1) / 2, "every value received exactly once");
          for (auto& p : senders) sim::check(p.join() == 0);
          int extra = 0;
          sim::check(c.recv_for(extra, 1s) == Status::timeout, "no value left over");
        },
        GetParam() == sim::Strategy::dfs ? 300 : 300);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, NoBug,
                         ::testing::Values(sim::Strategy::random, sim::Strategy::pct,
                                           sim::Strategy::dfs),
                         ceramic::simtest::strategy_param_name);

// A polling loop: under DFS (which always tries the first transition, main's default, first)
// it would never end, so only the randomised strategies are asked to be fair to it.
class Polling : public ::testing::TestWithParam<sim::Strategy> {};

TEST_P(Polling, SelectDefaultLoopWaitingForAPartnerIsNotARunaway) {
  sim::Options o = ceramic::simtest::quick(GetParam(), 200, 9);  // default max_steps
  ASSERT_EQ(o.max_steps, 10000u);
  sim::Result r = sim::explore(
      [] {
        Chan<int> busy, c;
        Proc a("A", [&] {
          for (int i = 0; i < 3; ++i) busy.send(i);
          c.send(42);
        });
        Proc b("B", [&] {
          for (int i = 0; i < 3; ++i) busy.recv();
        });
        int got = 0;
        int polls = 0;
        while (got == 0) {
          ++polls;
          ceramic::select(ceramic::on_recv(c, [&](std::optional<int> v) { got = *v; }),
                          ceramic::on_default([] {}));
        }
        sim::check(got == 42);
        a.join();
        b.join();
      },
      o);
  CERAMIC_EXPECT_NO_SIM_FAILURE(r);
  EXPECT_EQ(r.schedules, 200u);
}

TEST_P(Polling, ZeroTimeoutLoopWaitingForAPartnerIsNotARunaway) {
  sim::Options o = ceramic::simtest::quick(GetParam(), 200, 10);
  sim::Result r = sim::explore(
      [] {
        Chan<int> busy, c;
        Proc a("A", [&] {
          for (int i = 0; i < 3; ++i) busy.send(i);
          c.send(42);
        });
        Proc b("B", [&] {
          for (int i = 0; i < 3; ++i) busy.recv();
        });
        int v = 0;
        while (c.recv_for(v, 0s) != Status::ok) {
        }
        sim::check(v == 42);
        a.join();
        b.join();
      },
      o);
  CERAMIC_EXPECT_NO_SIM_FAILURE(r);
}

INSTANTIATE_TEST_SUITE_P(Randomised, Polling,
                         ::testing::Values(sim::Strategy::random, sim::Strategy::pct),
                         ceramic::simtest::strategy_param_name);

// ---- force_unbuffered ----

void relies_on_its_buffer() {
  Chan<int> c(ChanOptions{.capacity = 1});
  c.send(1);  // fits the buffer: nobody else needs to be there
  sim::check(*c.recv() == 1);
}

TEST(ForceUnbuffered, AProgramRelyingOnItsBufferPassesNormally) {
  for (sim::Strategy s : {sim::Strategy::random, sim::Strategy::pct, sim::Strategy::dfs}) {
    sim::Result r = sim::explore(relies_on_its_buffer, ceramic::simtest::quick(s, 20));
    CERAMIC_EXPECT_NO_SIM_FAILURE(r) << ceramic::simtest::strategy_name(s);
  }
}

TEST(ForceUnbuffered, AProgramRelyingOnItsBufferDeadlocksWithoutIt) {
  for (sim::Strategy s : {sim::Strategy::random, sim::Strategy::pct, sim::Strategy::dfs}) {
    SCOPED_TRACE(ceramic::simtest::strategy_name(s));
    sim::Options o = ceramic::simtest::quick(s, 20);
    o.force_unbuffered = true;
    sim::Result r = sim::explore(relies_on_its_buffer, o);
    ASSERT_TRUE(r.failed);
    EXPECT_EQ(r.failure, sim::Failure::deadlock) << r.report;
    EXPECT_EQ(r.schedule.rfind("cs2u:", 0), 0u) << r.schedule;
    EXPECT_EQ(r.iteration, 0u);
    // The flag travels with the schedule: replay runs the channel unbuffered again.
    sim::Result again = sim::replay(relies_on_its_buffer, r.schedule);
    CERAMIC_EXPECT_SAME_FAILURE(r, again);
    // Without the flag the same (empty) choice list runs cleanly.
    sim::Result buffered = sim::replay(relies_on_its_buffer, "cs2:");
    EXPECT_FALSE(buffered.failed) << buffered.report;
  }
}

}  // namespace
