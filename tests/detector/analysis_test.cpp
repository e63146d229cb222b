// ceramic detector — analyze() on hand-built snapshots: what is a deadlock, and what is not.
//
// Each test is one sentence of docs/deadlock_detection.md ("What counts as a deadlock"). No
// processes are involved: the snapshots are written by hand (snapshot_builder.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ceramic/detector/analysis.hpp"
#include "snapshot_builder.hpp"

namespace ceramic_test {
namespace {

using ceramic::detector::analyze;
using ceramic::detector::BlockedWait;
using ceramic::detector::confirms;
using ceramic::detector::Peer;
using ceramic::detector::PeerState;
using ceramic::detector::Report;
using ceramic::detector::StuckThread;

std::set<pid_t> stuck_pids(const Report& r) {
  std::set<pid_t> out;
  for (const StuckThread& t : r.stuck) out.insert(t.pid);
  return out;
}

const StuckThread* stuck_of(const Report& r, pid_t pid) {
  for (const StuckThread& t : r.stuck) {
    if (t.pid == pid) return &t;
  }
  return nullptr;
}

const Peer* peer_in(const BlockedWait& w, pid_t pid) {
  for (const Peer& p : w.others) {
    if (p.pid == pid) return &p;
  }
  return nullptr;
}

std::set<pid_t> process_pids(const Report& r) {
  std::set<pid_t> out;
  for (const Peer& p : r.processes) out.insert(p.pid);
  return out;
}

// The seed race after A met B: main sends on a channel that only exited processes held.
SnapshotBuilder seed_race() {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100}).formerly({101, 102}).made_at(23, 100);
  b.blocked(100, "main", WaitOp::send, {0xc1}, 27);
  b.exited(101, "A", 0).last_met(102, 24, 0xc1);
  b.exited(102, "B", 0).last_met(101, 25, 0xc1);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Deadlocks that must be reported

TEST(Analysis, SeedRaceSenderWithNoLivePeerIsReported) {
  Report r = analyze(seed_race().build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  const StuckThread& t = r.stuck[0];
  EXPECT_EQ(t.pid, 100);
  EXPECT_EQ(t.name, "main");
  EXPECT_EQ(t.op, WaitOp::send);
  EXPECT_EQ(t.line, 27);
  EXPECT_EQ(t.file, kSourceFile);
  EXPECT_EQ(t.blocked_ns, kTakenNs - kBlockedAt);
  ASSERT_EQ(t.waits.size(), 1u);
  const BlockedWait& w = t.waits[0];
  EXPECT_EQ(w.channel.id, 0xc1u);
  EXPECT_EQ(w.channel.line, 23);
  EXPECT_EQ(w.op, WaitOp::send);
  // The gone processes are listed as the peers that could have answered, with why they can't.
  ASSERT_EQ(w.others.size(), 2u);
  const Peer* a = peer_in(w, 101);
  const Peer* b = peer_in(w, 102);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->state, PeerState::exited);
  EXPECT_EQ(a->name, "A");
  EXPECT_EQ(a->line, 24);
  EXPECT_EQ(a->last_peer, 102);
  EXPECT_EQ(a->last_peer_name, "B");
  EXPECT_EQ(b->state, PeerState::exited);
  EXPECT_EQ(b->last_peer_name, "A");
  EXPECT_EQ(process_pids(r), (std::set<pid_t>{100, 101, 102}));
  EXPECT_TRUE(r.cycles.empty());
  ASSERT_EQ(r.channels.size(), 1u);
  EXPECT_EQ(r.channels[0].id, 0xc1u);
}

// A process killed by SIGKILL never lets go of its handles: it stays listed as a holder.
TEST(Analysis, GoneProcessesStillListedAsHoldersCannotAnswer) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100, 101, 102});
  b.blocked(100, "main", WaitOp::send, {0xc1}, 27);
  b.running(101, "A");
  b.killed(101);
  b.exited(102, "B", 0);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  const BlockedWait& w = r.stuck[0].waits[0];
  ASSERT_EQ(w.others.size(), 2u);
  ASSERT_NE(peer_in(w, 101), nullptr);
  ASSERT_NE(peer_in(w, 102), nullptr);
  EXPECT_EQ(peer_in(w, 101)->state, PeerState::killed);
  EXPECT_EQ(peer_in(w, 102)->state, PeerState::exited);
}

