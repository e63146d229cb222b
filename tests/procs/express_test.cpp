// The express hand-off (core/src/express.hpp): a receiver of an unbuffered channel of short
// values waits alone on the express line, and a sender completes it without the channel lock.
// The lock no longer orders those two, so what the lock used to guarantee is checked here:
// exactly-once under SIGKILLs at random moments (fault_test.cpp, express traffic); a receiver
// killed while it waits gets nothing
// (a send to it does not report ok); a sender that dies holding the line (between its claim
// and its value) never strands the receiver; a timed receiver gives up on a stopped claimer
// at its deadline; close releases it.
//
// The states a sender dies in are forged through the region (support/scribbler.hpp), as the
// threat model allows any holder of a named channel to: the receiver cannot tell the two apart.
#include <sys/wait.h>

#include "identity.hpp"  // core/src: process identities, as the express line's claim holds them
#include "owner_lock.hpp"  // core/src: the lock word's waiters bit
#include "slots.hpp"       // core/src: the closed flag
#include "support/scribbler.hpp"
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;
using namespace std::chrono_literals;
namespace d = ceramic::detail;

std::uint32_t express_state(Scribbler& s) {
  return s.hdr().x.state.load() & d::kStateMask;
}

// The identity of a process that existed and is gone (forked, identified, killed, reaped).
std::uint64_t dead_identity() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  std::uint64_t id = d::identity_of(pid).value_or(0);
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return id;
}

