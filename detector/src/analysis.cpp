#include "ceramic/detector/analysis.hpp"

#include "saturate.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace ceramic::detector {
namespace {

using trace::ThreadState;
using trace::WaitOp;

struct Graph {
  const Snapshot& s;
  std::unordered_map<pid_t, std::vector<std::size_t>> threads_of;  // pid -> thread indices
  std::unordered_map<pid_t, std::vector<std::uint64_t>> held_by;   // pid -> channels it holds
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> waiters;  // channel -> S threads
  std::unordered_map<pid_t, std::vector<std::size_t>> joiners;          // child -> S threads
  std::unordered_map<pid_t, int> active;  // threads of pid that can act (not in S, not exited)
  std::vector<char> in_s;
  // After the fixed point: pid -> the thread entry that best describes the process (a stuck
  // one, else the last to have done something). Built once: a report names the same process
  // once per wait, and a process may have tens of thousands of entries.
  std::unordered_map<pid_t, std::size_t> describes;

  explicit Graph(const Snapshot& snap) : s(snap) {}

  bool alive(pid_t pid) const { return !s.is_dead(pid); }
  // A live process that could act: it has a thread not in S, or ceramic has never seen one of
  // its threads (then it is running code we cannot see).
  bool can_act(pid_t pid) const {
    if (!alive(pid)) return false;
    auto it = threads_of.find(pid);
    if (it == threads_of.end()) return true;
    auto a = active.find(pid);
    return a != active.end() && a->second > 0;
  }

  bool can_progress(const ThreadInfo& t) const {
    if (t.op == WaitOp::join) return !alive(t.join_pid) || can_act(t.join_pid);
    for (const Wait& w : t.waits) {
      if (w.channel == 0) continue;  // no channel (a select of no cases): nothing can serve it
      const ChannelInfo* c = s.channel(w.channel);
      if (c == nullptr || c->closed || c->overflow) return true;  // cannot prove anything
      for (pid_t h : c->holders) {
        if (can_act(h)) return true;
      }
    }
    return false;
  }
};

ChannelRef ref_of(const Snapshot& s, std::uint64_t id) {
  ChannelRef r;
  r.id = id;
  if (const ChannelInfo* c = s.channel(id)) {
    r.name = c->name;
    r.file = c->file;
    r.line = c->line;
    r.capacity = c->capacity;
  }
  return r;
}

// Graph::describes, in one pass over the threads: per process its first stuck entry, else the
// first of those with the most operations.
void describe_processes(Graph& g) {
  for (std::size_t i = 0; i < g.s.threads.size(); ++i) {
    auto [it, fresh] = g.describes.try_emplace(g.s.threads[i].pid, i);
    const std::size_t best = it->second;
    if (fresh || g.in_s[best]) continue;
    if (g.in_s[i] || g.s.threads[i].ops > g.s.threads[best].ops) it->second = i;
  }
}

// The thread entry that best describes a process (describe_processes() must have run).
const ThreadInfo* main_thread(const Graph& g, pid_t pid) {
  auto it = g.describes.find(pid);
  return it == g.describes.end() ? nullptr : &g.s.threads[it->second];
}

std::string name_of(const Graph& g, pid_t pid) {
  const ThreadInfo* t = main_thread(g, pid);
  return t ? t->name : std::string();
}

Peer peer_of(const Graph& g, pid_t pid) {
  Peer p;
  p.pid = pid;
  const ThreadInfo* t = main_thread(g, pid);
  if (t) p.name = t->name;
  if (g.alive(pid)) {
    p.state = PeerState::stuck;
    if (t) {
      p.file = t->file;
      p.line = t->line;
    }
    return p;
  }
  bool exited = t && t->state == ThreadState::exited;
  p.state = exited ? PeerState::exited : PeerState::killed;
  if (t) {
    p.exit_code = t->exit_code;
    p.file = t->last_file;
    p.line = t->last_line;
    p.last_peer = t->last_peer;
    p.last_peer_name = name_of(g, t->last_peer);
  }
  return p;
}

// Strongly connected components (Tarjan's algorithm, iterative: a chain of 100,000 processes
// must not overflow the stack) of the wait-for graph among stuck processes.
std::vector<std::vector<pid_t>> cycles_of(const std::map<pid_t, std::set<pid_t>>& edges) {
  std::map<pid_t, int> index, low;
  std::set<pid_t> on_stack;
  std::vector<pid_t> stack;
  std::vector<std::vector<pid_t>> out;
  int next = 0;
  static const std::set<pid_t> kNoEdges;
  auto succ = [&](pid_t v) -> const std::set<pid_t>& {
    auto it = edges.find(v);
    return it == edges.end() ? kNoEdges : it->second;
  };
  struct Frame {
    pid_t v;
    std::set<pid_t>::const_iterator it;
  };
  for (const auto& [root, _] : edges) {
    if (index.count(root)) continue;
    std::vector<Frame> calls;
    auto enter = [&](pid_t v) {
      index[v] = low[v] = next++;
      stack.push_back(v);
      on_stack.insert(v);
      calls.push_back(Frame{v, succ(v).begin()});
    };
    enter(root);
    while (!calls.empty()) {
      Frame& f = calls.back();
      if (f.it != succ(f.v).end()) {
        pid_t w = *f.it++;
        if (!index.count(w)) {
          enter(w);
        } else if (on_stack.count(w)) {
          low[f.v] = std::min(low[f.v], index[w]);
        }
        continue;
      }
      pid_t v = f.v;
      calls.pop_back();
      if (!calls.empty()) low[calls.back().v] = std::min(low[calls.back().v], low[v]);
      if (low[v] != index[v]) continue;
      std::vector<pid_t> scc;
      pid_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack.erase(w);
        scc.push_back(w);
      } while (w != v);
      if (scc.size() > 1 || succ(v).count(v)) {
        std::sort(scc.begin(), scc.end());
        out.push_back(std::move(scc));
      }
    }
  }
  return out;
}

}  // namespace

