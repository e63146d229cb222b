// ceramic-trace: reads a trace file written under CERAMIC_TRACE (e.g. kept by
// `ceramic-run --trace FILE`).
//
//   ceramic-trace dump FILE                 the processes, channels and events, readable
//   ceramic-trace chrome FILE [-o OUT]      Chrome trace-event JSON for Perfetto UI
//   ceramic-trace analyze FILE [--text|--json|--dot|--html|--junit F]...
//                                           the deadlock (and leak) analysis of the saved state
//   ceramic-trace html FILE [-o OUT]        the HTML report: graph, timeline, report
// Exit status: 0; analyze and html: 3 if the saved state is deadlocked or leaked; 2 for an
// unreadable file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/chrome_trace.hpp"
#include "ceramic/detector/formats.hpp"
#include "ceramic/detector/leaks.hpp"
#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"
#include "../src/report_util.hpp"

namespace {

using namespace ceramic::detector;
using ceramic::trace::EventKind;
using ceramic::trace::ThreadState;

const char* kind_name(EventKind k) {
  switch (k) {
    case EventKind::spawn: return "spawn";
    case EventKind::start: return "start";
    case EventKind::exit: return "exit";
    case EventKind::block: return "block";
    case EventKind::unblock: return "unblock";
    case EventKind::rendezvous: return "rendezvous";
    case EventKind::close: return "close";
    case EventKind::timeout: return "timeout";
    case EventKind::join_begin: return "join";
    case EventKind::join_end: return "joined";
    case EventKind::channel: return "channel";
    case EventKind::kill: return "kill";
  }
  return "?";
}

const char* state_name(ThreadState s) {
  switch (s) {
    case ThreadState::running: return "running";
    case ThreadState::blocked: return "blocked";
    case ThreadState::exited: return "exited";
    case ThreadState::finished: return "finished";
  }
  return "?";
}

void dump(const TraceFile& f) {
  Snapshot s = f.snapshot(false);
  std::printf("trace of pid %d: %zu threads, %zu channels\n", s.root_pid, s.threads.size(),
              s.channels.size());
  if (s.dropped_threads || s.dropped_channels || s.dropped_strings) {
    std::printf("  (table full: %u threads, %u channels, %u strings not recorded)\n",
                s.dropped_threads, s.dropped_channels, s.dropped_strings);
  }
  std::printf("\nthreads:\n");
  for (const ThreadInfo& t : s.threads) {
    std::printf("  %-24s tid %-7d %-8s", process_label(t.name, t.pid).c_str(), t.tid,
                state_name(t.state));
    if (t.blocked()) {
      std::printf(" %s", op_name(t.op));
      for (const Wait& w : t.waits) std::printf(" #%s", short_id(w.channel).c_str());
      if (t.join_pid) std::printf(" pid %d", t.join_pid);
      std::printf(" at %s%s", site(t.file, t.line).c_str(), t.has_deadline ? " (deadline)" : "");
    }
    if (t.state == ThreadState::exited) std::printf(" code %d", t.exit_code);
    std::printf("  ops %llu\n", static_cast<unsigned long long>(t.ops));
  }
  std::printf("\nchannels:\n");
  for (const ChannelInfo& c : s.channels) {
    std::printf("  #%s cap %u made by pid %d at %s%s%s  holders:", short_id(c.id).c_str(),
                c.capacity, c.creator_pid, site(c.file, c.line).c_str(),
                c.name.empty() ? "" : (" name '" + c.name + "'").c_str(), c.closed ? " closed" : "");
    for (pid_t h : c.holders) std::printf(" %d", h);
    if (c.overflow) std::printf(" ...");
    std::printf("\n");
  }
  std::printf("\nevents (oldest first):\n");
  for (const EventInfo& e : f.events()) {
    std::printf("  %12.3f us  pid %-7d tid %-7d %-10s %-6s", static_cast<double>(e.t_ns) / 1000.0,
                e.pid, e.tid, kind_name(e.kind), op_name(e.op));
    if (e.channel) std::printf(" #%s", short_id(e.channel).c_str());
    if (e.peer) std::printf(" peer %d", e.peer);
    if (e.line) std::printf(" at %s", site(e.file, e.line).c_str());
    std::printf("\n");
  }
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) {
    std::fprintf(stderr, "ceramic-trace: cannot write %s\n", path.c_str());
    return false;
  }
  return true;
}