// A snapshot built by hand in whatever order its maker keeps (the simulator's channels come in
// random-id order, its ender is appended to dead last): analyze() finds the same deadlock as on
// the sorted snapshot. The simulator once judged one leak both ways, depending on the ids.
TEST(Analysis, AnUnsortedSnapshotIsAnalysedAsItsSortedCopy) {
  Snapshot s = seed_race().build();
  ASSERT_TRUE(s.sorted());
  for (std::uint64_t id : {0xf7u, 0x05u, 0x80u}) {   // channels nobody waits on, out of order
    ChannelInfo c;
    c.id = id;
    c.holders = {100};
    s.channels.insert(s.channels.begin(), c);
  }
  s.dead = {102, 101, 7};
  ASSERT_FALSE(s.sorted());
  const Report r = analyze(s);
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_EQ(r.stuck[0].pid, 100);
  ASSERT_EQ(r.stuck[0].waits.size(), 1u);
  EXPECT_EQ(r.stuck[0].waits[0].channel.line, 23);   // found by id despite the order

  s.sort();
  EXPECT_TRUE(s.sorted());
  EXPECT_TRUE(std::is_sorted(s.channels.begin(), s.channels.end(),
                             [](const ChannelInfo& a, const ChannelInfo& b) { return a.id < b.id; }));
  EXPECT_EQ(s.dead, (std::vector<pid_t>{7, 101, 102}));
  EXPECT_TRUE(s.is_dead(101));
  ASSERT_NE(s.channel(0xc1), nullptr);
  EXPECT_EQ(s.channel(0x06), nullptr);
}

TEST(Analysis, PeersKilledWithoutExitRecordAreReportedAsKilled) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100}).formerly({101});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 30);
  b.running(101, "A").last_met(100, 12);  // its entry says running, but the OS says gone
  b.killed(101);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  ASSERT_EQ(r.stuck[0].waits.size(), 1u);
  const Peer* a = peer_in(r.stuck[0].waits[0], 101);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->state, PeerState::killed);
}

TEST(Analysis, WaitOnChannelNobodyElseEverHeldIsReported) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 30);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_TRUE(r.stuck[0].waits[0].others.empty());
}

TEST(Analysis, TwoProcessesReceivingFromEachOtherAreACycle) {
  SnapshotBuilder b;
  b.channel(0xab).held_by({1, 2});  // 1 -> 2
  b.channel(0xba).held_by({1, 2});  // 2 -> 1
  b.blocked(1, "P", WaitOp::recv, {0xba}, 10);
  b.blocked(2, "Q", WaitOp::recv, {0xab}, 20);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "cycle");
  EXPECT_EQ(stuck_pids(r), (std::set<pid_t>{1, 2}));
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0], (std::vector<pid_t>{1, 2}));
  const StuckThread* p = stuck_of(r, 1);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->waits.size(), 1u);
  const Peer* q = peer_in(p->waits[0], 2);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->state, PeerState::stuck);
  EXPECT_EQ(q->line, 20);  // where the peer itself is stuck
}

