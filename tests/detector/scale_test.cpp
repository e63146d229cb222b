// ceramic detector — analyze() and the report printers on snapshots of 40,000 thread entries.
//
// The work must grow linearly (or n log n) with the number of thread entries: a trace file
// holds as many as its header says, and a crafted one must not keep ceramic-run or
// ceramic-trace busy for minutes. These tests run each shape once at 40k and check the report;
// they are not timed. The guard is the ctest TIMEOUT of this executable
// (tests/detector/CMakeLists.txt), far above what linear work takes even under the
// sanitizers, and far below what the quadratic versions took. The growth itself is measured
// by bench/detector_analysis.cpp (BM_detector_report_*, 10k to 40k threads).
#include <gtest/gtest.h>

#include <cstdint>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"

namespace ceramic_test {
namespace {

using ceramic::detector::analyze;
using ceramic::detector::ChannelInfo;
using ceramic::detector::PeerState;
using ceramic::detector::Report;
using ceramic::detector::Snapshot;
using ceramic::detector::ThreadInfo;
using ceramic::detector::Wait;
using ceramic::trace::ThreadState;
using ceramic::trace::WaitOp;

constexpr std::int64_t kThreads = 40000;

ThreadInfo blocked_thread(pid_t pid, WaitOp op) {
  ThreadInfo t;
  t.pid = t.tid = pid;
  t.name = "waiter";
  t.state = ThreadState::blocked;
  t.op = op;
  t.file = "/src/scale.cpp";
  t.line = 1;
  t.seq = 2;
  return t;
}

// Everything a report goes through in ceramic-run: the analysis, then the printers.
Report analyze_and_print(const Snapshot& s) {
  Report r = analyze(s);
  EXPECT_FALSE(ceramic::detector::to_text(r).empty());
  EXPECT_FALSE(ceramic::detector::to_dot(r).empty());
  return r;
}

// An exited process P with half of the thread entries, and single-threaded processes, each
// blocked in a select over eight channels only it and P hold: every wait of the report names
// P. (Describing P used to walk all its entries each time: 11 s at 40k threads.)
TEST(ReportScale, CrowdAroundAProcessWithTwentyThousandEntries) {
  Snapshot s;
  const pid_t p = 1;
  const std::int64_t waiters = kThreads / 2;
  for (std::int64_t i = 0; i < kThreads - waiters; ++i) {
    ThreadInfo t;
    t.pid = p;
    t.tid = static_cast<pid_t>(i + 1);
    t.name = "P";
    t.state = i == 0 ? ThreadState::exited : ThreadState::finished;
    t.exit_code = 3;
    t.last_peer = p;
    t.seq = 2;
    s.threads.push_back(std::move(t));
  }
  s.dead = {p};
  for (std::int64_t i = 0; i < waiters; ++i) {
    ThreadInfo t = blocked_thread(static_cast<pid_t>(kThreads + i + 1), WaitOp::select);
    for (int k = 0; k < 8; ++k) {
      ChannelInfo c;
      c.id = static_cast<std::uint64_t>(i * 8 + k + 1);
      c.holders = {t.pid, p};
      s.channels.push_back(std::move(c));
      t.waits.push_back(Wait{static_cast<std::uint64_t>(i * 8 + k + 1), WaitOp::recv});
    }
    s.threads.push_back(std::move(t));
  }
  Report r = analyze_and_print(s);
  ASSERT_EQ(r.stuck.size(), static_cast<std::size_t>(waiters));
  EXPECT_EQ(r.kind, Report::Kind::no_live_peer);
  const auto& other = r.stuck.back().waits.back().others;
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].pid, p);
  EXPECT_EQ(other[0].state, PeerState::exited);  // described by its entry with the exit record
  EXPECT_EQ(other[0].exit_code, 3);
}

// Every process waits for the next one: one wait-for cycle through all of them. (Naming each
// member of the cycle used to search the report's process list: quadratic, as was drawing
// each stuck process's node.)
TEST(ReportScale, WaitForCycleOfFortyThousandProcesses) {
  Snapshot s;
  for (std::int64_t i = 0; i < kThreads; ++i) {
    ChannelInfo c;
    c.id = static_cast<std::uint64_t>(i + 1);
    c.holders = {static_cast<pid_t>(i + 1), static_cast<pid_t>((i + 1) % kThreads + 1)};
    s.channels.push_back(std::move(c));
    ThreadInfo t = blocked_thread(static_cast<pid_t>(i + 1), WaitOp::recv);
    t.waits.push_back(Wait{static_cast<std::uint64_t>((i + kThreads - 1) % kThreads + 1), WaitOp::recv});
    s.threads.push_back(std::move(t));
  }
  Report r = analyze_and_print(s);
  ASSERT_EQ(r.stuck.size(), static_cast<std::size_t>(kThreads));
  ASSERT_EQ(r.cycles.size(), 1u);
  EXPECT_EQ(r.cycles[0].size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(r.kind, Report::Kind::cycle);
}

// A corrupt file can list one channel id in many entries, each with other holders. Twenty
// thousand processes wait on it and each holds one of its entries; a running process holds it
// too, so none is stuck. (Each waiter that woke up used to walk the channel's whole waiter
// list again.)
TEST(ReportScale, ChannelIdListedInTwentyThousandEntries) {
  Snapshot s;
  const std::uint64_t id = 0xc;
  const pid_t runner = 1;
  ThreadInfo r;
  r.pid = r.tid = runner;
  r.seq = 2;
  s.threads.push_back(r);
  for (std::int64_t i = 0; i < kThreads / 2; ++i) {
    const auto pid = static_cast<pid_t>(i + 2);
    ChannelInfo c;
    c.id = id;
    c.holders = {runner, pid};
    s.channels.push_back(std::move(c));
    ThreadInfo t = blocked_thread(pid, WaitOp::recv);
    t.waits.push_back(Wait{id, WaitOp::recv});
    s.threads.push_back(std::move(t));
  }
  Report rep = analyze_and_print(s);
  EXPECT_FALSE(rep.deadlock);
}

}  // namespace
}  // namespace ceramic_test
