// find_leaks on final snapshots built by hand: which threads left blocked are leaks.
#include <gtest/gtest.h>

#include <set>

#include "ceramic/detector/leaks.hpp"
#include "snapshot_builder.hpp"

namespace ceramic::detector {
namespace {

using trace::EventKind;
using trace::WaitOp;
using ceramic_test::kBlockedAt;
using ceramic_test::SnapshotBuilder;

EventInfo event(EventKind kind, pid_t pid, pid_t peer, std::uint64_t channel, std::int64_t t) {
  EventInfo e;
  e.kind = kind;
  e.pid = pid;
  e.tid = pid;
  e.peer = peer;
  e.channel = channel;
  e.t_ns = t;
  return e;
}

// The root (100) exited; worker 101 was left blocked in recv on a channel only it held.
SnapshotBuilder ended_with_blocked_worker() {
  SnapshotBuilder b;
  b.exited(100, "main", 0);
  b.blocked(101, "worker", WaitOp::recv, {0xc1}, 20);
  b.channel(0xc1).held_by({101}).made_at(10, 101);
  return b;
}

TEST(FindLeaks, ThreadLeftBlockedWithoutADeadlineIsALeak) {
  Report r = find_leaks(ended_with_blocked_worker().build(), {});
  ASSERT_TRUE(r.leak);
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_EQ(r.stuck[0].pid, 101);
  EXPECT_EQ(r.stuck[0].line, 20);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
}

TEST(FindLeaks, WaitWithADeadlineIsNotALeak) {
  SnapshotBuilder b;
  b.exited(100, "main", 0);
  b.blocked(101, "worker", WaitOp::recv, {0xc1}, 20).with_deadline();
  b.channel(0xc1).held_by({101});
  EXPECT_FALSE(find_leaks(b.build(), {}).leak);
}

TEST(FindLeaks, ExplicitKillAfterItBlockedIsIntent) {
  EXPECT_FALSE(find_leaks(ended_with_blocked_worker().build(),
                          {event(EventKind::kill, 100, 101, 0, kBlockedAt + 1)})
                   .leak);
}

TEST(FindLeaks, ExplicitKillOfAnAncestorCoversItsSubtree) {
  SnapshotBuilder b;
  b.exited(100, "main", 0);
  b.running(101, "parent");
  b.blocked(102, "grandchild", WaitOp::recv, {0xc1}, 20).info().ppid = 101;
  b.channel(0xc1).held_by({102});
  EXPECT_FALSE(find_leaks(b.build(), {event(EventKind::kill, 100, 101, 0, kBlockedAt)}).leak);
}

TEST(FindLeaks, KillOfAnEarlierProcessWithTheSamePidDoesNotCount) {
  EXPECT_TRUE(find_leaks(ended_with_blocked_worker().build(),
                         {event(EventKind::kill, 100, 101, 0, kBlockedAt - 1)})
                  .leak);
}

// istio_18454's fix, live: the processor (101) exits; its event loop (102) ends with it while
// it waits for its timer (103), which was still running, so it could have answered. Judged as
// of the processor's exit, as the simulator judges it: not a leak.
SnapshotBuilder ended_by_parents_exit() {
  SnapshotBuilder b;
  b.running(100, "main");
  b.exited(101, "processor", 0);
  b.blocked(102, "eventLoop", WaitOp::select, {0xc1, 0xc2}, 77).info().ppid = 101;
  b.running(103, "timer").info().ppid = 102;
  b.channel(0xc1).held_by({102, 103}).made_at(66, 102);
  b.channel(0xc2).held_by({102, 103}).made_at(67, 102);
  return b;
}

TEST(FindLeaks, ChildEndedByItsParentsExitWhileAHolderCouldServeItIsNotALeak) {
  EXPECT_FALSE(find_leaks(ended_by_parents_exit().build(), {}).leak);
}

TEST(FindLeaks, AHolderWaitingWithADeadlineCouldStillServeIt) {
  SnapshotBuilder b = ended_by_parents_exit();
  b.raw().threads[3].state = trace::ThreadState::blocked;
  b.raw().threads[3].op = WaitOp::recv;
  b.raw().threads[3].waits = {{0xc1, WaitOp::recv}};
  b.raw().threads[3].has_deadline = true;
  EXPECT_FALSE(find_leaks(b.build(), {}).leak);
}

// The timer was forked but never ran its body (no thread entry): its parent's spawn says whose
// child it is, and it would have run.
TEST(FindLeaks, AHolderForkedButNotYetRunningCouldStillServeIt) {
  SnapshotBuilder b = ended_by_parents_exit();
  b.raw().threads.pop_back();   // no entry for the timer
  EXPECT_FALSE(find_leaks(b.build(), {event(EventKind::spawn, 102, 103, 0, kBlockedAt - 5)}).leak);
}

TEST(FindLeaks, ChildEndedByItsParentsExitWithNoHolderThatCouldServeItIsALeak) {
  SnapshotBuilder b = ended_by_parents_exit();
  b.raw().threads[3].state = trace::ThreadState::blocked;   // the timer waits forever elsewhere
  b.raw().threads[3].op = WaitOp::recv;
  b.raw().threads[3].waits = {{0xc9, WaitOp::recv}};
  b.channel(0xc9).held_by({103});
  Report r = find_leaks(b.build(), {});
  ASSERT_TRUE(r.leak);
  std::set<pid_t> stuck;
  for (const StuckThread& t : r.stuck) stuck.insert(t.pid);
  EXPECT_TRUE(stuck.count(102)) << "the event loop";
}

// A running holder that does not descend from the exited parent may have been gone before that
// exit: it excuses nothing.
TEST(FindLeaks, AHolderOutsideTheExitedParentsTreeExcusesNothing) {
  SnapshotBuilder b = ended_by_parents_exit();
  b.raw().threads[3].ppid = 100;   // the timer is main's child, not the event loop's
  EXPECT_TRUE(find_leaks(b.build(), {}).leak);
}

// The program's own end is not a parent's exit: a worker left waiting on a channel whose other
// holder is a background process still running is a leak (nothing serves it after the end).
TEST(FindLeaks, TheProgramsEndExcusesNoWorkerForARunningHolder) {
  SnapshotBuilder b;
  b.exited(100, "main", 0);
  b.running(101, "background");
  b.blocked(102, "worker", WaitOp::send, {0xc1}, 20);
  b.channel(0xc1).held_by({101, 102});
  Report r = find_leaks(b.build(), {});
  ASSERT_TRUE(r.leak);
  EXPECT_EQ(r.stuck.size(), 1u);
}

TEST(FindLeaks, ClosedChannelReleasedIt) {
  SnapshotBuilder b = ended_with_blocked_worker();
  b.raw().channels[0].closed = true;
  EXPECT_FALSE(find_leaks(b.build(), {}).leak);
}

TEST(FindLeaks, PeersRendezvousItNeverRecordedReleasedIt) {
  // main's send met the worker, which was killed before it wrote that it woke.
  EXPECT_FALSE(find_leaks(ended_with_blocked_worker().build(),
                          {event(EventKind::rendezvous, 100, 101, 0xc1, kBlockedAt - 5)})
                   .leak);
}

TEST(FindLeaks, RendezvousBothSidesRecordedIsAnEarlierOperation) {
  EXPECT_TRUE(find_leaks(ended_with_blocked_worker().build(),
                         {event(EventKind::rendezvous, 101, 100, 0xc1, kBlockedAt - 9),
                          event(EventKind::rendezvous, 100, 101, 0xc1, kBlockedAt + 2)})
                  .leak);
}

TEST(FindLeaks, ReportNamesWhatBecameOfTheOtherHolders) {
  SnapshotBuilder b;
  b.exited(100, "main", 0);
  b.blocked(101, "worker", WaitOp::send, {0xc1}, 20);
  b.running(102, "background");
  b.channel(0xc1).held_by({101, 102}).made_at(10, 100);
  Report r = find_leaks(b.build(), {});
  ASSERT_TRUE(r.leak);
  ASSERT_EQ(r.stuck.size(), 1u);
  ASSERT_EQ(r.stuck[0].waits.size(), 1u);
  ASSERT_EQ(r.stuck[0].waits[0].others.size(), 1u);
  EXPECT_EQ(r.stuck[0].waits[0].others[0].name, "background");
  EXPECT_NE(r.stuck[0].waits[0].others[0].state, PeerState::stuck);
}

TEST(FindLeaks, OddInputIsToleratedNotACrash) {
  SnapshotBuilder b;
  b.blocked(101, "worker", WaitOp::recv, {0xdead}, 20).info().ppid = 101;  // self-parent
  b.joining(102, "joiner", -5, 30);                                      // impossible child
  b.blocked(-3, "bad pid", WaitOp::recv, {0xc1}, 40);
  Report r = find_leaks(b.build(), {event(EventKind::kill, 0, -1, 0, -1)});
  // A channel the trace does not list (its table overflowed) may have holders nobody knows:
  // the analysis cannot prove the wait hopeless, so nothing is reported.
  EXPECT_FALSE(r.leak);
}

}  // namespace
}  // namespace ceramic::detector
