// The HTML report: one self-contained file (inline CSS, inline SVG, a few lines of inline
// script for the copy button), that opens from a CI's artefact store with no network.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

#include "ceramic/detector/formats.hpp"
#include "report_util.hpp"
#include "saturate.hpp"

namespace ceramic::detector {
namespace {

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:0 20px 40px}
header.verdict{padding:18px 20px;color:#fff}
header.fail{background:#b3261e}header.pass{background:#2e7d32}
header h1{margin:0 0 4px;font-size:22px}header p{margin:2px 0}
header .meta{opacity:.85;font-size:12px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:18px 0;padding:12px 16px}
h2{font-size:16px;margin:4px 0 10px}
pre{background:#f1f3f5;padding:10px;border-radius:4px;overflow:auto;white-space:pre-wrap;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
code{font:12px ui-monospace,Menlo,Consolas,monospace}
.replay{display:flex;gap:8px;align-items:flex-start}.replay pre{flex:1;margin:0}
button{font:inherit;padding:6px 12px;border:1px solid #8a94a0;border-radius:4px;background:#fff;cursor:pointer}
button:hover{background:#eef1f4}
.graph svg{max-width:100%;height:auto}
.timeline{overflow-x:auto}
.timeline svg text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#1d232a}
.timeline .slice{fill:#f0a202}.timeline .slice.rendezvous{fill:#4f8fd8}
.timeline .slice.timeout{fill:#9aa5b1}.timeline .slice.stuck{fill:#b3261e}
.timeline .slice:hover,.timeline .instant:hover{stroke:#000;stroke-width:1.5}
.timeline .instant{fill:#1d232a}.timeline .flow{stroke:#4f8fd8;stroke-width:1.2;fill:none;opacity:.8}
.timeline .lane{stroke:#e3e6ea}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
ol.steps{font:12px/1.5 ui-monospace,Menlo,Consolas,monospace;padding-left:3.5em;max-height:28em;overflow:auto}
)";

constexpr const char* kScript = R"(
(function () {
  var button = document.getElementById('copy-replay');
  if (!button) return;
  button.addEventListener('click', function () {
    var text = document.getElementById('replay-command').textContent;
    function done(ok) { button.textContent = ok ? 'Copied' : 'Select and copy'; }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(document.getElementById('replay-command'));
      var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
      var ok = false; try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });
})();
)";

std::string label_of(const Timeline::Lane& l) {
  std::string name = l.process.empty() ? std::string("process") : printable(l.process);
  if (name.size() > 22) name = name.substr(0, 21) + "~";
  std::string s = name + " " + std::to_string(l.pid);
  if (l.tid != l.pid) s += "/" + std::to_string(l.tid);
  return s;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// The timeline as inline SVG: a lane a thread, blocked slices as bars (hover: what, where, how
// long, how it ended), instants as ticks, rendezvous as lines from sender to receiver.
std::string timeline_svg(const Timeline& t) {
  // A span of the timeline's own unit: trace time, or the simulator's steps.
  auto span_text = [&t](std::int64_t v) {
    if (t.unit.empty()) return duration(v);
    return std::to_string(v) + " " + t.unit + (v == 1 ? "" : "s");
  };
  constexpr double kLabel = 230, kWidth = 900, kLane = 26, kTop = 24;
  const double height = kTop + kLane * static_cast<double>(t.lanes.size()) + 10;
  std::int64_t start = t.unit == "step" ? 0 : t.end_ns;  // a schedule starts at step 0
  for (const auto& s : t.slices) start = std::min(start, s.begin_ns);
  for (const auto& i : t.instants) start = std::min(start, i.t_ns);
  for (const auto& f : t.flows) start = std::min({start, f.from_ns, f.to_ns});
  const double span = static_cast<double>(std::max<std::int64_t>(1, sat_sub(t.end_ns, start)));
  auto x = [&](std::int64_t ns) {
    double v = static_cast<double>(sat_sub(ns, start)) / span;
    return kLabel + std::clamp(v, 0.0, 1.0) * kWidth;
  };
  auto y = [&](std::size_t lane) { return kTop + kLane * static_cast<double>(lane); };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"timeline\" width=\""
    << fmt(kLabel + kWidth + 20) << "\" height=\"" << fmt(height) << "\">";
  o << "<text x=\"" << fmt(kLabel) << "\" y=\"14\">0</text><text x=\"" << fmt(kLabel + kWidth - 60)
    << "\" y=\"14\">" << escape_markup(span_text(sat_sub(t.end_ns, start))) << "</text>";
  for (std::size_t i = 0; i < t.lanes.size(); ++i) {
    o << "<line class=\"lane\" x1=\"" << fmt(kLabel) << "\" x2=\"" << fmt(kLabel + kWidth)
      << "\" y1=\"" << fmt(y(i) + kLane / 2) << "\" y2=\"" << fmt(y(i) + kLane / 2) << "\"/>";
    o << "<text x=\"4\" y=\"" << fmt(y(i) + kLane / 2 + 4) << "\">" << escape_markup(label_of(t.lanes[i]))
      << "</text>";
  }
  for (const auto& s : t.slices) {
    if (s.lane >= t.lanes.size()) continue;
    const std::string cls = s.outcome == "still blocked" ? "stuck" : s.outcome;
    const double x0 = x(s.begin_ns), w = std::max(2.0, x(s.end_ns) - x0);
    o << "<rect class=\"slice " << escape_markup(cls) << "\" x=\"" << fmt(x0) << "\" y=\"" << fmt(y(s.lane) + 5)
      << "\" width=\"" << fmt(w) << "\" height=\"" << fmt(kLane - 10) << "\"><title>"
      << escape_markup(label_of(t.lanes[s.lane])) << ": blocked in " << escape_markup(s.what)
      << (s.site.empty() ? "" : " at " + escape_markup(s.site)) << " for "
      << escape_markup(span_text(sat_sub(s.end_ns, s.begin_ns))) << " (" << escape_markup(s.outcome) << ")</title></rect>";
  }
  for (const auto& f : t.flows) {
    if (f.from_lane >= t.lanes.size() || f.to_lane >= t.lanes.size()) continue;
    o << "<line class=\"flow\" x1=\"" << fmt(x(f.from_ns)) << "\" y1=\"" << fmt(y(f.from_lane) + kLane / 2)
      << "\" x2=\"" << fmt(x(f.to_ns)) << "\" y2=\"" << fmt(y(f.to_lane) + kLane / 2) << "\"><title>"
      << "rendezvous on #" << short_id(f.channel) << ": " << escape_markup(label_of(t.lanes[f.from_lane]))
      << " sent, " << escape_markup(label_of(t.lanes[f.to_lane])) << " received</title></line>";
  }
  for (const auto& i : t.instants) {
    if (i.lane >= t.lanes.size()) continue;
    const double xi = x(i.t_ns), yi = y(i.lane);
    o << "<rect class=\"instant\" x=\"" << fmt(xi - 1) << "\" y=\"" << fmt(yi + 3) << "\" width=\"2\" height=\""
      << fmt(kLane - 6) << "\"><title>" << escape_markup(label_of(t.lanes[i.lane])) << ": " << escape_markup(i.what)
      << (i.site.empty() ? "" : " at " + escape_markup(i.site)) << "</title></rect>";
  }
  o << "</svg>";
  return o.str();
}

// A long run leaves hundreds of threads in the trace. Keep the ones the report names (stuck, and
// the peers that could have answered) and then the most recently active, up to max_lanes; drop
// what happened on the others. Returns how many lanes were left out.
std::size_t focus(Timeline& t, const Report& r, std::size_t max_lanes) {
  if (t.lanes.size() <= max_lanes) return 0;
  std::vector<std::int64_t> last(t.lanes.size(), INT64_MIN);
  for (const auto& s : t.slices) last[s.lane] = std::max(last[s.lane], s.end_ns);
  for (const auto& i : t.instants) last[i.lane] = std::max(last[i.lane], i.t_ns);
  std::vector<std::size_t> order(t.lanes.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto named = [&](std::size_t lane) {
    for (const auto& st : r.stuck) {
      if (st.pid == t.lanes[lane].pid) return true;
    }
    for (const auto& p : r.processes) {
      if (p.pid == t.lanes[lane].pid) return true;
    }
    return false;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    bool na = named(a), nb = named(b);
    if (na != nb) return na;
    return last[a] > last[b];
  });
  order.resize(max_lanes);
  std::sort(order.begin(), order.end());  // keep the order of first appearance
  std::vector<std::size_t> remap(t.lanes.size(), SIZE_MAX);
  Timeline kept;
  kept.end_ns = t.end_ns;
  for (std::size_t lane : order) {
    remap[lane] = kept.lanes.size();
    kept.lanes.push_back(t.lanes[lane]);
  }
  for (auto s : t.slices) {
    if (remap[s.lane] == SIZE_MAX) continue;
    s.lane = remap[s.lane];
    kept.slices.push_back(std::move(s));
  }
  for (auto i : t.instants) {
    if (remap[i.lane] == SIZE_MAX) continue;
    i.lane = remap[i.lane];
    kept.instants.push_back(std::move(i));
  }
  for (auto f : t.flows) {
    if (remap[f.from_lane] == SIZE_MAX || remap[f.to_lane] == SIZE_MAX) continue;
    f.from_lane = remap[f.from_lane];
    f.to_lane = remap[f.to_lane];
    kept.flows.push_back(f);
  }
  const std::size_t dropped = t.lanes.size() - kept.lanes.size();
  t = std::move(kept);
  // Begin where the kept lanes other than the stuck ones begin: the stuck threads' long history
  // with the lanes left out would squeeze the end, where the deadlock is, into a few pixels.
  std::int64_t start = INT64_MAX;
  auto stuck = [&](std::size_t lane) {
    for (const auto& st : r.stuck) {
      if (st.pid == t.lanes[lane].pid) return true;
    }
    return false;
  };
  for (const auto& s : t.slices) {
    if (!stuck(s.lane)) start = std::min(start, s.begin_ns);
  }
  for (const auto& i : t.instants) {
    if (!stuck(i.lane)) start = std::min(start, i.t_ns);
  }
  if (start != INT64_MAX) {
    std::erase_if(t.instants, [&](const Timeline::Instant& i) { return i.t_ns < start; });
    std::erase_if(t.flows, [&](const Timeline::Flow& f) { return f.from_ns < start || f.to_ns < start; });
    std::erase_if(t.slices, [&](const Timeline::Slice& s) { return s.end_ns < start; });
    for (auto& s : t.slices) s.begin_ns = std::max(s.begin_ns, start);
  }
  return dropped;
}

constexpr std::size_t kMaxLanes = 9;

}  // namespace

std::string to_html(const ReportDocument& d) {
  const std::string verdict = d.verdict.empty() ? (d.failed ? "failed" : "passed") : d.verdict;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>ceramic: " << escape_markup(verdict) << (d.name.empty() ? "" : " — " + escape_markup(d.name))
    << "</title><style>" << kStyle << "</style></head><body>\n";
  o << "<header class=\"verdict " << (d.failed ? "fail" : "pass") << "\" id=\"verdict\"><h1>"
    << (d.failed ? "ceramic found a failure" : "ceramic: no failure") << "</h1><p>" << escape_markup(verdict)
    << "</p><p class=\"meta\">" << escape_markup(d.tool) << (d.name.empty() ? "" : " · " + escape_markup(d.name));
  if (d.seconds > 0) o << " · " << fmt(d.seconds) << " s";
  o << "</p></header>\n<main>\n";

  if (!d.replay.empty() || !d.schedule.empty()) {
    o << "<section id=\"replay\"><h2>Replay</h2>";
    if (!d.replay.empty()) {
      o << "<div class=\"replay\"><pre id=\"replay-command\">" << escape_markup(d.replay)
        << "</pre><button id=\"copy-replay\" type=\"button\">Copy</button></div>";
    }
    if (!d.schedule.empty()) {
      o << "<p>Schedule: <code id=\"schedule\">" << escape_markup(d.schedule) << "</code></p>";
    }
    o << "</section>\n";
  }

  if (d.report.deadlock) {
    o << "<section id=\"graph\" class=\"graph\"><h2>Wait-for graph</h2>";
    const std::string dot = to_dot(d.report);
    if (auto svg = render_svg(dot)) {
      o << *svg;
    } else {
      o << "<p>Graphviz's <code>dot</code> was not found when this report was written; the graph "
           "in DOT (render it with <code>dot -Tsvg</code>):</p><pre id=\"graph-dot\">"
        << escape_markup(dot) << "</pre>";
    }
    o << "</section>\n";
  }

  if (d.timeline) {
    o << "<section id=\"timeline\" class=\"timeline\"><h2>Timeline</h2>";
    if (d.timeline->lanes.empty()) {
      o << "<p>No events were recorded.</p>";
    } else {
      o << "<p class=\"legend\"><span><i style=\"background:#4f8fd8\"></i>waited, then met a "
           "partner</span><span><i style=\"background:#f0a202\"></i>waited, woken</span><span><i "
           "style=\"background:#9aa5b1\"></i>timed out</span><span><i "
           "style=\"background:#b3261e\"></i>still blocked</span><span>lines: rendezvous; ticks: "
           "spawn, exit, close, kill. Hover for details.</span></p>";
      if (d.timeline->unit == "step") {
        o << "<p>Time runs in the schedule's steps: one transition a step, in the order the "
             "replay takes them.</p>";
      }
      Timeline t = *d.timeline;
      const std::size_t total = t.lanes.size();
      if (std::size_t dropped = focus(t, d.report, kMaxLanes)) {
        o << "<p>" << t.lanes.size() << " of " << total
          << " threads: those the report names, then the most recently active (" << dropped
          << " not shown; <code>ceramic-trace chrome</code> exports them all).</p>";
      }
      o << timeline_svg(t);
    }
    o << "</section>\n";
  }

  if (!d.text.empty()) {
    o << "<section id=\"report\"><h2>Report</h2><pre>" << escape_markup(d.text) << "</pre></section>\n";
  }
  if (!d.steps.empty()) {
    o << "<section id=\"steps\"><h2>Steps</h2><ol class=\"steps\">";
    for (const auto& s : d.steps) {
      // "12. main meets B": the number becomes the item's own.
      std::size_t digits = 0;
      while (digits < s.size() && digits < 9 && s[digits] >= '0' && s[digits] <= '9') ++digits;
      if (digits > 0 && s.compare(digits, 2, ". ") == 0) {
        o << "<li value=\"" << s.substr(0, digits) << "\">" << escape_markup(s.substr(digits + 2)) << "</li>";
      } else {
        o << "<li>" << escape_markup(s) << "</li>";
      }
    }
    o << "</ol></section>\n";
  }
  if (!d.coverage.empty()) {
    o << "<section id=\"coverage\"><h2>Concurrency coverage</h2><pre>" << escape_markup(d.coverage)
      << "</pre></section>\n";
  }
  if (!d.output.empty()) {
    o << "<section id=\"output\"><h2>Program output</h2><pre>" << escape_markup(d.output)
      << "</pre></section>\n";
  }
  o << "</main><script>" << kScript << "</script></body></html>\n";
  return o.str();
}

}  // namespace ceramic::detector