TEST(Analysis, ParentJoiningChildrenThatWaitOnItIsACycle) {
  SnapshotBuilder b;
  b.channel(0xc0).held_by({10, 11, 12});
  b.joining(10, "parent", 11, 40);
  b.blocked(11, "child1", WaitOp::recv, {0xc0}, 31);
  b.blocked(12, "child2", WaitOp::recv, {0xc0}, 32);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  // Each child could be answered by the parent or by the other child: more than one way out,
  // all of them stuck — a knot (the wait-for graph still has its cycle, below).
  EXPECT_STREQ(kind_name(r.kind), "knot");
  EXPECT_EQ(stuck_pids(r), (std::set<pid_t>{10, 11, 12}));
  const StuckThread* parent = stuck_of(r, 10);
  ASSERT_NE(parent, nullptr);
  EXPECT_EQ(parent->op, WaitOp::join);
  EXPECT_EQ(parent->join_pid, 11);
  EXPECT_EQ(parent->join_child.pid, 11);
  EXPECT_EQ(parent->join_child.state, PeerState::stuck);
  EXPECT_EQ(parent->join_child.name, "child1");
  EXPECT_TRUE(parent->waits.empty());
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0], (std::vector<pid_t>{10, 11, 12}));
}

TEST(Analysis, JoinOnAChildStuckOnAChannelNobodyElseHoldsIsReported) {
  SnapshotBuilder b;
  b.channel(0xc0).held_by({11});
  b.joining(10, "parent", 11, 40);
  b.blocked(11, "child", WaitOp::recv, {0xc0}, 31);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(stuck_pids(r), (std::set<pid_t>{10, 11}));
  EXPECT_TRUE(r.cycles.empty());
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
}

// Each of three processes selects on the two channels it shares with the others: every
// process it could meet is stuck, though no single channel links two of them in a cycle of
// AND-waits. The greatest fixed point finds all three.
TEST(Analysis, KnotOfThreeSelectingProcessesIsReported) {
  SnapshotBuilder b;
  b.channel(0x12).held_by({1, 2});
  b.channel(0x13).held_by({1, 3});
  b.channel(0x23).held_by({2, 3});
  b.blocked(1, "K1", WaitOp::select, {0x12, 0x13}, 51);
  b.blocked(2, "K2", WaitOp::select, {0x12, 0x23}, 52);
  b.blocked(3, "K3", WaitOp::select, {0x13, 0x23}, 53);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(stuck_pids(r), (std::set<pid_t>{1, 2, 3}));
  for (const StuckThread& t : r.stuck) {
    EXPECT_EQ(t.op, WaitOp::select);
    ASSERT_EQ(t.waits.size(), 2u);
    for (const BlockedWait& w : t.waits) {
      ASSERT_EQ(w.others.size(), 1u);
      EXPECT_EQ(w.others[0].state, PeerState::stuck);
    }
  }
  EXPECT_TRUE(r.kind == Report::Kind::knot || r.kind == Report::Kind::cycle) << kind_name(r.kind);
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0], (std::vector<pid_t>{1, 2, 3}));
  EXPECT_EQ(r.channels.size(), 3u);
}

// A knot hanging off a running process is no deadlock: every member can reach it.
TEST(Analysis, ChainOfWaitsEndingAtARunningProcessIsNotReported) {
  SnapshotBuilder b;
  b.channel(0x12).held_by({1, 2});
  b.channel(0x23).held_by({2, 3});
  b.channel(0x34).held_by({3, 4});
  b.blocked(1, "P1", WaitOp::recv, {0x12}, 1);
  b.blocked(2, "P2", WaitOp::recv, {0x23}, 2);
  b.blocked(3, "P3", WaitOp::recv, {0x34}, 3);
  b.running(4, "P4");
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, SelectOnTwoDeadEndsIsReported) {
  SnapshotBuilder b;
  b.channel(0xd1).held_by({100}).formerly({101}).made_at(60);
  b.channel(0xd2).held_by({100}).formerly({102}).made_at(61);
  b.blocked(100, "main", WaitOp::select, {0xd1, 0xd2}, 70, {WaitOp::recv, WaitOp::send});
  b.exited(101, "X", 0).last_met(100, 64);
  b.exited(102, "Y", 3).last_met(100, 65);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  const StuckThread& t = r.stuck[0];
  EXPECT_EQ(t.op, WaitOp::select);
  ASSERT_EQ(t.waits.size(), 2u);
  EXPECT_EQ(t.waits[0].op, WaitOp::recv);
  EXPECT_EQ(t.waits[1].op, WaitOp::send);
  ASSERT_NE(peer_in(t.waits[0], 101), nullptr);
  ASSERT_NE(peer_in(t.waits[1], 102), nullptr);
  EXPECT_EQ(peer_in(t.waits[1], 102)->exit_code, 3);
}

