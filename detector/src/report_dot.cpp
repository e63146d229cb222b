#include <cstdio>
#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "ceramic/detector/report.hpp"
#include "report_util.hpp"

namespace ceramic::detector {
namespace {

// DOT string literal: escape quotes and backslashes; "\n" stays a DOT line break.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string node(pid_t pid) { return "p" + std::to_string(pid); }
std::string chan_node(std::uint64_t id) {  // the full id: short ones may collide
  char buf[24];
  std::snprintf(buf, sizeof buf, "c%016llx", static_cast<unsigned long long>(id));
  return buf;
}

}  // namespace

std::string to_dot(const Report& r) {
  std::ostringstream o;
  o << "digraph ceramic_wait_for {\n"
    << "  graph [rankdir=LR, fontname=\"Helvetica\", label="
    << quoted(r.deadlock ? std::string(r.leak ? "ceramic: leak (" : "ceramic: deadlock (") + kind_name(r.kind) + ")" : "ceramic: no deadlock")
    << ", labelloc=t];\n"
    << "  node [fontname=\"Helvetica\", fontsize=11];\n"
    << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  // Each process's stuck threads, in report order: one line each in its node.
  std::unordered_map<pid_t, std::vector<const StuckThread*>> stuck;
  for (const StuckThread& t : r.stuck) stuck[t.pid].push_back(&t);
  for (const Peer& p : r.processes) {
    std::string label = process_label(p.name, p.pid);
    if (auto it = stuck.find(p.pid); it != stuck.end()) {
      for (const StuckThread* t : it->second) {
        label += "\n" + std::string(op_name(t->op)) + " at " + site(t->file, t->line);
      }
      o << "  " << node(p.pid) << " [shape=box, style=\"filled,bold\", color=\"#b00020\", "
        << "fillcolor=\"#fde0e0\", label=" << quoted(label) << "];\n";
    } else if (p.state == PeerState::stuck) {
      o << "  " << node(p.pid) << " [shape=box, label=" << quoted(label) << "];\n";
    } else {
      label += p.state == PeerState::exited ? "\nexited (" + std::to_string(p.exit_code) + ")"
                                            : std::string("\nkilled");
      if (p.line) label += "\nlast met at " + site(p.file, p.line);
      o << "  " << node(p.pid) << " [shape=box, style=dashed, color=\"#777777\", "
        << "fontcolor=\"#555555\", label=" << quoted(label) << "];\n";
    }
  }
  for (const ChannelRef& c : r.channels) {
    std::string label = c.name.empty() ? "chan #" + short_id(c.id) : "chan '" + c.name + "'";
    if (c.capacity) label += "\ncapacity " + std::to_string(c.capacity);
    if (c.line) label += "\nmade at " + site(c.file, c.line);
    o << "  " << chan_node(c.id) << " [shape=ellipse, label=" << quoted(label) << "];\n";
  }
  std::set<std::pair<std::uint64_t, pid_t>> held;
  for (const StuckThread& t : r.stuck) {
    if (t.op == trace::WaitOp::join) {
      o << "  " << node(t.pid) << " -> " << node(t.join_pid)
        << " [label=\"join\", color=\"#b00020\", penwidth=2];\n";
    }
    for (const BlockedWait& w : t.waits) {
      o << "  " << node(t.pid) << " -> " << chan_node(w.channel.id) << " [label="
        << quoted(op_name(w.op)) << ", color=\"#b00020\", penwidth=2];\n";
      for (const Peer& p : w.others) {
        if (!held.insert({w.channel.id, p.pid}).second) continue;
        bool live = p.state == PeerState::stuck;
        o << "  " << chan_node(w.channel.id) << " -> " << node(p.pid)
          << (live ? " [label=\"held by\"]" : " [label=\"was held by\", style=dashed, color=\"#777777\"]")
          << ";\n";
      }
    }
  }
  o << "}\n";
  return o.str();
}

}  // namespace ceramic::detector
