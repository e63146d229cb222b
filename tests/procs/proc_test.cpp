// Proc: exit codes, signals, uncaught exceptions, the destructor that kills a child stuck
// forever (the isolate-a-hanging-call pattern), moves, and no zombies left behind.
#include <fcntl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <string>
#include <csignal>
#include <unistd.h>
#include <sys/wait.h>

#include <set>
#include <thread>
#include <optional>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::Proc;
using ceramic::Status;

// A call that never returns, like the seed README's gethostbyname.
[[noreturn]] void hang_forever() {
  for (;;) pause();
}

::testing::AssertionResult no_children_left() {
  auto kids = children_of_this_process();
  if (kids.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << kids.size() << " child process(es) left:"
                                       << describe(kids);
}

// A child reaped behind the Proc's back, its pid then reused by an unrelated process: kill()
// must not signal the impostor (it signals through the pidfd only). The reuse is forced through
// /proc/sys/kernel/ns_last_pid where that is writable (root in the initial pid namespace).
TEST(Proc, KillNeverSignalsAProcessThatReusedTheChildsPid) {
  ceramic::Proc child("short", [] {});
  pid_t pid = child.pid();
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);   // reaped behind the Proc's back: the pid is free
  int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "cannot force pid reuse here (ns_last_pid not writable)";
  pid_t impostor = -1;
  for (int attempt = 0; attempt < 20 && impostor != pid; ++attempt) {
    if (impostor > 0) {
      ::kill(impostor, SIGKILL);
      ::waitpid(impostor, &st, 0);
    }
    std::string last = std::to_string(pid - 1);
    if (::pwrite(fd, last.data(), last.size(), 0) < 0) break;
    impostor = ::fork();
    if (impostor == 0) {
      ::pause();
      _exit(0);
    }
  }
  ::close(fd);
  if (impostor != pid) {
    if (impostor > 0) {
      ::kill(impostor, SIGKILL);
      ::waitpid(impostor, &st, 0);
    }
    GTEST_SKIP() << "the pid was not reused (another process took it first)";
  }
  int watch = static_cast<int>(::syscall(SYS_pidfd_open, impostor, 0));
  ASSERT_GE(watch, 0);
  child.kill(SIGKILL);
  pollfd p{watch, POLLIN, 0};   // readable once the impostor dies (a signal takes microseconds)
  EXPECT_EQ(::poll(&p, 1, 200), 0) << "kill() signalled the process that reused the pid";
  ::close(watch);
  ::kill(impostor, SIGKILL);
  ::waitpid(impostor, &st, 0);
}

TEST(Proc, JoinReturnsZeroWhenTheBodyReturns) {
  Proc p([] {});
  EXPECT_EQ(p.join(), 0);
}

TEST(Proc, JoinReturnsTheCodePassedToExit) {
  Proc p([] { std::exit(7); });
  EXPECT_EQ(p.join(), 7);
}

TEST(Proc, JoinReturnsTheCodePassedToUnderscoreExit) {
  Proc p([] { _exit(42); });
  EXPECT_EQ(p.join(), 42);
}

TEST(Proc, JoinTwiceReturnsTheSameCode) {
  Proc p([] { _exit(3); });
  EXPECT_EQ(p.join(), 3);
  EXPECT_EQ(p.join(), 3);
  EXPECT_EQ(p.join_for(0ns), 3);
}

TEST(Proc, ChildKilledBySignalJoinsAs128PlusSignal) {
  Proc p([] { raise(SIGUSR1); });  // default action: terminate
  EXPECT_EQ(p.join(), 128 + SIGUSR1);
}

TEST(Proc, KillSendsASignalToABlockedChild) {
  Chan<int> never;
  Chan<int> ready;
  Proc p("blocked", [&] {
    ready.send(1);
    never.recv();
  });
  int v = 0;
  ASSERT_EQ(ready.recv_for(v, kPatience), Status::ok);
  EXPECT_TRUE(p.running());
  p.kill(SIGKILL);
  EXPECT_EQ(p.join(), 128 + SIGKILL);
  EXPECT_FALSE(p.running());
  p.kill(SIGKILL);  // reaped: a no-op, not a signal to a recycled pid
}

TEST(Proc, JoinForTimesOutWhileTheChildRuns) {
  Chan<int> release;
  Proc p("waiting", [&] {
    int v = 0;
    require(release.recv_for(v, kPatience) == Status::ok, "release");
  });
  EXPECT_EQ(p.join_for(20ms), std::nullopt);
  EXPECT_TRUE(p.running());
  EXPECT_EQ(release.send_for(1, kPatience), Status::ok);
  EXPECT_EQ(p.join_for(kPatience), 0);
}

