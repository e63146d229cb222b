// ceramic detector tests — building Snapshots by hand, without processes.
//
// A Snapshot is what the detector sees of a traced program: thread entries (pid, state, what a
// blocked thread waits on), channel entries (holders, former holders, closed, overflow) and the
// set of processes known to be gone. SnapshotBuilder writes one in a few readable lines:
//
//   SnapshotBuilder b;
//   b.channel(0xc1).held_by({100}).formerly({101, 102});
//   b.blocked(100, "main", WaitOp::send, {0xc1}, 27);
//   b.exited(101, "A", 0).last_met(102, 24);
//   b.exited(102, "B", 0).last_met(101, 25);
//   Report r = analyze(b.build());
//
// Every timestamp is fixed, so reports built from these snapshots are byte-for-byte stable
// (the golden files depend on it).
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "ceramic/detector/snapshot.hpp"
#include "ceramic/trace_format.hpp"

namespace ceramic_test {

using ceramic::detector::ChannelInfo;
using ceramic::detector::Snapshot;
using ceramic::detector::ThreadInfo;
using ceramic::detector::Wait;
using ceramic::trace::ThreadState;
using ceramic::trace::WaitOp;

inline constexpr std::int64_t kTakenNs = 5'000'000'000;   // the snapshot is taken at 5 s
inline constexpr std::int64_t kBlockedAt = 4'750'000'000;  // blocked threads: since 4.75 s
inline constexpr const char* kSourceFile = "/src/app/race.cpp";

class SnapshotBuilder {
 public:
  // Fluent access to the thread entry just added.
  class ThreadRef {
   public:
    ThreadRef(SnapshotBuilder* b, std::size_t i) : b_(b), i_(i) {}
    ThreadInfo& info() const { return b_->s_.threads[i_]; }
    // Its last rendezvous: with whom, at which line (of kSourceFile), on which channel.
    const ThreadRef& last_met(pid_t peer, int line, std::uint64_t channel = 0) const {
      info().last_peer = peer;
      info().last_file = kSourceFile;
      info().last_line = line;
      info().last_channel = channel;
      return *this;
    }
    const ThreadRef& with_deadline() const {
      info().has_deadline = true;
      return *this;
    }
    const ThreadRef& tid(pid_t t) const {
      info().tid = t;
      return *this;
    }
    const ThreadRef& seq(std::uint32_t s) const {
      info().seq = s;
      return *this;
    }

   private:
    SnapshotBuilder* b_;
    std::size_t i_;
  };

  class ChannelRef {
   public:
    ChannelRef(SnapshotBuilder* b, std::size_t i) : b_(b), i_(i) {}
    ChannelInfo& info() const { return b_->s_.channels[i_]; }
    const ChannelRef& held_by(std::initializer_list<pid_t> pids) const {
      info().holders.assign(pids);
      return *this;
    }
    const ChannelRef& formerly(std::initializer_list<pid_t> pids) const {
      info().former.assign(pids);
      return *this;
    }
    const ChannelRef& made_at(int line, pid_t creator = 0) const {
      info().file = kSourceFile;
      info().line = line;
      info().creator_pid = creator;
      return *this;
    }
    const ChannelRef& named(std::string name) const {
      info().name = std::move(name);
      return *this;
    }
    const ChannelRef& capacity(std::uint32_t c) const {
      info().capacity = c;
      return *this;
    }
    const ChannelRef& closed() const {
      info().closed = true;
      return *this;
    }
    const ChannelRef& overflowing() const {
      info().overflow = true;
      return *this;
    }

   private:
    SnapshotBuilder* b_;
    std::size_t i_;
  };

  SnapshotBuilder() {
    s_.root_pid = 100;
    s_.taken_ns = kTakenNs;
  }

  // A thread blocked in op (send, recv: one channel; select: one channel per case, with
  // ops_per_case giving each case's direction, recv by default).
  ThreadRef blocked(pid_t pid, std::string name, WaitOp op, std::vector<std::uint64_t> channels,
                    int line, std::vector<WaitOp> ops_per_case = {}) {
    ThreadInfo t = base(pid, std::move(name));
    t.state = ThreadState::blocked;
    t.op = op;
    t.file = kSourceFile;
    t.line = line;
    t.since_ns = kBlockedAt;
    for (std::size_t i = 0; i < channels.size(); ++i) {
      WaitOp w = op == WaitOp::select ? (i < ops_per_case.size() ? ops_per_case[i] : WaitOp::recv)
                                      : op;
      t.waits.push_back(Wait{channels[i], w});
    }
    return add(std::move(t));
  }

  // A thread blocked in Proc::join of child.
  ThreadRef joining(pid_t pid, std::string name, pid_t child, int line) {
    ThreadInfo t = base(pid, std::move(name));
    t.state = ThreadState::blocked;
    t.op = WaitOp::join;
    t.join_pid = child;
    t.file = kSourceFile;
    t.line = line;
    t.since_ns = kBlockedAt;
    return add(std::move(t));
  }

  ThreadRef running(pid_t pid, std::string name) { return add(base(pid, std::move(name))); }

  // An exited process: its thread entry says so, and the snapshot lists it as dead.
  ThreadRef exited(pid_t pid, std::string name, int code) {
    ThreadInfo t = base(pid, std::move(name));
    t.state = ThreadState::exited;
    t.exit_code = code;
    return add(std::move(t));
  }

  // A process that is gone without an exit record (SIGKILL): the OS said so.
  void killed(pid_t pid) { s_.dead.push_back(pid); }

  ChannelRef channel(std::uint64_t id) {
    ChannelInfo c;
    c.id = id;
    s_.channels.push_back(std::move(c));
    return ChannelRef(this, s_.channels.size() - 1);
  }

  // The snapshot, with the invariants the detector relies on: channels sorted by id, dead
  // sorted and unique, every exited thread's process dead.
  Snapshot build() const {
    Snapshot s = s_;
    s.sort();
    return s;
  }

  Snapshot& raw() { return s_; }

 private:
  ThreadInfo base(pid_t pid, std::string name) {
    ThreadInfo t;
    t.pid = pid;
    t.tid = pid;
    t.ppid = pid == s_.root_pid ? 1 : s_.root_pid;
    t.name = std::move(name);
    t.seq = 2;
    return t;
  }
  ThreadRef add(ThreadInfo t) {
    s_.threads.push_back(std::move(t));
    return ThreadRef(this, s_.threads.size() - 1);
  }

  Snapshot s_;
};

}  // namespace ceramic_test