TEST(Express, AReceiverAloneOnAnUnbufferedIntChannelWaitsOnTheExpressLine) {
  const std::string name = unique_name("alone");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc receiver("receiver", [&] { require(c.recv().value_or(-1) == 7, "receiver got 7"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  ASSERT_EQ(c.send_for(7, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(receiver, 0));
  EXPECT_TRUE(eventually([&] { return express_state(s) == d::kXEmpty; }));
}

TEST(Express, AReceiverKilledWhileWaitingThereReceivesNothing) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Proc victim("victim", [&] { (void)c.recv(); });
  ASSERT_TRUE(watch.await_receivers(1));
  victim.kill(SIGKILL);
  EXPECT_EQ(victim.join(), 128 + SIGKILL);
  // Nobody can receive it: the send must not be reported delivered.
  EXPECT_EQ(c.send_for(1, 200ms), Status::timeout);
  Proc live("live", [&] { require(c.recv().value_or(-1) == 2, "live receiver got 2"); });
  ASSERT_EQ(c.send_for(2, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(live, 0));
}

TEST(Express, ASenderThatDiedAfterItsClaimDoesNotHoldTheReceiver) {
  const std::string name = unique_name("dead-claim");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc receiver("receiver", [&] { require(c.recv().value_or(-1) == 5, "receiver got 5"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  const std::uint64_t dead = dead_identity();
  ASSERT_NE(dead, 0u);
  s.hdr().x.claim.store(dead);  // claimed, then SIGKILLed before it took the receiver
  ASSERT_EQ(c.send_for(5, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(receiver, 0));
}

// A sender that claimed the receiver is alive while another sender arrives (which then queues
// in a slot), and dies before it completes: the receiver notices within a wait slice, leaves
// the line and meets the queued sender under the lock.
TEST(Express, AReceiverWhoseClaimerDiedMeetsTheSenderThatQueuedMeanwhile) {
  const std::string name = unique_name("dead-claimer");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  BlockWatch watch(c.id());
  Proc receiver("receiver", [&] { require(c.recv().value_or(-1) == 9, "receiver got 9"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  Proc claimer("claimer", [] {
    for (;;) ::pause();
  });
  const std::uint64_t live = d::identity_of(claimer.pid()).value_or(0);
  ASSERT_NE(live, 0u);
  s.hdr().x.claim.store(live);  // claimed the receiver; has not completed it yet
  Proc sender("sender", [&] { require(c.send_for(9, kPatience) == Status::ok, "sent 9"); });
  ASSERT_TRUE(watch.await_senders(1));  // it found the line claimed and queued in a slot
  claimer.kill(SIGKILL);
  EXPECT_EQ(claimer.join(), 128 + SIGKILL);
  EXPECT_TRUE(exits_with(sender, 0));
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(Express, ATimedReceiverGivesUpOnAStoppedClaimerAtItsDeadline) {
  const std::string name = unique_name("stopped");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc stopped("stopped", [] {
    for (;;) ::pause();
  });
  const std::uint64_t live = d::identity_of(stopped.pid()).value_or(0);
  ASSERT_NE(live, 0u);
  Counters result(2);
  Proc receiver("receiver", [&] {
    int v = 0;
    const auto t0 = std::chrono::steady_clock::now();
    Status st = c.recv_for(v, 300ms);
    result[0].store(static_cast<std::uint32_t>(st));
    result[1].store(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count()));
  });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  s.hdr().x.claim.store(live);  // a sender that claimed the receiver and was stopped (SIGSTOP)
  EXPECT_TRUE(exits_with(receiver, 0));
  EXPECT_EQ(result[0].load(), static_cast<std::uint32_t>(Status::timeout));
  EXPECT_LT(result[1].load(), 300u + 2000u) << "ms: the deadline, and slack";
  // The line is free again: the stopped sender, when it resumes, finds its claim void.
  EXPECT_EQ(express_state(s), d::kXEmpty);
  stopped.kill(SIGKILL);
  (void)stopped.join();
}

TEST(Express, CloseReleasesTheReceiverWaitingThere) {
  const std::string name = unique_name("close");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc receiver("receiver", [&] { require(!c.recv().has_value(), "closed: no value"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  c.close();
  EXPECT_TRUE(exits_with(receiver, 0));
  EXPECT_EQ(c.send_for(1, 10ms), Status::closed);
}

// A receiver parks on the express line without the lock only when nothing is going on: with
// the lock held (by a live process that is not looking at the line), it waits for the lock
// instead, and the line stays empty; once the lock is free, it parks there.
TEST(Express, AReceiverThatFindsTheLockHeldDoesNotParkWithoutIt) {
  const std::string name = unique_name("lock-held");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc holder("holder", [] {
    for (;;) ::pause();
  });
  const std::uint64_t id = d::identity_of(holder.pid()).value_or(0);
  ASSERT_NE(id, 0u);
  s.hdr().l.lock.store(id);
  int v = 0;
  EXPECT_EQ(c.recv_for(v, 20ms), Status::timeout);
  EXPECT_EQ(express_state(s), d::kXEmpty) << "parked while a lock holder could not see it";
  EXPECT_EQ(s.hdr().l.lock.load() & ~d::kLockWaiters, id);
  s.hdr().l.lock.store(0);
  const std::uint32_t parks = s.hdr().x.parks.load();
  Proc receiver("receiver", [&] { require(c.recv().value_or(-1) == 3, "receiver got 3"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  EXPECT_EQ(s.hdr().x.parks.load(), parks + 1) << "a park that select's change count misses";
  ASSERT_EQ(c.send_for(3, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(receiver, 0));
}

// A sender queued in a slot (it found the line claimed) is met by the next receiver under the
// lock: the receiver does not park on the express line past it.
TEST(Express, AReceiverDoesNotParkOnTheLinePastAQueuedSender) {
  const std::string name = unique_name("queued-sender");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  BlockWatch watch(c.id());
  Proc claimer("claimer", [] {
    for (;;) ::pause();
  });
  const std::uint64_t live = d::identity_of(claimer.pid()).value_or(0);
  ASSERT_NE(live, 0u);
  s.hdr().x.claim.store(live);  // the line is held: a sender queues in a slot
  Proc sender("sender", [&] { require(c.send_for(4, kPatience) == Status::ok, "sent 4"); });
  ASSERT_TRUE(watch.await_senders(1));
  s.hdr().x.claim.store(0);
  int v = 0;
  ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 4);
  EXPECT_EQ(express_state(s), d::kXEmpty);
  EXPECT_TRUE(exits_with(sender, 0));
}

// A closer that died between setting the closed flag and releasing the receiver on the line:
// the receiver notices at the end of a wait slice and reports closed.
TEST(Express, AReceiverLeftOnTheLineByADeadCloserSeesTheClose) {
  const std::string name = unique_name("dead-closer");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc receiver("receiver", [&] { require(!c.recv().has_value(), "closed: no value"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  __atomic_fetch_or(&s.hdr().l.flags, d::kClosedFlag, __ATOMIC_RELEASE);  // and nothing more
  EXPECT_TRUE(exits_with(receiver, 0));
}

// A claimer that stays alive and never completes the receiver (stopped, or a parker between
// two stores for as long as it likes): a sender that finds the line claimed queues in a slot,
// and the receiver, stranded, leaves the line and meets it.
TEST(Express, AReceiverStrandedByALiveClaimerMeetsTheSenderThatQueued) {
  const std::string name = unique_name("live-claimer");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  BlockWatch watch(c.id());
  Proc receiver("receiver", [&] { require(c.recv().value_or(-1) == 6, "receiver got 6"); });
  ASSERT_TRUE(eventually([&] { return express_state(s) == d::kXWaiting; }));
  Proc claimer("claimer", [] {
    for (;;) ::pause();
  });
  const std::uint64_t live = d::identity_of(claimer.pid()).value_or(0);
  ASSERT_NE(live, 0u);
  s.hdr().x.claim.store(live);
  Proc sender("sender", [&] { require(c.send_for(6, kPatience) == Status::ok, "sent 6"); });
  EXPECT_TRUE(exits_with(sender, 0));
  EXPECT_TRUE(exits_with(receiver, 0));
  claimer.kill(SIGKILL);
  EXPECT_EQ(claimer.join(), 128 + SIGKILL);
}

}  // namespace