TEST(Proc, UncaughtExceptionExitsNonZeroWithTheMessageOnStderr) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Proc p("thrower", [&] {
    dup2(fds[1], STDERR_FILENO);
    throw std::runtime_error("boom-4711");
  });
  close(fds[1]);
  EXPECT_EQ(p.join(), 1);
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, std::size_t(n));
  close(fds[0]);
  EXPECT_NE(err.find("boom-4711"), std::string::npos) << "stderr was: " << err;
  EXPECT_NE(err.find("thrower"), std::string::npos) << "stderr should name the Proc: " << err;
  EXPECT_NE(err.find("uncaught exception"), std::string::npos) << "stderr was: " << err;
}

TEST(Proc, ExceptionThatIsNotAStdExceptionStillExitsNonZero) {
  Proc p([] {
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, STDERR_FILENO);
    throw 17;
  });
  EXPECT_NE(p.join(), 0);
}

TEST(Proc, NameAndPidAreReported) {
  Chan<pid_t> pids;
  Proc p("worker-name", [&] { pids.send(getpid()); });
  EXPECT_EQ(p.name(), "worker-name");
  pid_t child = 0;
  ASSERT_EQ(pids.recv_for(child, kPatience), Status::ok);
  EXPECT_EQ(p.pid(), child);
  EXPECT_NE(p.pid(), getpid());
  EXPECT_EQ(p.join(), 0);
}

// The isolate-a-hanging-call pattern: the parent gives up waiting, drops the Proc, and the
// stuck child is killed and reaped.
TEST(Proc, DestructorKillsAChildStuckForeverAndReapsIt) {
  Chan<int> result;
  pid_t pid = -1;
  {
    Proc p("gethostbyname", [&] {
      hang_forever();
      result.send(1);
    });
    pid = p.pid();
    int v = 0;
    EXPECT_EQ(result.recv_for(v, 100ms), Status::timeout);
  }
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1) << "the child was not reaped";
  EXPECT_EQ(errno, ECHILD);
  EXPECT_TRUE(no_children_left());
}

TEST(Proc, DestructorEscalatesToSigkillWhenTheChildIgnoresSigterm) {
  Chan<int> ready;
  auto start = Clock::now();
  {
    Proc p("stubborn", [&] {
      signal(SIGTERM, SIG_IGN);
      ready.send(1);
      hang_forever();
    });
    int v = 0;
    ASSERT_EQ(ready.recv_for(v, kPatience), Status::ok);
    start = Clock::now();
  }
  EXPECT_LT(Clock::now() - start, Proc::kill_grace() + kPatience);
  EXPECT_TRUE(no_children_left());
}

TEST(Proc, DestructorOfAFinishedChildReapsIt) {
  Chan<int> done;
  {
    Proc p("quick", [&] { done.send(1); });
    int v = 0;
    ASSERT_EQ(done.recv_for(v, kPatience), Status::ok);
  }
  EXPECT_TRUE(no_children_left());
}

TEST(Proc, ChildBlockedInRecvIsKilledByTheDestructor) {
  Chan<int> never;
  Chan<int> ready;
  {
    Proc p("blocked", [&] {
      ready.send(1);
      never.recv();
    });
    int v = 0;
    ASSERT_EQ(ready.recv_for(v, kPatience), Status::ok);
  }
  EXPECT_TRUE(no_children_left());
}

TEST(Proc, MovesIntoAVectorKeepEveryChild) {
  Chan<int> c;
  std::vector<Proc> procs;
  std::set<pid_t> pids;
  for (int i = 0; i < 8; ++i) {  // the vector reallocates: Procs move
    procs.push_back(Proc("member" + std::to_string(i), [&, i] { c.send(i); }));
    pids.insert(procs.back().pid());
  }
  EXPECT_EQ(pids.size(), 8u);
  std::multiset<int> got;
  for (int i = 0; i < 8; ++i) {
    int v = 0;
    ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
    got.insert(v);
  }
  EXPECT_EQ(got.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got.count(i), 1u);
  for (Proc& p : procs) EXPECT_TRUE(exits_with(p, 0));
  procs.clear();
  EXPECT_TRUE(no_children_left());
}

TEST(Proc, MoveConstructionTransfersTheChild) {
  Proc a([] { _exit(5); });
  pid_t pid = a.pid();
  Proc b(std::move(a));
  EXPECT_EQ(b.pid(), pid);
  EXPECT_EQ(b.join(), 5);
}

