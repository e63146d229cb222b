#include "ceramic/detector/leaks.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "ceramic/detector/analysis.hpp"

namespace ceramic::detector {
namespace {

using trace::EventKind;
using trace::WaitOp;

// (Channel id 0 is no channel: a select of no cases, Go's select {}, waits on it.)
bool waits_on(const ThreadInfo& t, std::uint64_t channel) {
  if (channel == 0) return false;
  return std::any_of(t.waits.begin(), t.waits.end(),
                     [&](const Wait& w) { return w.channel == channel; });
}

// Killed on purpose: an explicit kill of pid, or of one of its ancestors, after it blocked.
// A pid can be reused; an event from before the thread blocked is about an older process.
bool killed_on_purpose(const ThreadInfo& t, const std::multimap<pid_t, std::int64_t>& kills,
                       const std::map<pid_t, pid_t>& parent_of) {
  pid_t p = t.pid;
  for (int depth = 0; p > 0 && depth < 64; ++depth) {  // bounded: a corrupt table may loop
    auto [lo, hi] = kills.equal_range(p);
    for (auto it = lo; it != hi; ++it) {
      if (it->second >= t.since_ns) return true;
    }
    auto up = parent_of.find(p);
    if (up == parent_of.end()) break;
    p = up->second;
  }
  return false;
}

// Woken before it died: a close of a channel it waits on after it blocked, or a rendezvous a
// peer recorded with it that it never recorded itself. (A peer's send returns once the value is
// taken, maybe before the receiver writes that it woke, and the receiver may be killed in
// between; the peer's record may also come after the receiver has blocked again, so time alone
// cannot tell: count the two sides' records per channel.)
bool released(const ThreadInfo& t, const Snapshot& s, const std::vector<EventInfo>& events) {
  for (const Wait& w : t.waits) {
    if (const ChannelInfo* c = s.channel(w.channel); c && c->closed) return true;
  }
  std::map<std::uint64_t, long> unmatched;  // per channel: peers' records minus its own
  for (const EventInfo& e : events) {
    if (!waits_on(t, e.channel)) continue;
    if (e.kind == EventKind::close && e.t_ns >= t.since_ns) return true;
    if (e.kind != EventKind::rendezvous) continue;
    if (e.pid != t.pid && e.peer == t.pid) ++unmatched[e.channel];
    if (e.pid == t.pid && e.peer > 0 && e.peer != t.pid) --unmatched[e.channel];
  }
  return std::any_of(unmatched.begin(), unmatched.end(), [](const auto& u) { return u.second > 0; });
}

// Ended by an ancestor's exit while something could still serve it: not a leak. A Proc's child
// ends with its parent; when that parent (or a nearer ancestor) exited inside the program, the
// child is judged as of that exit, as the simulator judges it (docs/deadlock_detection.md):
// excused if another holder of one of its channels could then still act. The final trace shows
// enough for one such holder: a process that descends from the same ancestor was alive when
// that ancestor exited (the lifeline ends descendants only after their parent), and one that
// was running, or waiting with a deadline, when it was ended in turn (or had not yet run any of
// its body) could still have acted.
// The program's own end (its top process exiting) is not such an exit: nothing serves anything
// after it. Only exits that left a record count; a Proc destroyed while its child waits is
// judged at the end.
class Enders {
 public:
  Enders(const Snapshot& s, const std::map<pid_t, pid_t>& parent_of) : s_(s), parent_of_(parent_of) {
    for (const ThreadInfo& t : s.threads) {
      traced_.insert(t.pid);
      if (t.state == trace::ThreadState::exited) exited_.insert(t.pid);
      if (t.state == trace::ThreadState::running || (t.blocked() && t.has_deadline)) {
        active_.insert(t.pid);
      }
    }
  }

  bool ended_while_servable(const ThreadInfo& t) const {
    const pid_t ender = ender_of(t.pid);
    if (ender <= 0) return false;
    for (const Wait& w : t.waits) {
      const ChannelInfo* c = s_.channel(w.channel);
      if (c == nullptr) continue;
      for (pid_t h : c->holders) {
        if (h != t.pid && could_act(h) && descends(h, ender)) return true;
      }
    }
    return false;
  }

