#include "ceramic/detector/chrome_trace.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "ceramic/detector/report.hpp"
#include "report_util.hpp"
#include "saturate.hpp"

namespace ceramic::detector {
namespace {

using nlohmann::json;
using trace::EventKind;
using trace::WaitOp;

double us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string what(const EventInfo& e) {
  std::string s = op_name(e.op);
  if (e.channel != 0) s += " #" + short_id(e.channel);
  return s;
}

json args_of(const EventInfo& e) {
  json a;
  if (e.line) a["site"] = site(e.file, e.line);
  if (e.channel) a["channel"] = short_id(e.channel);
  if (e.peer) a["peer"] = e.peer;
  return a;
}

}  // namespace

std::string to_chrome_json(const Snapshot& s, const std::vector<EventInfo>& events) {
  json out = json::array();
  // Track names: one process per pid, one thread per tid.
  std::map<pid_t, std::string> names;
  for (const ThreadInfo& t : s.threads) {
    if (!t.name.empty()) names[t.pid] = t.name;
  }
  std::map<std::pair<pid_t, pid_t>, bool> seen;
  for (const ThreadInfo& t : s.threads) {
    if (seen[{t.pid, t.tid}]) continue;
    seen[{t.pid, t.tid}] = true;
    std::string pname = names.count(t.pid) ? names[t.pid] : "process";
    out.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", t.pid}, {"tid", t.tid},
                   {"args", {{"name", pname + " (" + std::to_string(t.pid) + ")"}}}});
    out.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", t.pid}, {"tid", t.tid},
                   {"args", {{"name", "thread " + std::to_string(t.tid)}}}});
  }

  // Blocked intervals: a block (or join) opens a slice on its thread; the next unblock,
  // rendezvous, timeout or join end closes it.
  std::map<std::pair<pid_t, pid_t>, const EventInfo*> open;
  // Rendezvous pairing: a send that met `peer` on a channel is matched, in order, with the
  // receive by `peer` that met the sender on the same channel.
  std::map<std::tuple<std::uint64_t, pid_t, pid_t>, std::vector<const EventInfo*>> sends, recvs;
  std::int64_t last_ns = 0;
  for (const EventInfo& e : events) {
    last_ns = std::max(last_ns, e.t_ns);
    auto key = std::make_pair(e.pid, e.tid);
    switch (e.kind) {
      case EventKind::block:
      case EventKind::join_begin:
        if (!open.count(key)) open[key] = &e;
        break;
      case EventKind::unblock:
      case EventKind::rendezvous:
      case EventKind::timeout:
      case EventKind::join_end: {
        auto it = open.find(key);
        if (it != open.end()) {
          const EventInfo& b = *it->second;
          json x = {{"ph", "X"}, {"name", "blocked: " + what(b)}, {"cat", "wait"},
                    {"pid", e.pid}, {"tid", e.tid}, {"ts", us(b.t_ns)},
                    {"dur", us(sat_sub(e.t_ns, b.t_ns))}, {"args", args_of(b)}};
          x["args"]["outcome"] = e.kind == EventKind::timeout      ? "timeout"
                                 : e.kind == EventKind::rendezvous ? "rendezvous"
                                                                   : "woken";
          out.push_back(std::move(x));
          open.erase(it);
        }
        if (e.kind == EventKind::rendezvous && e.peer > 0) {
          if (e.op == WaitOp::send) sends[{e.channel, e.pid, e.peer}].push_back(&e);
          if (e.op == WaitOp::recv) recvs[{e.channel, e.peer, e.pid}].push_back(&e);
        }
        if (e.kind == EventKind::timeout) {
          out.push_back({{"ph", "i"}, {"s", "t"}, {"name", "timeout " + what(e)},
                         {"pid", e.pid}, {"tid", e.tid}, {"ts", us(e.t_ns)}, {"args", args_of(e)}});
        }
        break;
      }
      case EventKind::spawn:
      case EventKind::start:
      case EventKind::exit:
      case EventKind::close:
      case EventKind::kill:
      case EventKind::channel: {
        std::string name = e.kind == EventKind::spawn  ? "spawn " + std::to_string(e.peer)
                           : e.kind == EventKind::kill  ? "kill " + std::to_string(e.peer)
                           : e.kind == EventKind::start ? std::string("start")
                           : e.kind == EventKind::exit  ? "exit " + std::to_string(e.value)
                           : e.kind == EventKind::close ? "close #" + short_id(e.channel)
                                                        : "make #" + short_id(e.channel);
        out.push_back({{"ph", "i"}, {"s", "t"}, {"name", name}, {"pid", e.pid}, {"tid", e.tid},
                       {"ts", us(e.t_ns)}, {"args", args_of(e)}});
        break;
      }
    }
  }
  // Still blocked at the end of the trace: draw the slice up to the last event.
  for (const auto& [key, b] : open) {
    json x = {{"ph", "X"}, {"name", "blocked: " + what(*b)}, {"cat", "wait"}, {"pid", key.first},
              {"tid", key.second}, {"ts", us(b->t_ns)}, {"dur", us(sat_sub(last_ns, b->t_ns))},
              {"args", args_of(*b)}};
    x["args"]["outcome"] = "still blocked";
    out.push_back(std::move(x));
  }
  std::uint64_t flow = 0;
  for (const auto& [k, from] : sends) {
    auto it = recvs.find(k);
    if (it == recvs.end()) continue;
    for (std::size_t i = 0; i < from.size() && i < it->second.size(); ++i) {
      const EventInfo& a = *from[i];
      const EventInfo& b = *it->second[i];
      ++flow;
      out.push_back({{"ph", "s"}, {"id", flow}, {"name", "rendezvous"}, {"cat", "rendezvous"},
                     {"pid", a.pid}, {"tid", a.tid}, {"ts", us(a.t_ns)}});
      out.push_back({{"ph", "f"}, {"bp", "e"}, {"id", flow}, {"name", "rendezvous"},
                     {"cat", "rendezvous"}, {"pid", b.pid}, {"tid", b.tid}, {"ts", us(b.t_ns)}});
    }
  }
  return json{{"traceEvents", out}, {"displayTimeUnit", "ns"}}.dump(
             -1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

}  // namespace ceramic::detector