TEST(Analysis, SelectWithOneLiveCaseIsNotReported) {
  SnapshotBuilder b;
  b.channel(0xd1).held_by({100}).formerly({101});
  b.channel(0xd2).held_by({100, 102});
  b.blocked(100, "main", WaitOp::select, {0xd1, 0xd2}, 70);
  b.exited(101, "X", 0);
  b.running(102, "Y");
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

// ---------------------------------------------------------------------------------------------
// What must never be reported

TEST(Analysis, WaitWithADeadlineIsNotReported) {
  SnapshotBuilder b = seed_race();
  b.raw().threads[0].has_deadline = true;
  Report r = analyze(b.build());
  EXPECT_FALSE(r.deadlock);
  EXPECT_TRUE(r.stuck.empty());
  EXPECT_EQ(r.kind, Report::Kind::none);
}

TEST(Analysis, HolderWithARunningThreadCanAnswer) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100, 101});
  b.blocked(100, "main", WaitOp::send, {0xc1}, 27);
  b.running(101, "worker");
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, HolderWithNoThreadEntriesIsRunningCodeWeCannotSee) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100, 101});
  b.blocked(100, "main", WaitOp::send, {0xc1}, 27);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, WaitOnAClosedChannelIsNotReported) {
  SnapshotBuilder b = seed_race();
  b.raw().channels[0].closed = true;
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, ChannelWithHolderOverflowMayHaveUnlistedHolders) {
  SnapshotBuilder b = seed_race();
  b.raw().channels[0].overflow = true;
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, WaitOnAnUnknownChannelIsNotReported) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xffff}, 27);  // not in the channel table
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, ProcessWhoseOtherThreadIsRunningCanServeItself) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 27);
  b.running(100, "main").tid(1001);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, TwoBlockedThreadsOfOneProcessOnItsOwnChannelAreReported) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.channel(0xc2).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 27);
  b.blocked(100, "main", WaitOp::recv, {0xc2}, 28).tid(1001);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(r.stuck.size(), 2u);
}

// A live snapshot counts each process's threads as the OS sees them: threads that never used
// ceramic have no entry, but may be running or blocked outside ceramic (a sleep, a pipe).
TEST(Analysis, ThreadsTheTraceCannotSeeCanServe) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 27);
  b.raw().os_threads = {{100, 2}};  // main, and a thread that never used ceramic
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, AsManyOsThreadsAsTracedOnesAddsNoOne) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.channel(0xc2).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 27);
  b.blocked(100, "main", WaitOp::recv, {0xc2}, 28).tid(1001);
  b.raw().os_threads = {{100, 2}};
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(r.stuck.size(), 2u);
}

TEST(Analysis, FinishedThreadCannotServe) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100});
  b.blocked(100, "main", WaitOp::recv, {0xc1}, 27);
  b.running(100, "main").tid(1001).info().state = ThreadState::finished;
  b.raw().os_threads = {{100, 1}};  // the finished thread is gone
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_EQ(r.stuck[0].tid, 100);
}

