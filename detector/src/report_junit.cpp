// JUnit XML: what GitLab's and Jenkins' test report parsers read (testsuites > testsuite >
// testcase, a <failure> with message and type attributes and the details as text).
#include <ctime>
#include <map>
#include <sstream>
#include <string>

#include "ceramic/detector/formats.hpp"
#include "report_util.hpp"

namespace ceramic::detector {
namespace {


std::string seconds(double s) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(3);
  o << (s > 0 ? s : 0.0);
  return o.str();
}

std::string now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string failure_type(const ReportDocument& d) {
  if (d.report.leak) return "leak";
  if (d.report.deadlock) return "deadlock";
  auto colon = d.verdict.find(':');
  return colon == std::string::npos || colon == 0 ? "failure" : d.verdict.substr(0, colon);
}

}  // namespace

std::string to_junit(std::span<const ReportDocument> docs) {
  // One suite per tool, in the order the tools first appear.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const ReportDocument*>> suites;
  for (const auto& d : docs) {
    const std::string tool = d.tool.empty() ? "ceramic" : d.tool;
    if (!suites.count(tool)) order.push_back(tool);
    suites[tool].push_back(&d);
  }
  std::size_t failures = 0;
  double total = 0;
  for (const auto& d : docs) {
    failures += d.failed ? 1 : 0;
    total += d.seconds > 0 ? d.seconds : 0;
  }
  const std::string stamp = now_iso8601();
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    << "<testsuites name=\"ceramic\" tests=\"" << docs.size() << "\" failures=\"" << failures
    << "\" errors=\"0\" time=\"" << seconds(total) << "\">\n";
  for (const auto& tool : order) {
    const auto& cases = suites[tool];
    std::size_t f = 0;
    double t = 0;
    for (const auto* d : cases) {
      f += d->failed ? 1 : 0;
      t += d->seconds > 0 ? d->seconds : 0;
    }
    o << "  <testsuite name=\"" << escape_markup(tool) << "\" tests=\"" << cases.size() << "\" failures=\""
      << f << "\" errors=\"0\" skipped=\"0\" time=\"" << seconds(t) << "\" timestamp=\"" << stamp
      << "\">\n";
    for (const auto* d : cases) {
      o << "    <testcase classname=\"" << escape_markup(tool) << "\" name=\""
        << escape_markup(d->name.empty() ? tool : d->name) << "\" time=\"" << seconds(d->seconds) << "\"";
      if (!d->failed) {
        o << "/>\n";
        continue;
      }
      o << ">\n      <failure message=\"" << escape_markup(d->verdict) << "\" type=\"" << escape_markup(failure_type(*d))
        << "\">" << escape_markup(d->text);
      if (!d->replay.empty()) o << "\nreplay: " << escape_markup(d->replay);
      if (!d->schedule.empty()) o << "\nschedule: " << escape_markup(d->schedule);
      o << "</failure>\n";
      if (!d->output.empty()) o << "      <system-out>" << escape_markup(d->output) << "</system-out>\n";
      o << "    </testcase>\n";
    }
    o << "  </testsuite>\n";
  }
  o << "</testsuites>\n";
  return o.str();
}

}  // namespace ceramic::detector