TEST(Proc, MoveAssignmentKillsAndReapsTheChildItReplaces) {
  Chan<int> ready;
  Proc a("replaced", [&] {
    ready.send(1);
    hang_forever();
  });
  int v = 0;
  ASSERT_EQ(ready.recv_for(v, kPatience), Status::ok);
  const pid_t replaced = a.pid();
  a = Proc("replacement", [] { _exit(9); });
  EXPECT_EQ(waitpid(replaced, nullptr, WNOHANG), -1) << "the replaced child was not reaped";
  EXPECT_NE(a.pid(), replaced);
  EXPECT_EQ(a.name(), "replacement");
  EXPECT_EQ(a.join(), 9);
}

TEST(Proc, ChildDiesWhenItsParentIsKilled) {
  Chan<pid_t> grandchild_pid;
  Proc parent("parent", [&] {
    Proc grandchild("orphan", [] { hang_forever(); });
    grandchild_pid.send(grandchild.pid());
    hang_forever();
  });
  pid_t orphan = 0;
  ASSERT_EQ(grandchild_pid.recv_for(orphan, kPatience), Status::ok);
  parent.kill(SIGKILL);
  EXPECT_EQ(parent.join(), 128 + SIGKILL);
  EXPECT_TRUE(await_process_exit(orphan, kPatience)) << "the grandchild outlived its parent";
}

// PR_SET_PDEATHSIG would tie the child to the thread that forked it: a Proc started from a
// worker thread must outlive that thread, and still die with the process.
TEST(Proc, AChildStartedFromAThreadOutlivesTheThread) {
  Chan<int> ready;
  Chan<int> ping;
  Chan<int> pong;
  std::optional<Proc> child;
  Status started = Status::timeout;
  std::thread starter([&] {
    child.emplace("echo", [&] {
      ready.send(1);  // running, with whatever ties it to its parent in place
      int v = 0;
      while (ping.recv_for(v, kPatience) == Status::ok) pong.send(v + 1);
    });
    int one = 0;
    started = ready.recv_for(one, kPatience);
  });
  starter.join();  // the thread that forked is gone
  ASSERT_EQ(started, Status::ok);
  ASSERT_EQ(ping.send_for(41, kPatience), Status::ok) << "the child died with its thread";
  int v = 0;
  ASSERT_EQ(pong.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 42);
  ping.close();
  EXPECT_EQ(child->join(), 0);
}

TEST(Proc, AChildStartedFromAThreadDiesWhenItsParentProcessIsKilled) {
  Chan<pid_t> grandchild_pid;
  Proc parent("parent", [&] {
    std::optional<Proc> grandchild;
    std::thread starter([&] { grandchild.emplace("orphan", [] { hang_forever(); }); });
    starter.join();
    grandchild_pid.send(grandchild->pid());
    hang_forever();
  });
  pid_t orphan = 0;
  ASSERT_EQ(grandchild_pid.recv_for(orphan, kPatience), Status::ok);
  parent.kill(SIGKILL);
  EXPECT_EQ(parent.join(), 128 + SIGKILL);
  EXPECT_TRUE(await_process_exit(orphan, kPatience)) << "the grandchild outlived its parent";
}

// Siblings do not keep each other alive: each child closes the lifelines of the others, so the
// last-made sibling (which held copies of every earlier one's) does not delay their deaths.
TEST(Proc, SiblingsDieTogetherWithTheirParent) {
  Chan<pid_t> pids;
  Proc parent("parent", [&] {
    std::vector<Proc> children;
    for (int i = 0; i < 4; ++i) children.emplace_back([] { hang_forever(); });
    for (auto& c : children) pids.send(c.pid());
    hang_forever();
  });
  std::vector<pid_t> orphans;
  for (int i = 0; i < 4; ++i) {
    pid_t p = 0;
    ASSERT_EQ(pids.recv_for(p, kPatience), Status::ok);
    orphans.push_back(p);
  }
  parent.kill(SIGKILL);
  EXPECT_EQ(parent.join(), 128 + SIGKILL);
  for (pid_t p : orphans) EXPECT_TRUE(await_process_exit(p, kPatience)) << p;
}

TEST(Proc, ManyProcsLeaveNoZombies) {
  Chan<int> c;
  for (int round = 0; round < 5; ++round) {
    std::vector<Proc> procs;
    for (int i = 0; i < 6; ++i) {
      if (i % 3 == 0) {
        procs.emplace_back([] {});
      } else if (i % 3 == 1) {
        procs.emplace_back([] { hang_forever(); });
      } else {
        procs.emplace_back([&] { c.send(1); });
        int v = 0;
        ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
      }
    }
  }
  EXPECT_TRUE(no_children_left());
}

}  // namespace
