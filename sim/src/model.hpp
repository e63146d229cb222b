// ceramic::sim — the explorer's model of one execution: tasks (processes), channels, and the
// transitions enabled in the current state.
//
// Invariants (checked by Model::check_invariants in tests):
//   - A task's index is its creation order in the tree (spawns are scheduling points, so that
//     order is deterministic); task 0 is the root ("main").
//   - A channel is named by the task that made it and its ordinal among that task's channels
//     ("main#1"); channels the body captured from outside the simulation are named "ext#k" in
//     order of first use. Channel ids (random) are only keys, never part of a schedule.
//   - buffer.size() <= capacity; an unbuffered channel's buffer is empty.
//   - Transitions are listed in canonical order: by task index, then case index, then partner
//     index, then partner case (the order schedules index into).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mailbox.hpp"

namespace ceramic::sim::detail {

struct Case {
  CaseKind kind = CaseKind::recv;
  std::uint64_t channel = 0;
  std::uint32_t value_off = 0, value_len = 0;
  std::int64_t timeout_ns = 0;
};

// A parked task's operation, copied out of its mailbox and validated.
struct Pending {
  OpKind op = OpKind::none;
  std::vector<Case> cases;     // send/recv: one; select: all, in argument order
  int timeout_case = -1;       // a select's timeout case, or -1
  bool has_fallback = false;
  bool timed = false;          // has a timeout (send_for, recv_for, join_for, on_timeout)
  std::int64_t deadline = 0;   // simulated time at which that timeout fires
  std::uint64_t channel = 0;   // close, closed
  pid_t target = 0;            // join, running, kill
  int code = 0;                // exit code, signal
  std::string text;            // spawn: name; exit: why
  std::string file;
  int line = 0;
};

enum class TaskState { running, parked, exited, killed };

struct Task {
  int index = 0;
  int parent = -1;
  std::string name;
  pid_t pid = 0;
  int pidfd = -1;
  TaskState state = TaskState::running;
  Pending pending;             // valid while parked
  int exit_code = 0;
  int children = 0;
  int channels_made = 0;
  std::set<std::uint64_t> holds;
  // The last completed rendezvous, for reports ("exited after meeting B at x.cpp:12").
  int last_peer = -1;
  std::string last_file;
  int last_line = 0;
  bool live() const { return state == TaskState::running || state == TaskState::parked; }
};

struct Chan {
  std::uint64_t id = 0;
  std::string label;           // "main#1"
  std::string name;            // a named channel's name
  std::string file;
  int line = 0;
  int creator = 0;
  std::size_t capacity = 0;    // as simulated (0 under force_unbuffered)
  bool closed = false;
  std::deque<std::string> buffer;
};

struct Transition {
  enum class Kind : std::uint8_t {
    pair,       // task's send case meets partner's receive case
    push,       // buffered send
    pop,        // buffered receive
    closed,     // a send or receive case completes on a closed channel
    close,
    query,      // closed(), running()
    named,
    fallback,   // a select's default, or a zero timeout that found nothing ready
    timeout,    // a positive timeout, in simulated time
    kill,
  };
  Kind kind;
  int task = 0;
  int case_index = 0;
  int partner = -1;
  int partner_case = -1;
  friend bool operator==(const Transition&, const Transition&) = default;
};

// What a transition touches, for partial-order reduction (dfs.cpp). Two transitions that touch
// no task and no channel in common are independent: executed in either order they reach the
// same state, and neither disables the other. Transitions whose enabledness depends on the
// whole state (a default case or zero timeout: "nothing else is ready"; a positive timeout:
// "nothing else can happen"; a kill, which ends a subtree; a named channel, whose names live
// outside the model) are global: dependent with everything.
struct Footprint {
  int tasks[2] = {-1, -1};
  std::uint64_t channel = 0;   // a hash of the channel's label, stable across schedules; 0: none
  bool global = false;
};

bool independent(const Footprint& a, const Footprint& b) noexcept;

struct Model {
  std::vector<Task> tasks;
  std::map<std::uint64_t, Chan> chans;
  std::int64_t now = 0;        // simulated time (ns)
  bool unbuffered = false;
  int external_channels = 0;

  // The channel with this id, registered on first sight (capacity from the operation).
  Chan& chan(std::uint64_t id, std::size_t capacity);
  const Chan* find(std::uint64_t id) const;
  int task_of_pid(pid_t pid) const;

  // Every transition enabled now, in canonical order. Timeouts only when nothing else is.
  std::vector<Transition> enabled() const;

  // Whether task t's pending operation needs no choice (it commutes with everything): spawn,
  // exit, sync, and a join whose child is gone.
  bool invisible(const Task& t) const;

  // What tr touches; tr must be enabled now (its tasks' pending operations are read).
  Footprint footprint(const Transition& tr) const;

  std::string describe(const Transition&) const;   // one line, for the step log
  std::string check_invariants() const;            // "" when they hold

 private:
  bool ready(const Task& t, const Case& c) const;
  void add_case_transitions(const Task& t, std::size_t ci, std::vector<Transition>& out) const;
};

}  // namespace ceramic::sim::detail
