#include "ceramic/detector/timeline.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "report_util.hpp"
#include "saturate.hpp"

namespace ceramic::detector {
namespace {

using trace::EventKind;
using trace::WaitOp;

std::string what(const EventInfo& e) {
  std::string s = op_name(e.op);
  if (e.channel != 0) s += " #" + short_id(e.channel);
  return s;
}

std::string site_of(const EventInfo& e) { return e.line ? site(e.file, e.line) : std::string(); }

}  // namespace

Timeline build_timeline(const Snapshot& s, const std::vector<EventInfo>& events,
                        std::int64_t until_ns) {
  Timeline t;
  std::map<pid_t, std::string> names;
  for (const ThreadInfo& th : s.threads) {
    if (!th.name.empty()) names[th.pid] = th.name;
  }
  std::map<std::pair<pid_t, pid_t>, std::size_t> lane_of;
  auto lane = [&](pid_t pid, pid_t tid) {
    auto [it, fresh] = lane_of.try_emplace({pid, tid}, t.lanes.size());
    if (fresh) {
      auto n = names.find(pid);
      t.lanes.push_back({pid, tid, n == names.end() ? std::string() : n->second});
    }
    return it->second;
  };
  for (const ThreadInfo& th : s.threads) lane(th.pid, th.tid);

  // A block (or join) opens a slice on its thread; the next unblock, rendezvous, timeout or
  // join end closes it. Rendezvous pairing: a send that met `peer` on a channel is matched, in
  // order, with the receive by `peer` that met the sender on the same channel.
  std::map<std::size_t, const EventInfo*> open;
  std::map<std::tuple<std::uint64_t, pid_t, pid_t>, std::vector<const EventInfo*>> sends, recvs;
  for (const EventInfo& e : events) {
    t.end_ns = std::max(t.end_ns, e.t_ns);
    const std::size_t l = lane(e.pid, e.tid);
    switch (e.kind) {
      case EventKind::block:
      case EventKind::join_begin:
        open.try_emplace(l, &e);
        break;
      case EventKind::unblock:
      case EventKind::rendezvous:
      case EventKind::timeout:
      case EventKind::join_end: {
        if (auto it = open.find(l); it != open.end()) {
          const EventInfo& b = *it->second;
          t.slices.push_back({l, b.t_ns, std::max(b.t_ns, e.t_ns), what(b), site_of(b),
                              e.kind == EventKind::timeout      ? "timeout"
                              : e.kind == EventKind::rendezvous ? "rendezvous"
                                                                : "woken"});
          open.erase(it);
        }
        if (e.kind == EventKind::rendezvous && e.peer > 0) {
          if (e.op == WaitOp::send) sends[{e.channel, e.pid, e.peer}].push_back(&e);
          if (e.op == WaitOp::recv) recvs[{e.channel, e.peer, e.pid}].push_back(&e);
        }
        if (e.kind == EventKind::timeout) {
          t.instants.push_back({l, e.t_ns, "timeout " + what(e), site_of(e)});
        }
        break;
      }
      case EventKind::spawn:
      case EventKind::start:
      case EventKind::exit:
      case EventKind::close:
      case EventKind::kill:
      case EventKind::channel:
        t.instants.push_back({l, e.t_ns,
                              e.kind == EventKind::spawn   ? "spawn " + std::to_string(e.peer)
                              : e.kind == EventKind::kill  ? "kill " + std::to_string(e.peer)
                              : e.kind == EventKind::start ? std::string("start")
                              : e.kind == EventKind::exit  ? "exit " + std::to_string(e.value)
                              : e.kind == EventKind::close ? "close #" + short_id(e.channel)
                                                           : "make #" + short_id(e.channel),
                              site_of(e)});
        break;
    }
  }
  t.end_ns = std::max(t.end_ns, until_ns);
  // Still blocked at the end of the trace: the slice runs to its end.
  for (const auto& [l, b] : open) {
    t.slices.push_back({l, b->t_ns, std::max(b->t_ns, t.end_ns), what(*b), site_of(*b),
                        "still blocked"});
  }
  for (const auto& [k, from] : sends) {
    auto it = recvs.find(k);
    if (it == recvs.end()) continue;
    for (std::size_t i = 0; i < from.size() && i < it->second.size(); ++i) {
      const EventInfo& a = *from[i];
      const EventInfo& b = *it->second[i];
      t.flows.push_back({lane(a.pid, a.tid), lane(b.pid, b.tid), a.t_ns, b.t_ns, a.channel});
    }
  }
  return t;
}

}  // namespace ceramic::detector
