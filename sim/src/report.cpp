#include "report.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/report.hpp"

namespace ceramic::sim::detail {
namespace {

trace::WaitOp wait_op(OpKind op) {
  switch (op) {
    case OpKind::send: return trace::WaitOp::send;
    case OpKind::recv: return trace::WaitOp::recv;
    case OpKind::select: return trace::WaitOp::select;
    case OpKind::join: return trace::WaitOp::join;
    default: return trace::WaitOp::none;
  }
}

std::string program_path() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string first = all.substr(0, all.find('\0'));
  return first.empty() ? "<program>" : first;
}

}  // namespace

// Processes are named in reports by their creation order (task index + 1), never by their OS
// pid: a replay prints the same report every time.
detector::Snapshot snapshot_of(const Model& m) {
  auto pid_of = [](int task) { return static_cast<pid_t>(task + 1); };
  // Channels likewise by their label (creation order), not their per-run random id.
  auto chan_of = [&m](std::uint64_t id) -> std::uint64_t {
    const Chan* c = m.find(id);
    std::uint64_t h = c ? std::hash<std::string>{}(c->label) : id;
    return h == 0 ? 1 : h;
  };
  // A parked task that some enabled transition moves (a partner parked at the other end of its
  // channel that it has not met yet: arrival is lazy) is not blocked: it can act.
  std::vector<bool> movable(m.tasks.size(), false);
  for (const Transition& tr : m.enabled()) {
    movable[tr.task] = true;
    if (tr.partner >= 0) movable[tr.partner] = true;
  }
  detector::Snapshot s;
  s.root_pid = pid_of(0);
  s.taken_ns = m.now;
  for (const Task& t : m.tasks) {
    detector::ThreadInfo ti;
    ti.pid = ti.tid = pid_of(t.index);
    ti.ppid = t.parent >= 0 ? pid_of(t.parent) : 0;
    ti.name = t.name;
    ti.since_ns = m.now;
    if (t.last_peer >= 0) ti.last_peer = pid_of(t.last_peer);
    ti.last_file = t.last_file;
    ti.last_line = t.last_line;
    if (t.state == TaskState::parked) {
      const Pending& p = t.pending;
      ti.state = trace::ThreadState::blocked;
      ti.op = wait_op(p.op);
      ti.has_deadline = p.timed;
      ti.file = p.file;
      ti.line = p.line;
      for (const Case& c : p.cases) {
        if (c.kind == CaseKind::send) ti.waits.push_back({chan_of(c.channel), trace::WaitOp::send});
        if (c.kind == CaseKind::recv) ti.waits.push_back({chan_of(c.channel), trace::WaitOp::recv});
      }
      if (p.op == OpKind::join) ti.join_pid = pid_of(m.task_of_pid(p.target));
      if (p.op == OpKind::close || p.op == OpKind::closed || movable[t.index]) {
        ti.state = trace::ThreadState::running;  // not blocked: only listed
      }
    } else if (t.state == TaskState::running) {
      ti.state = trace::ThreadState::running;
    } else {
      ti.state = trace::ThreadState::exited;
      ti.exit_code = t.exit_code;
      if (t.state == TaskState::killed || t.state == TaskState::ended) s.dead.push_back(pid_of(t.index));
    }
    s.threads.push_back(std::move(ti));
  }
  for (const auto& [id, c] : m.chans) {
    detector::ChannelInfo ci;
    ci.id = chan_of(id);
    ci.capacity = static_cast<std::uint32_t>(c.capacity);
    ci.creator_pid = c.creator >= 0 ? pid_of(c.creator) : 0;
    ci.file = c.file;
    ci.line = c.line;
    ci.name = c.name.empty() ? c.label : c.name;
    ci.closed = c.closed;
    for (const Task& t : m.tasks) {
      if (!t.holds.count(id)) continue;
      (t.live() ? ci.holders : ci.former).push_back(pid_of(t.index));
    }
    s.channels.push_back(std::move(ci));
  }
  s.sort();   // the lookups' order: the chans map is ordered by random ids, not by chan_of's
  return s;
}