 private:
  pid_t parent(pid_t p) const {
    auto it = parent_of_.find(p);
    return it == parent_of_.end() ? 0 : it->second;
  }
  // The nearest ancestor of pid that exited with a record and is not the program's top process
  // (whose parent is not traced), or 0.
  pid_t ender_of(pid_t pid) const {
    pid_t a = parent(pid);
    for (int depth = 0; a > 0 && depth < 64; ++depth, a = parent(a)) {   // bounded: a corrupt table may loop
      if (!exited_.count(a)) continue;
      return traced_.count(parent(a)) ? a : 0;
    }
    return 0;
  }
  bool descends(pid_t pid, pid_t ancestor) const {
    pid_t a = parent(pid);
    for (int depth = 0; a > 0 && depth < 64; ++depth, a = parent(a)) {
      if (a == ancestor) return true;
    }
    return false;
  }

  // Running or waiting with a deadline when it was ended; or started but never seen by the
  // tracer (a fork not yet running its body: it would have).
  bool could_act(pid_t h) const {
    return !exited_.count(h) && (active_.count(h) || !traced_.count(h));
  }

  const Snapshot& s_;
  const std::map<pid_t, pid_t>& parent_of_;
  std::set<pid_t> traced_, exited_, active_;
};

}  // namespace

Report find_leaks(const Snapshot& s, const std::vector<EventInfo>& events) {
  std::multimap<pid_t, std::int64_t> kills;
  for (const EventInfo& e : events) {
    if (e.kind == EventKind::kill && e.peer > 0) kills.emplace(e.peer, e.t_ns);
  }
  std::map<pid_t, pid_t> parent_of;
  for (const ThreadInfo& t : s.threads) {
    if (t.pid > 0 && t.ppid > 0 && t.ppid != t.pid) parent_of.emplace(t.pid, t.ppid);
  }
  // A child forked but not yet running its body has no thread entry: its parent's spawn says
  // whose it is. (A reused pid keeps the entry's parent, which is the newer.)
  for (const EventInfo& e : events) {
    if (e.kind == EventKind::spawn && e.peer > 0 && e.pid > 0 && e.peer != e.pid) {
      parent_of.emplace(e.peer, e.pid);
    }
  }

  const Enders enders(s, parent_of);
  std::set<pid_t> leaked;
  for (const ThreadInfo& t : s.threads) {
    if (!t.blocked() || t.has_deadline || t.pid <= 0) continue;
    if (t.op == WaitOp::join ? t.join_pid <= 0 : t.waits.empty()) continue;
    if (killed_on_purpose(t, kills, parent_of)) continue;
    if (t.op != WaitOp::join && released(t, s, events)) continue;
    if (t.op != WaitOp::join && enders.ended_while_servable(t)) continue;
    leaked.insert(t.pid);
  }
  if (leaked.empty()) return {};

  // Analyse the end as a world in which the leaked processes are still there and everything
  // else is gone: the deadlock analysis then explains each one (no live peer, or a cycle
  // among leaked processes) with what became of every other holder.
  Snapshot end = s;
  end.os_threads.clear();
  std::set<pid_t> dead;
  for (const ThreadInfo& t : s.threads) {
    if (!leaked.count(t.pid)) dead.insert(t.pid);
  }
  for (const ChannelInfo& c : s.channels) {
    for (pid_t h : c.holders) {
      if (!leaked.count(h)) dead.insert(h);
    }
    for (pid_t h : c.former) {
      if (!leaked.count(h)) dead.insert(h);
    }
  }
  end.dead.assign(dead.begin(), dead.end());
  // A leaked thread of a process that also has a running (not blocked) thread would count
  // that thread as able to act; at the end nothing acts any more.
  for (ThreadInfo& t : end.threads) {
    if (leaked.count(t.pid) && !t.blocked()) t.state = trace::ThreadState::finished;
    if (leaked.count(t.pid) && t.blocked() && killed_on_purpose(t, kills, parent_of)) {
      t.state = trace::ThreadState::finished;
    }
  }
  Report r = analyze(end);
  r.leak = r.deadlock;
  return r;
}

}  // namespace ceramic::detector