// The saved state's analysis as a document: a deadlock, else a leak (threads recorded as blocked
// forever when the trace ended), else nothing.
ReportDocument document_of(const TraceFile& f, const std::string& file) {
  ReportDocument d;
  d.tool = "ceramic-trace";
  d.name = file;
  Snapshot s = f.snapshot(false);
  std::vector<EventInfo> events = f.events();
  d.report = analyze(s);
  if (!d.report.deadlock) {
    Report leaks = find_leaks(s, events);
    if (leaks.leak) d.report = std::move(leaks);
  }
  const Report& r = d.report;
  d.failed = r.deadlock;
  if (r.deadlock) {
    d.verdict = std::string(r.leak ? "leak: " : "deadlock: ") + std::to_string(r.stuck.size()) +
                (r.stuck.size() == 1 ? " thread" : " threads") +
                (r.leak ? " left blocked forever (" : " can never proceed (") + kind_name(r.kind) +
                ")";
    d.text = to_text(r);
  } else {
    d.verdict = "passed: no deadlock and no leak in the saved state";
  }
  d.timeline = build_timeline(s, events);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reads a ceramic trace file: dump, export to Chrome trace JSON, or analyse."};
  app.require_subcommand(1);
  std::string file, out_path;
  std::vector<std::string> outputs(formats().size());  // analyze --text/--json/--dot/--html/--junit
  auto* dump_cmd = app.add_subcommand("dump", "print the processes, channels and events");
  dump_cmd->add_option("file", file, "trace file")->required();
  auto* chrome_cmd = app.add_subcommand("chrome", "export Chrome trace-event JSON (Perfetto UI)");
  chrome_cmd->add_option("file", file, "trace file")->required();
  chrome_cmd->add_option("-o,--output", out_path, "output file (default: standard output)");
  auto* analyze_cmd = app.add_subcommand("analyze", "deadlock analysis of the saved state");
  analyze_cmd->add_option("file", file, "trace file")->required();
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    analyze_cmd->add_option(std::string("--") + formats()[i].name, outputs[i], formats()[i].help)
        ->type_name("FILE");
  }
  auto* html_cmd = app.add_subcommand("html", "write the HTML report (graph, timeline, report)");
  html_cmd->add_option("file", file, "trace file")->required();
  html_cmd->add_option("-o,--output", out_path, "output file (default: FILE.html)");
  CLI11_PARSE(app, argc, argv);

  try {
    TraceFile f = TraceFile::load(file);
    if (*dump_cmd) {
      dump(f);
      return 0;
    }
    if (*chrome_cmd) {
      std::string json = to_chrome_json(f.snapshot(false), f.events());
      if (out_path.empty()) {
        std::fwrite(json.data(), 1, json.size(), stdout);
        return 0;
      }
      return write_file(out_path, json) ? 0 : 1;
    }
    ReportDocument d = document_of(f, file);
    if (*html_cmd) {
      if (out_path.empty()) out_path = file + ".html";
      if (!write_file(out_path, to_html(d))) return 1;
      std::printf("%s: %s\n", out_path.c_str(), d.verdict.c_str());
      return d.failed ? 3 : 0;
    }
    std::fputs(d.report.deadlock ? d.text.c_str() : to_text(d.report).c_str(), stdout);
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (!outputs[i].empty() && !write_file(outputs[i], formats()[i].render(d))) return 1;
    }
    return d.failed ? 3 : 0;
  } catch (const TraceError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
