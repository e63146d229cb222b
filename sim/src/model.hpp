// ceramic::sim — the explorer's model of one execution: tasks (processes), channels, the
// transitions enabled in the current state, and what each transition does (apply). It knows
// nothing of processes or shared memory, so it is tested without forking (model_test.cpp);
// run.cpp carries its replies to the processes.
//
// What real executions the model admits (sim.hpp has the user's summary):
//   - Arrival is lazy. A task parked at a blocking operation may still be on its way to the
//     channel, however long ago it parked: nothing in ceramic's API can tell a waiting partner
//     from a late one except meeting it. So a non-blocking check (a default case, a zero
//     timeout) never needs a partner to be there, and may always find nothing; it may also
//     meet a blocking partner (which then had arrived first). Two non-blocking operations never
//     meet: neither waits for the other.
//   - Time (Timeouts::any_time, the default): a blocked timed wait may time out whenever it is
//     blocked, because any partner may be slow; only deadlines keep their order (a wait with a
//     later deadline does not time out while one with an earlier deadline is still blocked).
//     A wait is blocked when nothing that cannot be late makes it ready (a buffered value or
//     room, a closed channel). Timeouts::when_idle: timeouts fire only when nothing else can happen,
//     earliest deadline first (Go's testing/synctest).
//   - A task's exit is seen at once, except by a parent that asks running() or waits for it
//     with a timeout: then "not yet exited" is a choice too.
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

#include "ceramic/sim/sim.hpp"
#include "ceramic/status.hpp"
#include "mailbox.hpp"

namespace ceramic::sim::detail {

struct Case {
  CaseKind kind = CaseKind::recv;
  std::uint64_t channel = 0;
  std::int64_t timeout_ns = 0;
  std::string value;           // send: the value's bytes
};

// A parked task's operation, copied out of its mailbox and validated.
struct Pending {
  OpKind op = OpKind::none;
  std::vector<Case> cases;     // send/recv: one; select: all, in argument order
  int timeout_case = -1;       // a select's timeout case, or -1
  bool has_fallback = false;
  bool timed = false;          // has a timeout (send_for, recv_for, join_for, on_timeout)
  bool poll = false;           // never blocks: a default case, or a zero timeout
  std::int64_t deadline = 0;   // simulated time at which that timeout fires
  std::uint64_t channel = 0;   // close, closed
  pid_t target = 0;            // join, running, kill
  int code = 0;                // exit code, signal
  std::string text;            // spawn: name; exit: why
  std::string file;
  int line = 0;
};

// ended: stopped by a kill or by its parent's exit (the program's intent, not a crash);
// killed: died of a signal the program did not send through ceramic (a crash).
enum class TaskState { running, parked, exited, ended, killed };

struct Task {
  int index = 0;
  int parent = -1;
  int box = -1;                // its mailbox (boxes are reused once a process is gone)
  std::string name;
  pid_t pid = 0;
  int pidfd = -1;
  TaskState state = TaskState::running;
  Pending pending;             // valid while parked
  int exit_code = 0;
  int children = 0;
  int channels_made = 0;
  std::set<std::uint64_t> holds;
  bool waited = false;         // coverage: its pending operation was seen waiting
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
    exit,       // a child exits while its parent watches it (running(), join_for)
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

// What a transition tells a task: the reply written into its mailbox before it is released.
struct Reply {
  explicit Reply(int t, std::uint32_t case_fired = 0) : task(t), fired(case_fired) {}
  int task = 0;
  std::uint32_t fired = 0;     // the case that completed
  Status status = Status::ok;
  bool answer = false;         // closed(), running(), join: the boolean answer
  int exit_code = 0;           // join, running: the child's exit code
  int child_box = -1;          // spawn: the new task's mailbox
  bool has_value = false;      // recv: value holds the received bytes
  std::string value;
};

// What applying a transition did: the tasks to release with their replies, and the tasks it
// ended (whose processes must be killed), in that order of need.
struct Effects {
  std::vector<Reply> replies;
  std::vector<int> ended;
  std::string step;            // the step, described for the log
};

struct Model {
  std::vector<Task> tasks;
  std::map<std::uint64_t, Chan> chans;
  std::int64_t now = 0;        // simulated time (ns)
  bool unbuffered = false;
  Timeouts timeouts = Timeouts::any_time;
  int external_channels = 0;

  // The channel with this id, registered on first sight (capacity from the operation).
  Chan& chan(std::uint64_t id, std::size_t capacity);
  const Chan* find(std::uint64_t id) const;
  int task_of_pid(pid_t pid) const;

  // Every transition enabled now, in canonical order.
  std::vector<Transition> enabled() const;

  // Whether task t's pending operation needs no choice (it commutes with everything): spawn,
  // exit (unless its parent watches it), sync, and a join whose child is gone.
  bool invisible(const Task& t) const;

  // Whether t waits without a deadline in an operation that only a partner can end (send,
  // receive, select without default or timeout, join without timeout): if nothing serves it,
  // it waits forever (a leak when the program goes on without it).
  bool waits_forever_unless_served(const Task& t) const;
  // Task 0 has returned from the body and waits to exit while other tasks still live. Its
  // exit is not a transition: the explorer lets the others run on first (see run.cpp).
  bool root_exiting() const;

  // Carries out tr, which must be enabled now: updates the channels and tasks, and says which
  // tasks to release with what reply. Parked tasks it releases become running.
  Effects apply(const Transition& tr);
  // Carries out the invisible operation of task t (invisible(t) holds), except a spawn.
  Effects apply_invisible(int t);
  // A spawn by task t: the new task (running, not yet parked), named and holding what t holds.
  int spawn(int t);
  // Ends task t and every live task it started, as their parent's death would (PDEATHSIG).
  void end_tree(int t, std::vector<int>& ended);

  // What tr touches; tr must be enabled now (its tasks' pending operations are read).
  Footprint footprint(const Transition& tr) const;

  std::string describe(const Transition&) const;   // one line, for the step log
  std::string check_invariants() const;            // "" when they hold (tests)

 private:
  bool ready(const Task& t, const Case& c) const;
  void add_case_transitions(const Task& t, std::size_t ci, std::vector<Transition>& out) const;
};

}  // namespace ceramic::sim::detail