TEST(Analysis, FinishedThreadDoesNotMakeItsProcessDead) {
  SnapshotBuilder b;
  b.channel(0xc1).held_by({100, 101});
  b.blocked(100, "main", WaitOp::send, {0xc1}, 27);
  b.running(101, "worker").tid(1011).info().state = ThreadState::finished;
  b.running(101, "worker");  // its other thread still runs
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, JoinOnAnExitedChildIsNotReported) {
  SnapshotBuilder b;
  b.joining(10, "parent", 11, 40);
  b.exited(11, "child", 0);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, JoinOnAKilledChildIsNotReported) {
  SnapshotBuilder b;
  b.joining(10, "parent", 11, 40);
  b.killed(11);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, JoinOnAChildWithoutThreadEntriesIsNotReported) {
  SnapshotBuilder b;
  b.joining(10, "parent", 11, 40);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, JoinOnARunningChildIsNotReported) {
  SnapshotBuilder b;
  b.joining(10, "parent", 11, 40);
  b.running(11, "child");
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, BlockedThreadOfADeadProcessIsNotReported) {
  SnapshotBuilder b = seed_race();
  b.killed(100);  // main's entry still says blocked, but main is gone
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, BlockedEntryWithoutWaitsIsNotReported) {
  SnapshotBuilder b;
  b.blocked(100, "main", WaitOp::recv, {}, 27);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, CycleBrokenByOneRunningThreadIsNotReported) {
  SnapshotBuilder b;
  b.channel(0xab).held_by({1, 2});
  b.channel(0xba).held_by({1, 2});
  b.blocked(1, "P", WaitOp::recv, {0xba}, 10);
  b.blocked(2, "Q", WaitOp::recv, {0xab}, 20);
  b.running(2, "Q").tid(2002);  // Q's second thread can still send to P
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(Analysis, EmptySnapshotHasNoDeadlock) {
  Report r = analyze(Snapshot{});
  EXPECT_FALSE(r.deadlock);
  EXPECT_TRUE(r.stuck.empty());
  EXPECT_TRUE(r.processes.empty());
  EXPECT_TRUE(r.channels.empty());
}

// Only the stuck part of a snapshot is reported; healthy neighbours stay out of it.
TEST(Analysis, HealthyProcessesNextToADeadlockAreLeftOut) {
  SnapshotBuilder b = seed_race();
  b.channel(0xe1).held_by({200, 201});
  b.blocked(200, "client", WaitOp::recv, {0xe1}, 80);
  b.running(201, "server");
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(stuck_pids(r), (std::set<pid_t>{100}));
  EXPECT_EQ(process_pids(r), (std::set<pid_t>{100, 101, 102}));
}

// ---------------------------------------------------------------------------------------------
// confirms(): a second look must find the same threads, unmoved.

TEST(Confirms, SameStuckThreadsWithTheSameSequenceConfirm) {
  Report first = analyze(seed_race().build());
  Report second = analyze(seed_race().build());
  EXPECT_TRUE(confirms(first, second));
}

TEST(Confirms, AThreadThatMovedDoesNotConfirm) {
  Report first = analyze(seed_race().build());
  SnapshotBuilder b = seed_race();
  b.raw().threads[0].seq = 4;  // it unblocked and blocked again in between
  Report second = analyze(b.build());
  ASSERT_TRUE(second.deadlock);
  EXPECT_FALSE(confirms(first, second));
}

TEST(Confirms, ADifferentThreadDoesNotConfirm) {
  Report first = analyze(seed_race().build());
  SnapshotBuilder b = seed_race();
  b.raw().threads[0].tid = 1001;
  EXPECT_FALSE(confirms(first, analyze(b.build())));
}

TEST(Confirms, MoreStuckThreadsDoNotConfirm) {
  Report first = analyze(seed_race().build());
  SnapshotBuilder b = seed_race();
  b.channel(0xc9).held_by({300});
  b.blocked(300, "other", WaitOp::recv, {0xc9}, 90);
  Report second = analyze(b.build());
  ASSERT_EQ(second.stuck.size(), 2u);
  EXPECT_FALSE(confirms(first, second));
}

TEST(Confirms, NoDeadlockNeverConfirms) {
  Report none = analyze(Snapshot{});
  Report some = analyze(seed_race().build());
  EXPECT_FALSE(confirms(none, none));
  EXPECT_FALSE(confirms(none, some));
  EXPECT_FALSE(confirms(some, none));
}

// ---------------------------------------------------------------------------------------------
// Large graphs: the right answer at scale (not timed).

constexpr pid_t kBigN = 10'000;
constexpr std::uint64_t kBigChannels = 100'000;

// Process i (pid 1000 + i) receives on channel i, held by i and i+1 (mod n). Every other
// channel up to kBigChannels is held by two processes and waited on by nobody.
SnapshotBuilder big_ring(bool close_the_ring) {
  SnapshotBuilder b;
  auto pid = [](std::uint64_t i) { return static_cast<pid_t>(1000 + i % kBigN); };
  for (std::uint64_t c = 0; c < kBigChannels; ++c) {
    b.channel(c + 1).held_by({pid(c), pid(c + 1)});
  }
  for (pid_t i = 0; i < kBigN; ++i) {
    b.blocked(pid(static_cast<std::uint64_t>(i)), "r", WaitOp::recv,
              {static_cast<std::uint64_t>(i) + 1}, 10);
  }
  if (!close_the_ring) {
    // The last process's channel is also held by the first; open the ring by letting the
    // last one's wait be on a channel only it holds (a dead end at the end of a chain).
    b.raw().channels[kBigN - 1].holders = {pid(kBigN - 1)};
  }
  return b;
}

TEST(AnalysisScale, RingOfTenThousandProcessesIsOneCycle) {
  Report r = analyze(big_ring(true).build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "cycle");
  EXPECT_EQ(r.stuck.size(), static_cast<std::size_t>(kBigN));
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0].size(), static_cast<std::size_t>(kBigN));
  EXPECT_EQ(r.channels.size(), static_cast<std::size_t>(kBigN));
}

