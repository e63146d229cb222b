#include <nlohmann/json.hpp>

#include "ceramic/detector/report.hpp"
#include "report_util.hpp"

namespace ceramic::detector {
namespace {

using nlohmann::json;

const char* state_name(PeerState s) {
  switch (s) {
    case PeerState::stuck: return "stuck";
    case PeerState::exited: return "exited";
    case PeerState::killed: return "killed";
  }
  return "?";
}

json peer_json(const Peer& p) {
  json j{{"pid", p.pid}, {"name", p.name}, {"state", state_name(p.state)}};
  if (p.state == PeerState::exited) j["exit_code"] = p.exit_code;
  if (p.line) j["site"] = {{"file", p.file}, {"line", p.line}};
  if (p.last_peer > 0) j["last_peer"] = {{"pid", p.last_peer}, {"name", p.last_peer_name}};
  return j;
}

json channel_json(const ChannelRef& c) {
  json j{{"id", short_id(c.id)}, {"id64", c.id}, {"capacity", c.capacity}};
  if (!c.name.empty()) j["name"] = c.name;
  if (c.line) j["created"] = {{"file", c.file}, {"line", c.line}};
  return j;
}

}  // namespace

std::string to_json(const Report& r) {
  json j;
  j["deadlock"] = r.deadlock;
  if (r.deadlock) j["kind"] = kind_name(r.kind);
  if (r.leak) j["leak"] = true;
  j["stuck"] = json::array();
  for (const StuckThread& t : r.stuck) {
    json s{{"pid", t.pid},
           {"tid", t.tid},
           {"name", t.name},
           {"op", op_name(t.op)},
           {"site", {{"file", t.file}, {"line", t.line}}},
           {"blocked_ns", t.blocked_ns}};
    if (t.op == trace::WaitOp::join) s["join"] = peer_json(t.join_child);
    s["waits"] = json::array();
    for (const BlockedWait& w : t.waits) {
      json wj{{"op", op_name(w.op)}, {"channel", channel_json(w.channel)}};
      wj["others"] = json::array();
      for (const Peer& p : w.others) wj["others"].push_back(peer_json(p));
      s["waits"].push_back(std::move(wj));
    }
    j["stuck"].push_back(std::move(s));
  }
  j["channels"] = json::array();
  for (const ChannelRef& c : r.channels) j["channels"].push_back(channel_json(c));
  j["processes"] = json::array();
  for (const Peer& p : r.processes) j["processes"].push_back(peer_json(p));
  j["cycles"] = r.cycles;
  // Names come from the traced program: invalid UTF-8 is replaced, never thrown.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace ceramic::detector
