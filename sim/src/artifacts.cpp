#include "artifacts.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "ceramic/detector/formats.hpp"

namespace ceramic::sim::detail {
namespace {

std::string program_name() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string path = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "program";
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// %p: this process's id; %n: the scenario, with anything but [A-Za-z0-9._-] as '_'.
std::string expand(const std::string& pattern, const std::string& scenario) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '%' && i + 1 < pattern.size()) {
      char c = pattern[i + 1];
      if (c == 'p') {
        out += std::to_string(getpid());
        ++i;
        continue;
      }
      if (c == 'n') {
        for (char ch : scenario) {
          bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '.' || ch == '_' || ch == '-';
          out += ok ? ch : '_';
        }
        ++i;
        continue;
      }
    }
    out += pattern[i];
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "ceramic sim: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
  }
}

detector::ReportDocument document_of(const Result& r, const std::string& name) {
  detector::ReportDocument d;
  d.tool = "ceramic-sim";
  d.name = name;
  d.failed = r.failed;
  d.seconds = r.seconds;
  if (r.failed) {
    const std::string kind = to_string(r.failure);
    d.verdict = r.info.summary.rfind(kind, 0) == 0 ? r.info.summary : kind + ": " + r.info.summary;
    d.text = r.report;
    if (r.info.graph) d.report = *r.info.graph;
    d.schedule = r.schedule;
    d.replay = r.replay.substr(0, r.replay.find('\n'));  // the command; the rest is the C++ call
    d.steps = r.info.steps;
    if (!r.info.timeline.lanes.empty()) d.timeline = r.info.timeline;
    d.output = r.output;
  } else {
    d.verdict = "passed: " + std::to_string(r.schedules) + " schedules" +
                (r.complete ? " (every interleaving)" : "") + ", no failure";
  }
  if (!r.coverage.sites.empty()) d.coverage = to_table(r.coverage);
  return d;
}

}  // namespace

void write_artifacts(const Options& o, const Result& r) {
  if (o.html.empty() && o.junit.empty()) return;
  // Every exploration of this process, for the JUnit file (one test case each).
  static std::mutex mu;
  static std::vector<detector::ReportDocument> explored;
  std::lock_guard<std::mutex> lock(mu);
  const std::string name =
      o.name.empty() ? program_name() + " #" + std::to_string(explored.size() + 1) : o.name;
  detector::ReportDocument d = document_of(r, name);
  if (!o.html.empty() && r.failed) write_file(expand(o.html, name), detector::to_html(d));
  if (!o.junit.empty()) {
    explored.push_back(std::move(d));
    write_file(expand(o.junit, name), detector::to_junit(explored));
  }
}

}  // namespace ceramic::sim::detail
