// What real executions reach and the simulator must reach too, and what it must not call a bug:
// the four places where a narrower model hid real blocking bugs (a timeout that wins against a
// slow partner, a default that runs before a partner arrives, the second of two ready select
// cases, an unfair loop), and a body that returns while processes it started still run. Each
// bug is found by every strategy within 1,000 schedules and replays to the same failure; each
// corrected program passes 1,000 PCT schedules and exhaustive DFS.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;
namespace sim = ceramic::sim;
using ceramic::simtest::quick;
using namespace std::chrono_literals;

class Reach : public ::testing::TestWithParam<sim::Strategy> {
 protected:
  // The bug is found within 1,000 schedules and its schedule replays to the same failure.
  void expect_found(const std::function<void()>& bug, sim::Failure kind) {
    sim::Result r = sim::explore(bug, quick(GetParam(), 1000));
    ASSERT_TRUE(r.failed) << "not found in " << r.schedules << " schedules";
    EXPECT_EQ(r.failure, kind) << r.report;
    sim::Result again = sim::replay(bug, r.schedule);
    CERAMIC_EXPECT_SAME_FAILURE(r, again);
  }
  // The corrected program passes: 1,000 schedules, or every one for DFS.
  void expect_clean(const std::function<void()>& fix) {
    sim::Result r = sim::explore(fix, quick(GetParam(), GetParam() == sim::Strategy::dfs ? 20000 : 1000));
    EXPECT_FALSE(r.failed) << r.report;
    if (GetParam() == sim::Strategy::dfs) {
      EXPECT_TRUE(r.complete) << r.schedules << " schedules";
    }
  }
};

// 1. A handler waits for a worker's result or gives up after 1 ms; the worker takes longer.
// In production the timeout wins and the worker blocks forever on its unbuffered send; the fix
// (Go's usual one) gives the result channel room for the one value.
void timeout_abandons_worker(std::size_t capacity) {
  Chan<int> result(ChanOptions{.capacity = capacity});
  Chan<int> work;
  Proc feeder("feeder", [&] { work.send(1); });
  Proc worker("worker", [&] {
    int job = *work.recv();   // the slow part: it needs the feeder first
    result.send(job * 2);
  });
  bool gave_up = false;
  ceramic::select(ceramic::on_recv(result, [](std::optional<int>) {}),
                  ceramic::on_timeout(1ms, [&] { gave_up = true; }));
  (void)gave_up;
  worker.join();   // the worker must be able to finish either way
  feeder.join();
}

TEST_P(Reach, ATimeoutThatAbandonsAWorkerIsFound) {
  expect_found([] { timeout_abandons_worker(0); }, sim::Failure::deadlock);
}
TEST_P(Reach, ATimeoutThatAbandonsAWorkerWithRoomForItsResultIsClean) {
  expect_clean([] { timeout_abandons_worker(1); });
}

// The same with recv_for, send_for and join_for.
void timed_calls_abandon(bool fixed) {
  Chan<int> in(ChanOptions{.capacity = fixed ? 1u : 0u});
  Chan<int> out(ChanOptions{.capacity = fixed ? 1u : 0u});
  Chan<int> go;
  Proc producer("producer", [&] {
    go.recv();
    in.send(7);   // blocks forever once main's recv_for gave up (unless in has room)
  });
  Proc consumer("consumer", [&] { out.recv(); });
  go.send(0);
  int v = 0;
  (void)in.recv_for(v, 1ms);
  if (out.send_for(1, 1ms) == Status::timeout && fixed) out.send(1);
  if (!producer.join_for(1ms)) producer.join();
  consumer.join();
}

TEST_P(Reach, RecvForSendForAndJoinForThatGiveUpAreFound) {
  expect_found([] { timed_calls_abandon(false); }, sim::Failure::deadlock);
}
TEST_P(Reach, RecvForSendForAndJoinForWithRoomAreClean) {
  expect_clean([] { timed_calls_abandon(true); });
}

// 2. A loop polls a callback channel with a default and, in the default, hands the next event
// to a peer synchronously. The peer is between receiving the previous event and offering its
// callback: the default runs, and both wait on each other forever. The fix waits for the
// callback before sending the next event.
void polling_loop(bool fixed) {
  Chan<int> events, callbacks;
  Proc peer("peer", [&] {
    for (int i = 0; i < 2; ++i) {
      int e = *events.recv();
      callbacks.send(e);
    }
  });
  int sent = 0, answered = 0;
  while (answered < 2) {
    if (fixed) {
      events.send(sent++);
      callbacks.recv();
      ++answered;
      continue;
    }
    ceramic::select(ceramic::on_recv(callbacks, [&](std::optional<int>) { ++answered; }),
                    ceramic::on_default([&] {
                      if (sent < 2) events.send(sent++);
                    }));
  }
  peer.join();
}