// The trace format allows up to 2^24 thread entries; the analysis of a long cycle must not
// depend on the depth of the call stack.
TEST(AnalysisScale, RingOfOneHundredThousandProcessesIsOneCycle) {
  constexpr pid_t kN = 100'000;
  SnapshotBuilder b;
  for (pid_t i = 0; i < kN; ++i) {
    b.channel(static_cast<std::uint64_t>(i) + 1).held_by({1000 + i, 1000 + (i + 1) % kN});
    b.blocked(1000 + i, "r", WaitOp::recv, {static_cast<std::uint64_t>(i) + 1}, 10);
  }
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(r.stuck.size(), static_cast<std::size_t>(kN));
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0].size(), static_cast<std::size_t>(kN));
}

TEST(AnalysisScale, ChainOfTenThousandEndingInADeadEndIsReportedWithoutCycle) {
  Report r = analyze(big_ring(false).build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  EXPECT_EQ(r.stuck.size(), static_cast<std::size_t>(kBigN));
  EXPECT_TRUE(r.cycles.empty());
}

TEST(AnalysisScale, RingWithOneRunningProcessFreesEveryone) {
  SnapshotBuilder b = big_ring(true);
  b.running(1000 + kBigN / 2, "r").tid(99'999);
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(AnalysisScale, RingWithOneWaitWithADeadlineIsNoDeadlock) {
  // The thread with a deadline will run again when it times out, and may then answer its
  // neighbour: that frees the whole ring.
  SnapshotBuilder b = big_ring(true);
  b.raw().threads[kBigN / 2].has_deadline = true;
  EXPECT_FALSE(analyze(b.build()).deadlock);
}

TEST(AnalysisScale, TenThousandIndependentSeedRacesAreAllReported) {
  SnapshotBuilder b;
  for (pid_t i = 0; i < kBigN; ++i) {
    auto c = static_cast<std::uint64_t>(i) + 1;
    pid_t main_pid = 100'000 + 3 * i;
    b.channel(c).held_by({main_pid}).formerly({main_pid + 1, main_pid + 2});
    b.blocked(main_pid, "main", WaitOp::send, {c}, 27);
    b.exited(main_pid + 1, "A", 0);
    b.exited(main_pid + 2, "B", 0);
  }
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  EXPECT_EQ(r.stuck.size(), static_cast<std::size_t>(kBigN));
  EXPECT_EQ(r.processes.size(), static_cast<std::size_t>(3 * kBigN));
}

}  // namespace
}  // namespace ceramic_test
