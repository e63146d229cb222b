#include <cinttypes>
#include <cstdio>
#include <sstream>

#include "ceramic/detector/report.hpp"
#include "report_util.hpp"

namespace ceramic::detector {

const char* op_name(trace::WaitOp op) noexcept {
  switch (op) {
    case trace::WaitOp::send: return "send";
    case trace::WaitOp::recv: return "recv";
    case trace::WaitOp::select: return "select";
    case trace::WaitOp::join: return "join";
    case trace::WaitOp::none: break;
  }
  return "?";
}

const char* kind_name(Report::Kind k) noexcept {
  switch (k) {
    case Report::Kind::no_live_peer: return "no live peer";
    case Report::Kind::cycle: return "cycle";
    case Report::Kind::knot: return "knot";
    case Report::Kind::none: break;
  }
  return "";
}

namespace {

// leak: the report judges a program's end, which ends every process still running: one gone
// without an exit record may have been ended by it, not killed or crashed before.
std::string why_not(const Peer& p, bool leak) {
  std::ostringstream o;
  o << process_label(p.name, p.pid);
  switch (p.state) {
    case PeerState::stuck:
      o << " is itself stuck";
      if (p.line) o << " at " << site(p.file, p.line);
      break;
    case PeerState::exited:
      o << " exited (code " << p.exit_code << ")";
      break;
    case PeerState::killed:
      o << (leak ? " is gone without an exit record (killed, crashed, or ended with the program)"
                 : " is gone (killed, or crashed)");
      break;
  }
  if (p.state != PeerState::stuck && p.line) {
    o << " after its last rendezvous at " << site(p.file, p.line);
    if (p.last_peer > 0) o << " with " << process_label(p.last_peer_name, p.last_peer);
  }
  return o.str();
}

}  // namespace

std::string to_text(const Report& r) {
  std::ostringstream o;
  if (!r.deadlock) {
    o << "ceramic: no deadlock\n";
    return o.str();
  }
  if (r.leak) {
    o << "ceramic: LEAK: " << r.stuck.size() << (r.stuck.size() == 1 ? " thread was" : " threads were")
      << " left blocked forever, ended while blocked or still blocked when the program ended ("
      << kind_name(r.kind) << ")\n";
  } else {
    o << "ceramic: DEADLOCK: " << r.stuck.size()
      << (r.stuck.size() == 1 ? " thread" : " threads") << " can never proceed (" << kind_name(r.kind)
      << ")\n";
  }
  for (const StuckThread& t : r.stuck) {
    o << "\n  " << process_label(t.name, t.pid);
    if (t.tid != t.pid) o << " thread " << t.tid;
    o << " is blocked in " << op_name(t.op);
    if (t.op == trace::WaitOp::join) o << " of " << process_label(t.join_child.name, t.join_pid);
    if (t.line) o << " at " << site(t.file, t.line);
    o << " for " << duration(t.blocked_ns) << "\n";
    if (t.op == trace::WaitOp::join) {
      o << "    its child " << why_not(t.join_child, r.leak) << "\n";
    }
    if (t.op == trace::WaitOp::select && t.waits.empty()) {
      o << "    a select of no cases (select {}): nothing can ever wake it\n";
    }
    for (const BlockedWait& w : t.waits) {
      o << "    " << op_name(w.op) << " on " << channel_label(w.channel) << ":\n";
      bool live = false;
      for (const Peer& p : w.others) {
        o << "      " << why_not(p, r.leak) << "\n";
        live = live || p.state == PeerState::stuck;
      }
      if (!live) {
        o << "      no other live process holds this channel: no one can ever "
          << (w.op == trace::WaitOp::send ? "receive" : "send") << "\n";
      }
    }
  }
  const ProcessNames name_of(r);
  for (const auto& cycle : r.cycles) {
    o << "\n  wait-for cycle: ";
    for (pid_t p : cycle) o << process_label(name_of(p), p) << " -> ";
    o << process_label(name_of(cycle.front()), cycle.front()) << "\n";
  }
  return o.str();
}

}  // namespace ceramic::detector
