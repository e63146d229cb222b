// ceramic::LeakCheck: a test body that leaks a process fails with the leak report; healthy
// bodies (workers released by close, an explicit kill, a child hanging outside ceramic) pass.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/detector/leak_check.hpp>
#include <chrono>
#include <thread>

namespace {

using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::LeakCheck;
using ceramic::Proc;

// Bounded wait until the trace records pid blocked in a ceramic operation.
bool wait_until_blocked(pid_t pid) {
  const auto* trace = LeakCheck::trace();
  if (!trace) return false;
  for (int i = 0; i < 10000; ++i) {
    for (const auto& t : trace->snapshot(false).threads) {
      if (t.pid == pid && t.blocked()) return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

void leaking_body() {
  LeakCheck leaks;
  Proc worker("leaky-worker", [] {
    Chan<int> only_mine;
    only_mine.recv();  // blocked forever
  });
  ASSERT_TRUE(wait_until_blocked(worker.pid()));
}  // worker destroyed while blocked, then the check

TEST(LeakCheck, BodyThatEndsABlockedWorkerFailsWithTheReport) {
  EXPECT_NONFATAL_FAILURE(leaking_body(), "leaky-worker");
}

TEST(LeakCheck, FailureIsTheLeakReport) {
  EXPECT_NONFATAL_FAILURE(leaking_body(), "ceramic: LEAK");
}

TEST(LeakCheck, WorkersReleasedByCloseDoNotFail) {
  LeakCheck leaks;
  Chan<int> jobs;
  Proc w1("w1", [&] { for (int v : jobs) (void)v; });
  Proc w2("w2", [&] { for (int v : jobs) (void)v; });
  for (int i = 0; i < 50; ++i) jobs.send(i);
  jobs.close();
}

TEST(LeakCheck, ExplicitKillOfABlockedChildIsIntent) {
  LeakCheck leaks;
  Proc child("child", [] {
    Chan<int> only_mine;
    only_mine.recv();
  });
  ASSERT_TRUE(wait_until_blocked(child.pid()));
  child.kill(SIGKILL);
  EXPECT_EQ(child.join(), 128 + SIGKILL);
}

TEST(LeakCheck, ChildHangingOutsideCeramicIsNotALeak) {
  LeakCheck leaks;
  Chan<int> answer;
  Proc lookup("lookup", [&] {
    pause();
    answer.send(1);
  });
  int v = 0;
  EXPECT_EQ(answer.recv_for(v, 50ms), ceramic::Status::timeout);
}

}  // namespace