Report analyze(const Snapshot& s) {
  if (!s.sorted()) {   // built by hand without sort(): analyse a sorted copy
    Snapshot copy = s;
    copy.sort();
    return analyze(copy);
  }
  Graph g(s);
  const std::size_t n = s.threads.size();
  g.in_s.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const ThreadInfo& t = s.threads[i];
    g.threads_of[t.pid].push_back(i);
    bool waits = t.op == WaitOp::join ? t.join_pid > 0 : !t.waits.empty();
    g.in_s[i] = t.blocked() && !t.has_deadline && waits && g.alive(t.pid);
    const bool ended = t.state == ThreadState::exited || t.state == ThreadState::finished;
    if (!g.in_s[i] && !ended && g.alive(t.pid)) ++g.active[t.pid];
  }
  // Threads the trace cannot see (they never used ceramic) count as able to act.
  for (const auto& [pid, os_count] : s.os_threads) {
    auto it = g.threads_of.find(pid);
    if (it == g.threads_of.end()) continue;
    int traced = 0;
    for (std::size_t i : it->second) {
      auto st = s.threads[i].state;
      traced += st != ThreadState::exited && st != ThreadState::finished;
    }
    if (os_count > traced) g.active[pid] += os_count - traced;
  }
  for (const ChannelInfo& c : s.channels) {
    for (pid_t h : c.holders) g.held_by[h].push_back(c.id);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!g.in_s[i]) continue;
    const ThreadInfo& t = s.threads[i];
    if (t.op == WaitOp::join) g.joiners[t.join_pid].push_back(i);
    for (const Wait& w : t.waits) g.waiters[w.channel].push_back(i);
  }

  // Greatest fixed point: remove every thread that something able to act could complete,
  // then propagate: a process that gains an active thread can complete waits on every
  // channel it holds, and joins on it.
  std::vector<std::size_t> work;
  auto remove = [&](std::size_t i) {
    if (!g.in_s[i]) return;
    g.in_s[i] = 0;
    work.push_back(i);
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (g.in_s[i] && g.can_progress(s.threads[i])) remove(i);
  }
  while (!work.empty()) {
    std::size_t i = work.back();
    work.pop_back();
    pid_t pid = s.threads[i].pid;
    if (g.active[pid]++ > 0) continue;  // it could act already: nothing new
    for (std::uint64_t c : g.held_by[pid]) {
      // Released once for good: another holder that wakes up later has nothing left to do
      // here, so every waiter list is walked once (linear, whoever holds what).
      auto it = g.waiters.find(c);
      if (it == g.waiters.end()) continue;
      for (std::size_t w : it->second) remove(w);
      g.waiters.erase(it);
    }
    for (std::size_t w : g.joiners[pid]) remove(w);
  }
  describe_processes(g);

  Report r;
  std::set<std::uint64_t> channels;
  std::set<pid_t> procs;
  std::map<pid_t, std::set<pid_t>> edges;
  bool dead_end = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (!g.in_s[i]) continue;
    const ThreadInfo& t = s.threads[i];
    StuckThread st;
    st.pid = t.pid;
    st.tid = t.tid;
    st.name = t.name;
    st.op = t.op;
    st.file = t.file;
    st.line = t.line;
    st.blocked_ns = sat_sub(s.taken_ns, t.since_ns);
    st.seq = t.seq;
    procs.insert(t.pid);
    edges[t.pid];
    if (t.op == WaitOp::join) {
      st.join_pid = t.join_pid;
      st.join_child = peer_of(g, t.join_pid);
      procs.insert(t.join_pid);
      edges[t.pid].insert(t.join_pid);
    }
    for (const Wait& w : t.waits) {
      if (w.channel == 0) {  // a select of no cases (Go's select {}): no one can ever wake it
        dead_end = true;
        continue;
      }
      BlockedWait bw;
      bw.channel = ref_of(s, w.channel);
      bw.op = w.op;
      channels.insert(w.channel);
      bool someone_alive = false;
      if (const ChannelInfo* c = s.channel(w.channel)) {
        for (pid_t h : c->holders) {
          if (h == t.pid) continue;
          bw.others.push_back(peer_of(g, h));
          procs.insert(h);
          if (g.alive(h)) {
            someone_alive = true;
            edges[t.pid].insert(h);
          }
        }
        for (pid_t h : c->former) {  // gone: they explain why no one is left
          if (h == t.pid || g.alive(h)) continue;
          bw.others.push_back(peer_of(g, h));
          procs.insert(h);
        }
      }
      if (!someone_alive) dead_end = true;
      st.waits.push_back(std::move(bw));
    }
    r.stuck.push_back(std::move(st));
  }
  r.deadlock = !r.stuck.empty();
  for (std::uint64_t c : channels) r.channels.push_back(ref_of(s, c));
  for (pid_t p : procs) r.processes.push_back(peer_of(g, p));
  r.cycles = cycles_of(edges);
  if (r.deadlock) {
    // A cycle: every stuck thread waits on exactly one live peer. More choices (a select, a
    // channel several could answer on) make a knot, the OR-model's deadlock.
    bool single = true;
    for (const StuckThread& t : r.stuck) {
      std::size_t live = t.op == WaitOp::join ? 1 : 0;
      for (const BlockedWait& w : t.waits) {
        for (const Peer& p : w.others) live += p.state == PeerState::stuck;
      }
      single = single && live == 1;
    }
    r.kind = dead_end                            ? Report::Kind::no_live_peer
             : (!r.cycles.empty() && single) ? Report::Kind::cycle
                                             : Report::Kind::knot;
  }
  return r;
}

bool confirms(const Report& first, const Report& second) {
  if (!first.deadlock || !second.deadlock || first.stuck.size() != second.stuck.size()) {
    return false;
  }
  for (std::size_t i = 0; i < first.stuck.size(); ++i) {
    const StuckThread& a = first.stuck[i];
    const StuckThread& b = second.stuck[i];
    if (a.pid != b.pid || a.tid != b.tid || a.seq != b.seq) return false;
  }
  return true;
}

}  // namespace ceramic::detector