Judgement deadlock_report(const Model& m) {
  Judgement d;
  detector::Report r = detector::analyze(snapshot_of(m));
  std::string blocked;
  int n = 0;
  for (const Task& t : m.tasks) {
    if (t.state != TaskState::parked) continue;
    blocked += (n++ ? ", " : "") + t.name;
  }
  d.summary = "deadlock: " + blocked + (n == 1 ? " is" : " are") +
              " blocked and nothing else can happen";
  if (r.deadlock) {
    d.graph = std::move(r);
  } else {
    // Every live process is parked and no transition is enabled: a deadlock by construction,
    // even where the detector's live rules (which must not guess) cannot prove it.
    for (const Task& t : m.tasks) {
      if (t.state != TaskState::parked) continue;
      d.blocked.push_back(t.name + " blocked at " + t.pending.file + ":" + std::to_string(t.pending.line));
    }
  }
  return d;
}

std::vector<int> find_leaks(const Model& m, const std::vector<int>& candidates, int ender,
                            LeakEnd how, bool quiescent, Judgement* d) {
  std::vector<int> left;
  for (int t : candidates) {
    if (m.waits_forever_unless_served(m.tasks[t])) left.push_back(t);
  }
  if (left.empty()) return left;
  // As the waiting tasks see it: the ender is gone (it ends them, or it is the program's end).
  detector::Snapshot snap = snapshot_of(m);
  const pid_t gone = static_cast<pid_t>(ender + 1);
  for (detector::ThreadInfo& ti : snap.threads) {
    if (ti.pid != gone) continue;
    ti.state = trace::ThreadState::exited;
    ti.exit_code = 0;
    ti.waits.clear();
    snap.dead.push_back(ti.pid);
  }
  snap.sort();
  detector::Report r = detector::analyze(snap);
  if (!quiescent) {
    // Kept: what the detector finds stuck, and a select of no cases (Go's select {}), which
    // nothing could ever serve.
    std::erase_if(left, [&r, &m](int t) {
      if (m.tasks[t].pending.op == OpKind::select && m.tasks[t].pending.cases.empty()) return false;
      return std::none_of(r.stuck.begin(), r.stuck.end(),
                          [t](const detector::StuckThread& s) { return s.pid == t + 1; });
    });
    if (left.empty()) return left;
  }
  std::string names;
  for (std::size_t i = 0; i < left.size(); ++i) names += (i ? ", " : "") + m.tasks[left[i]].name;
  const std::string& by = m.tasks[ender].name;
  const char* them = left.size() == 1 ? "it" : "them";
  d->summary = "leak: " + names + (left.size() == 1 ? " was" : " were") + " left blocked forever: " +
               (how == LeakEnd::program_end
                    ? "the program ended (" + by + " returned from the body) and nothing could serve " + them
                : how == LeakEnd::proc_destroyed
                    ? by + " destroyed the Proc and nothing could serve " + them
                    : by + " exited, which ends " + them + " (a Proc's child ends with its parent), and "
                                                            "nothing could serve " + them);
  if (r.deadlock) {
    d->graph = std::move(r);
  } else {
    for (int task : left) {
      const Task& t = m.tasks[task];
      d->blocked.push_back(t.name + " blocked at " + t.pending.file + ":" + std::to_string(t.pending.line));
    }
  }
  return left;
}

std::string replay_line(const std::string& schedule) {
  return std::string(kReplayEnv) + "='" + schedule + "' " + program_path() +
         "\n  or: ceramic::sim::replay(body, \"" + schedule + "\")";
}

std::string failure_report(const Outcome& o, const std::string& schedule, const std::string& replay,
                           std::size_t iteration) {
  std::string s = "ceramic sim: " + std::string(to_string(o.info.kind)) + " in schedule " +
                  std::to_string(iteration) + " after " + std::to_string(o.steps) + " steps\n";
  const FailureInfo& f = o.info;
  s += f.summary + "\n";
  if (!f.steps.empty()) {
    s += "\nlast steps:\n";
    for (const std::string& line : f.steps) s += "  " + line + "\n";
  }
  if (f.graph) s += "\n" + detector::to_text(*f.graph);
  if (!f.blocked.empty()) {
    s += "\n";
    for (const std::string& line : f.blocked) s += "  " + line + "\n";
  }
  if (!o.output.empty()) {
    s += "\noutput of the failing schedule (tail):\n" + o.output;
    if (o.output.back() != '\n') s += "\n";
  }
  if (replay.empty()) {
    // A replay the program did not follow: there is nothing to replay but the schedule given.
    s += "\nschedule: " + schedule +
         "\nthe program no longer follows it: explore again to find a schedule for the program as it "
         "is now\n";
  } else {
    s += "\nschedule: " + schedule + "\nreplay: " + replay + "\n";
  }
  return s;
}

}  // namespace ceramic::sim::detail
