// find_leaks on final snapshots built by hand: which threads left blocked are leaks.
#include <gtest/gtest.h>

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
