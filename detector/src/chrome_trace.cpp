// The timeline (timeline.hpp) as Chrome trace-event JSON, for ui.perfetto.dev.
#include "ceramic/detector/chrome_trace.hpp"

#include <nlohmann/json.hpp>

#include "ceramic/detector/timeline.hpp"
#include "report_util.hpp"
#include "saturate.hpp"

namespace ceramic::detector {
namespace {

using nlohmann::json;

double us(std::int64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

std::string to_chrome_json(const Snapshot& s, const std::vector<EventInfo>& events) {
  const Timeline t = build_timeline(s, events);
  json out = json::array();
  for (const Timeline::Lane& l : t.lanes) {  // track names: one process per pid, a thread per tid
    std::string pname = l.process.empty() ? "process" : l.process;
    out.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", l.pid}, {"tid", l.tid},
                   {"args", {{"name", pname + " (" + std::to_string(l.pid) + ")"}}}});
    out.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", l.pid}, {"tid", l.tid},
                   {"args", {{"name", "thread " + std::to_string(l.tid)}}}});
  }
  for (const Timeline::Slice& x : t.slices) {
    const Timeline::Lane& l = t.lanes[x.lane];
    json args = {{"outcome", x.outcome}};
    if (!x.site.empty()) args["site"] = x.site;
    out.push_back({{"ph", "X"}, {"name", "blocked: " + x.what}, {"cat", "wait"}, {"pid", l.pid},
                   {"tid", l.tid}, {"ts", us(x.begin_ns)},
                   {"dur", us(sat_sub(x.end_ns, x.begin_ns))}, {"args", args}});
  }
  for (const Timeline::Instant& i : t.instants) {
    const Timeline::Lane& l = t.lanes[i.lane];
    json args = json::object();
    if (!i.site.empty()) args["site"] = i.site;
    out.push_back({{"ph", "i"}, {"s", "t"}, {"name", i.what}, {"pid", l.pid}, {"tid", l.tid},
                   {"ts", us(i.t_ns)}, {"args", args}});
  }
  std::uint64_t flow = 0;
  for (const Timeline::Flow& f : t.flows) {
    const Timeline::Lane& a = t.lanes[f.from_lane];
    const Timeline::Lane& b = t.lanes[f.to_lane];
    ++flow;
    out.push_back({{"ph", "s"}, {"id", flow}, {"name", "rendezvous"}, {"cat", "rendezvous"},
                   {"pid", a.pid}, {"tid", a.tid}, {"ts", us(f.from_ns)}});
    out.push_back({{"ph", "f"}, {"bp", "e"}, {"id", flow}, {"name", "rendezvous"},
                   {"cat", "rendezvous"}, {"pid", b.pid}, {"tid", b.tid}, {"ts", us(f.to_ns)}});
  }
  return json{{"traceEvents", out}, {"displayTimeUnit", "ns"}}.dump(
             -1, ' ', false, json::error_handler_t::replace) +
         "\n";
}

}  // namespace ceramic::detector
