// ceramic detector — every report format in one table, shared by ceramic-run, ceramic-trace and
// the simulator. A tool fills one ReportDocument with what it knows, and writes each format the
// user asked for through the table: a new format is one row here and one printer.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ceramic/detector/report.hpp"
#include "ceramic/detector/timeline.hpp"

namespace ceramic::detector {

// One run (ceramic-run), one saved trace (ceramic-trace) or one explored scenario (the
// simulator): the report and what the tool knows besides.
struct ReportDocument {
  std::string tool;       // "ceramic-run", "ceramic-trace", "ceramic-sim": the JUnit suite
  std::string name;       // the program and its arguments, or the scenario: the JUnit test case
  bool failed = false;    // a deadlock, a leak, a crash, a failed check
  std::string verdict;    // one line: "deadlock: 2 threads can never proceed (cycle)", "passed"
  std::string text;       // the full text report ("" when it passed)
  Report report;          // the wait-for graph (report.deadlock false: none to draw)
  std::optional<Timeline> timeline;  // from a trace's events (live runs, saved traces), or the
                                     // simulator's failing schedule (in steps)
  double seconds = 0;     // how long the run or exploration took
  // The simulator's: the failing schedule, the exact command that replays it, the numbered
  // steps that led there, and the concurrency coverage table.
  std::string schedule;
  std::string replay;
  std::vector<std::string> steps;
  std::string coverage;
  std::string output;     // what the program printed (the tail), if the tool kept it
};

enum class Format { text, json, dot, html, junit };

struct FormatSpec {
  Format format;
  const char* name;    // "html": the tools' --html FILE, CERAMIC_SIM_OPTIONS html=FILE
  const char* help;    // for --help
  std::string (*render)(const ReportDocument&);
};

// The table, in Format's order (formats()[i].format == Format(i)): the order the tools list
// their options in.
std::span<const FormatSpec> formats();
const FormatSpec* find_format(std::string_view name);

// The printers behind the table. to_html renders the wait-for graph with Graphviz's dot at
// report time (inline SVG); without dot, it shows the DOT source instead. Neither the HTML nor
// its SVG load anything from the network.
std::string to_html(const ReportDocument&);
// JUnit XML (the schema GitLab and Jenkins read): one test suite per tool, one test case per
// document; a failed document carries a <failure> with the report and the replay line.
std::string to_junit(std::span<const ReportDocument>);

// The wait-for graph as SVG, rendered by `dot -Tsvg` (searched on PATH; at most 10 s). nullopt
// when dot is missing or fails.
std::optional<std::string> render_svg(const std::string& dot_source);

}  // namespace ceramic::detector
