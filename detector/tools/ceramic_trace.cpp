// ceramic-trace: reads a trace file written under CERAMIC_TRACE (e.g. kept by
// `ceramic-run --trace FILE`).
//
//   ceramic-trace dump FILE                 the processes, channels and events, readable
//   ceramic-trace chrome FILE [-o OUT]      Chrome trace-event JSON for Perfetto UI
//   ceramic-trace analyze FILE [--dot F] [--json F]
//                                           the deadlock analysis of the saved state
// Exit status: 0; analyze: 3 if the saved state is deadlocked; 2 for an unreadable file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/chrome_trace.hpp"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Reads a ceramic trace file: dump, export to Chrome trace JSON, or analyse."};
  app.require_subcommand(1);
  std::string file, out_path, dot_path, json_path;
  auto* dump_cmd = app.add_subcommand("dump", "print the processes, channels and events");
  dump_cmd->add_option("file", file, "trace file")->required();
  auto* chrome_cmd = app.add_subcommand("chrome", "export Chrome trace-event JSON (Perfetto UI)");
  chrome_cmd->add_option("file", file, "trace file")->required();
  chrome_cmd->add_option("-o,--output", out_path, "output file (default: standard output)");
  auto* analyze_cmd = app.add_subcommand("analyze", "deadlock analysis of the saved state");
  analyze_cmd->add_option("file", file, "trace file")->required();
  analyze_cmd->add_option("--dot", dot_path, "write the wait-for graph (Graphviz DOT)");
  analyze_cmd->add_option("--json", json_path, "write the report as JSON");
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
    Report r = analyze(f.snapshot(false));
    std::fputs(to_text(r).c_str(), stdout);
    if (!dot_path.empty() && !write_file(dot_path, to_dot(r))) return 1;
    if (!json_path.empty() && !write_file(json_path, to_json(r))) return 1;
    return r.deadlock ? 3 : 0;
  } catch (const TraceError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
