// The table of report formats (formats.hpp).
#include <array>

#include "ceramic/detector/formats.hpp"

namespace ceramic::detector {
namespace {

std::string text_of(const ReportDocument& d) {
  if (!d.text.empty()) return d.text;
  return d.report.deadlock ? to_text(d.report) : d.verdict + "\n";
}
std::string json_of(const ReportDocument& d) { return to_json(d.report); }
std::string dot_of(const ReportDocument& d) { return to_dot(d.report); }
std::string junit_of(const ReportDocument& d) { return to_junit(std::span(&d, 1)); }

constexpr std::array<FormatSpec, 5> kFormats{{
    {Format::text, "text", "write the text report to FILE", &text_of},
    {Format::json, "json", "write the report as JSON to FILE", &json_of},
    {Format::dot, "dot", "write the wait-for graph as Graphviz DOT to FILE", &dot_of},
    {Format::html, "html",
     "write a self-contained HTML report to FILE (graph, timeline, report; opens offline)",
     &to_html},
    {Format::junit, "junit", "write JUnit XML to FILE (one test case for this run)", &junit_of},
}};

// The tools index their per-format options by the enum.
constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    if (static_cast<std::size_t>(kFormats[i].format) != i) return false;
  }
  return true;
}
static_assert(in_enum_order(), "formats() must list the formats in Format's order");

}  // namespace

std::span<const FormatSpec> formats() { return kFormats; }

const FormatSpec* find_format(std::string_view name) {
  for (const auto& f : kFormats) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

}  // namespace ceramic::detector
