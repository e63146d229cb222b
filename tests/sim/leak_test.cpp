// Leaks under the simulator: a process left blocked forever (without a deadline, in a send,
// receive, select or join) when its Proc is destroyed or when the program ends, while the rest
// of the program goes on. Found and replayed like a deadlock (Failure::leak); what is not a leak
// (an explicit kill, a wait with a deadline, a child released by close) passes.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
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
using ceramic::simtest::contains;
using ceramic::simtest::quick;
using namespace std::chrono_literals;

class Leak : public ::testing::TestWithParam<sim::Strategy> {
 protected:
  sim::Result expect_leak(const std::function<void()>& body, const char* who, const char* line_text) {
    sim::Result r = sim::explore(body, quick(GetParam(), 1000));
    EXPECT_TRUE(r.failed) << "not found in " << r.schedules << " schedules";
    EXPECT_EQ(r.failure, sim::Failure::leak) << r.report;
    EXPECT_TRUE(contains(r.report, who)) << r.report;
    EXPECT_TRUE(contains(r.report, line_text)) << r.report;
    EXPECT_TRUE(contains(r.report, "replay: ")) << r.report;
    sim::Result again = sim::replay(body, r.schedule);
    CERAMIC_EXPECT_SAME_FAILURE(r, again);
    return r;
  }
  void expect_clean(const std::function<void()>& body) {
    sim::Result r = sim::explore(body, quick(GetParam(), GetParam() == sim::Strategy::dfs ? 5000 : 300));
    EXPECT_FALSE(r.failed) << r.report;
  }
};

// A local Proc whose child waits in recv on a channel only it holds goes out of scope.
TEST_P(Leak, AProcDestroyedWhileItsChildWaitsForeverIsALeak) {
  expect_leak(
      [] {
        {
          Chan<int> only_mine;
          Proc waiter("waiter", [&] { only_mine.recv(); });
        }
      },
      "waiter", "destroyed the Proc");
}

// The body returns while a worker (whose Proc outlives it) waits forever in send.
TEST_P(Leak, TheProgramEndingWhileAWorkerWaitsForeverIsALeak) {
  expect_leak(
      [] {
        Chan<int> results;
        new Proc("worker", [&] { results.send(1); });   // nobody ever receives
      },
      "worker", "the program ended");
}

// The only other holder of the worker's channel is a background process that never uses it
// (it inherited the handle): while the program runs, nothing proves the worker stuck; at the
// end, it is left waiting.
TEST_P(Leak, AWorkerWhoseOnlyOtherHolderNeverServesItIsALeakAtTheEnd) {
  if (GetParam() == sim::Strategy::dfs) GTEST_SKIP() << "a timed loop: DFS does not complete";
  expect_leak(
      [] {
        Chan<int> c, stop;
        new Proc("background", [&] {
          int v = 0;
          while (stop.recv_for(v, 1ms) == Status::timeout) {
          }
        });
        new Proc("worker", [&] { c.send(1); });
      },
      "worker", "the program ended");
}

// A handler that gives up on its worker after a timeout, and returns: the worker is left
// blocked on its result send (the commonest leak of all). Exhaustive DFS finds it too.
TEST_P(Leak, AWorkerAbandonedByATimeoutIsALeak) {
  expect_leak(
      [] {
        Chan<int> result;
        Proc worker("worker", [&] { result.send(42); });
        int v = 0;
        if (result.recv_for(v, 1ms) == Status::timeout) return;   // the worker stays blocked
      },
      "worker", "destroyed the Proc");
}

// A process that started a worker and returns without joining it ends it (a Proc's child ends
// with its parent): the worker, waiting forever on a channel only the two of them held, is
// left blocked when it is ended, while main goes on.
TEST_P(Leak, AWorkerEndedByItsParentsExitIsALeak) {
  expect_leak(
      [] {
        Proc starter("starter", [] {
          Chan<int> c;
          new Proc("worker", [&] { (void)c.recv(); });  // nobody ever sends
        });
        starter.join();
        ceramic::select(ceramic::on_timeout(50ms, [] {}));  // main goes on a while
      },
      "worker", "starter exited");
}

// The same parent's exit ending a worker that is running, or waiting with a deadline, is no
// leak.
TEST_P(Leak, AWorkerEndedByItsParentsExitWhileItCouldStillMoveIsNotALeak) {
  expect_clean([] {
    Proc starter("starter", [] {
      Chan<int> c;
      new Proc("worker", [&] {
        int v = 0;
        (void)c.recv_for(v, 10ms);
      });
    });
    starter.join();
  });
}

TEST_P(Leak, AWorkerWithRoomForItsResultIsNotALeak) {
  expect_clean([] {
    Chan<int> result(ChanOptions{.capacity = 1});
    Proc worker("worker", [&] { result.send(42); });
    int v = 0;
    (void)result.recv_for(v, 1ms);
  });
}

TEST_P(Leak, AnExplicitKillIsIntentNotALeak) {
  expect_clean([] {
    Chan<int> never;
    Proc waiter("waiter", [&] { never.recv(); });
    waiter.kill(SIGKILL);
    waiter.join();
  });
}

TEST_P(Leak, AChildThatCloseReleasesIsNotALeak) {
  expect_clean([] {
    Chan<int> jobs;
    Proc consumer("consumer", [&] {
      for (int j : jobs) (void)j;
    });
    jobs.send(1);
    jobs.close();
  });
}

TEST_P(Leak, AWaitWithADeadlineIsNotALeak) {
  expect_clean([] {
    Chan<int> never;
    new Proc("patient", [&] {
      int v = 0;
      (void)never.recv_for(v, 1s);
    });
  });
}

// A consumer ranging over a channel that is never closed: the leak names the loop's line, not a
// line inside chan.hpp.
constexpr int kRangeForLine = __LINE__ + 5;
void range_over_unclosed() {
  Chan<int> jobs;
  Proc consumer("consumer", [&] {
    int sum = 0;
    for (int j : jobs) sum += j;
    (void)sum;
  });
  jobs.send(1);
}

TEST_P(Leak, ARangeForLeakNamesTheLoopsLine) {
  sim::Result r = expect_leak(range_over_unclosed, "consumer", "destroyed the Proc");
  std::string at = "leak_test.cpp:" + std::to_string(kRangeForLine);
  EXPECT_TRUE(contains(r.report, at)) << at << "\n" << r.report;
  EXPECT_FALSE(contains(r.report, "chan.hpp")) << r.report;
}

// Go's `select {}` in a child whose Proc goes out of scope: a wait nothing can ever serve.
TEST_P(Leak, ASelectOfNoCasesInADestroyedProcIsALeak) {
  expect_leak([] { Proc forever("forever", [] { ceramic::select(); }); }, "forever",
              "destroyed the Proc");
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, Leak,
                         ::testing::Values(sim::Strategy::random, sim::Strategy::pct,
                                           sim::Strategy::dfs),
                         ceramic::simtest::strategy_param_name);

}  // namespace
