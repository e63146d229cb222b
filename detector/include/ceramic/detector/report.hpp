// ceramic detector — a deadlock report: plain data that the text, JSON and DOT printers read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ceramic/trace_format.hpp"

namespace ceramic::detector {

// Why a process that could have completed a wait cannot.
enum class PeerState {
  stuck,   // it is itself stuck (in the report)
  exited,  // it exited (code known)
  killed,  // it is gone without an exit record (killed by a signal, or crashed)
};

struct Peer {
  pid_t pid = 0;
  std::string name;
  PeerState state = PeerState::stuck;
  int exit_code = 0;
  // stuck: where it waits. exited/killed: its last rendezvous (with whom, where).
  std::string file;
  int line = 0;
  pid_t last_peer = 0;
  std::string last_peer_name;
};

struct ChannelRef {
  std::uint64_t id = 0;
  std::string name;  // a named channel's name, else ""
  std::string file;  // where it was created
  int line = 0;
  std::uint32_t capacity = 0;
};

struct BlockedWait {
  ChannelRef channel;
  trace::WaitOp op = trace::WaitOp::none;
  std::vector<Peer> others;  // every other holder of the channel; empty: nobody else holds it
};

struct StuckThread {
  pid_t pid = 0, tid = 0;
  std::string name;
  trace::WaitOp op = trace::WaitOp::none;
  std::string file;
  int line = 0;
  std::int64_t blocked_ns = 0;  // how long it has been blocked when the report was made
  std::vector<BlockedWait> waits;  // send/recv: one; select: one per case
  pid_t join_pid = 0;              // op == join
  Peer join_child;                 // op == join: the child and why it will not exit
  std::uint32_t seq = 0;           // the thread entry's sequence counter when analysed
};

struct Edge {  // for the graph: a stuck thread waits on a channel / for a child
  pid_t from_pid = 0, from_tid = 0;
  std::uint64_t channel = 0;  // 0 for a join
  pid_t to_pid = 0;           // join: the child
  trace::WaitOp op = trace::WaitOp::none;
};

struct Report {
  bool deadlock = false;
  std::vector<StuckThread> stuck;
  std::vector<ChannelRef> channels;  // channels involved
  std::vector<Peer> processes;       // every process in the graph (stuck, exited, killed)
  std::vector<std::vector<pid_t>> cycles;  // wait-for cycles among stuck processes, if any
  // How the stuck threads are stuck (deadlock only).
  enum class Kind {
    none,          // no deadlock
    no_live_peer,  // a wait that no live process holds the other end of
    cycle,         // each waits for one other, around a cycle
    knot,          // all who could answer are themselves stuck, not as one cycle
  };
  Kind kind = Kind::none;
  // A leak (find_leaks): the stuck threads were left blocked forever by a program that went on
  // and ended; deadlock is also true, kind says how each is stuck at the end.
  bool leak = false;
};

std::string to_text(const Report&);
std::string to_json(const Report&);
std::string to_dot(const Report&);

const char* op_name(trace::WaitOp) noexcept;
// "no live peer", "cycle", "knot" ("" for none): the words the reports print.
const char* kind_name(Report::Kind) noexcept;

}  // namespace ceramic::detector