TEST_P(Reach, ADefaultThatRunsBeforeAPartnerArrivesIsFound) {
  expect_found([] { polling_loop(false); }, sim::Failure::deadlock);
}
TEST_P(Reach, APollingLoopThatWaitsForItsCallbackIsClean) {
  expect_clean([] { polling_loop(true); });
}

// 3. The second of two ready cases: both cases of main's select can meet the same partner
// select (and, separately, two buffered channels both hold a value); the bug needs the second.
void second_ready_case(bool fixed) {
  Chan<int> a, b;
  Chan<int> x(ChanOptions{.capacity = 1}), y(ChanOptions{.capacity = 1});
  x.send(1);
  y.send(2);
  Proc partner("partner", [&] {
    ceramic::select(ceramic::on_recv(a, [](std::optional<int>) {}),
                    ceramic::on_recv(b, [](std::optional<int>) {}));
  });
  std::size_t first = ceramic::select(ceramic::on_send(a, 1, [] {}), ceramic::on_send(b, 2, [] {}));
  std::size_t second = ceramic::select(ceramic::on_recv(x, [](std::optional<int>) {}),
                                       ceramic::on_recv(y, [](std::optional<int>) {}));
  partner.join();
  if (!fixed) sim::check(first == 0 || second == 0, "took the second ready case twice");
}

TEST_P(Reach, ABugThatNeedsTheSecondOfTwoReadyCasesIsFound) {
  expect_found([] { second_ready_case(false); }, sim::Failure::check);
}
TEST_P(Reach, EitherReadyCaseIsFine) {
  expect_clean([] { second_ready_case(true); });
}

// 4. A loop that spawns a short worker each time until a stop channel is closed: correct, but
// a schedule that never lets the closer run never ends. Neither the spawns over the schedule
// (only three processes are alive at once) nor the unfair prefix is a failure.
void loop_until_closed(bool poll_with_default) {
  Chan<int> stop;
  Proc closer("closer", [&] { stop.close(); });
  for (;;) {
    bool done = false;
    if (poll_with_default) {
      ceramic::select(ceramic::on_recv(stop, [&](std::optional<int>) { done = true; }),
                      ceramic::on_default([] {}));
    } else {
      done = stop.closed();
    }
    if (done) break;
    Chan<int> ping;
    Proc w("worker", [&] { ping.send(1); });
    ping.recv();
    w.join();
  }
  closer.join();
}

TEST_P(Reach, AnUnfairLoopThatPollsClosedIsNotAFailure) {
  if (GetParam() == sim::Strategy::dfs) GTEST_SKIP() << "unbounded loop: DFS never completes";
  // Each unfair schedule runs fairness_bound steps (a few hundred spawns) before it turns fair.
  sim::Result r = sim::explore([] { loop_until_closed(false); }, quick(GetParam(), 40));
  EXPECT_FALSE(r.failed) << r.report;
}
TEST_P(Reach, AnUnfairLoopThatPollsWithADefaultIsNotAFailure) {
  if (GetParam() == sim::Strategy::dfs) GTEST_SKIP() << "unbounded loop: DFS never completes";
  sim::Result r = sim::explore([] { loop_until_closed(true); }, quick(GetParam(), 300));
  EXPECT_FALSE(r.failed) << r.report;
}

// A livelock stays one: a loop that nothing can stop runs away even under a fair schedule.
TEST(ReachFairness, ALoopNothingStopsIsStillARunaway) {
  sim::Options o = quick(sim::Strategy::pct, 3);
  o.max_steps = 3000;
  o.fairness_bound = 100;
  sim::Result r = sim::explore(
      [] {
        Chan<int> never;
        for (;;) {
          if (never.closed()) break;
        }
      },
      o);
  ASSERT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::runaway) << r.report;
  EXPECT_TRUE(ceramic::simtest::contains(r.report, "ran fairly")) << r.report;
  sim::Result again = sim::replay([] {
    Chan<int> never;
    for (;;) {
      if (never.closed()) break;
    }
  }, r.schedule);
  EXPECT_EQ(again.failure, sim::Failure::runaway) << again.report;
}

// The body returns while a process it started (and never joined) still runs a timed loop: main's
// exit ends it, and that is neither a crash nor a non-zero exit.
TEST_P(Reach, ProcessesEndedByMainsExitAreNotCrashes) {
  if (GetParam() == sim::Strategy::dfs) GTEST_SKIP() << "a timed loop: DFS does not complete";
  sim::Result r = sim::explore(
      [] {
        Chan<int> stop;
        auto* background = new Proc("background", [&] {
          int v = 0;
          while (stop.recv_for(v, 1ms) == Status::timeout) {
          }
        });
        (void)background;   // left running on purpose: main's exit ends it
      },
      quick(GetParam(), 200));
  EXPECT_FALSE(r.failed) << r.report;
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, Reach,
                         ::testing::Values(sim::Strategy::random, sim::Strategy::pct,
                                           sim::Strategy::dfs),
                         ceramic::simtest::strategy_param_name);

}  // namespace
