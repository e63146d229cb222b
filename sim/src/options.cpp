// ceramic::sim — options from text: CERAMIC_SIM_OPTIONS and the ceramic-sim tool.
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "ceramic/sim/sim.hpp"

namespace ceramic::sim {
namespace {

bool is_separator(char c) { return c == ' ' || c == ',' || c == '\t' || c == '\n'; }

// A whole non-negative decimal number no larger than max.
bool number(std::string_view v, std::uint64_t max, std::uint64_t* out) {
  if (v.empty()) return false;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n > max) return false;
  *out = n;
  return true;
}

bool duration(std::string_view v, std::chrono::milliseconds* out) {
  std::size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
  std::string_view unit = v.substr(digits);
  std::uint64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else return false;
  std::uint64_t n = 0;
  // At most 100 days, far below any overflow of milliseconds.
  if (!number(v.substr(0, digits), 8'640'000'000 / scale, &n)) return false;
  *out = std::chrono::milliseconds(static_cast<std::int64_t>(n * scale));
  return true;
}

// Applies one key=value to o; returns what is wrong, or "".
std::string apply(std::string_view key, std::string_view v, Options& o) {
  std::uint64_t n = 0;
  constexpr std::uint64_t kSize = std::numeric_limits<std::size_t>::max();
  if (key == "strategy") {
    if (v == "random") o.strategy = Strategy::random;
    else if (v == "pct") o.strategy = Strategy::pct;
    else if (v == "dfs") o.strategy = Strategy::dfs;
    else return "is random, pct or dfs";
  } else if (key == "iterations") {
    if (!number(v, kSize, &n) || n == 0) return "is a number of schedules, at least 1";
    o.iterations = n;
  } else if (key == "seed") {
    if (!number(v, UINT64_MAX, &n)) return "is a non-negative integer";
    o.seed = n;
  } else if (key == "depth") {
    if (!number(v, 1000, &n) || n == 0) return "is PCT's bug depth, 1 to 1000";
    o.pct_depth = static_cast<int>(n);
  } else if (key == "unbuffered") {
    if (v == "1" || v == "true") o.force_unbuffered = true;
    else if (v == "0" || v == "false") o.force_unbuffered = false;
    else return "is 0 or 1";
  } else if (key == "reduction") {
    if (v == "1" || v == "true") o.partial_order_reduction = true;
    else if (v == "0" || v == "false") o.partial_order_reduction = false;
    else return "is 0 or 1";
  } else if (key == "max_steps") {
    if (!number(v, kSize, &n) || n == 0) return "is a number of transitions, at least 1";
    o.max_steps = n;
  } else if (key == "time") {
    if (!duration(v, &o.time_budget)) return "is a duration such as 500ms, 90s, 10m or 2h";
  } else if (key == "step_timeout") {
    std::chrono::milliseconds d{};
    if (!duration(v, &d) || d.count() == 0) return "is a positive duration such as 500ms or 10s";
    o.step_timeout = d;
  } else if (key == "shard") {
    std::size_t slash = v.find('/');
    std::uint64_t i = 0, count = 0;
    if (slash == std::string_view::npos || !number(v.substr(0, slash), UINT32_MAX, &i) ||
        !number(v.substr(slash + 1), UINT32_MAX, &count) || count == 0 || i >= count) {
      return "is I/N with 0 <= I < N (this machine's share of N)";
    }
    o.shard_index = static_cast<unsigned>(i);
    o.shard_count = static_cast<unsigned>(count);
  } else if (key == "workers") {
    if (!number(v, 1024, &n) || n == 0) return "is a number of processes, 1 to 1024";
    o.workers = static_cast<unsigned>(n);
  } else if (key == "progress") {
    if (v == "1" || v == "on") o.progress = 1;
    else if (v == "0" || v == "off") o.progress = 0;
    else if (v == "auto") o.progress = -1;
    else return "is 0, 1 or auto";
  } else if (key == "max_value_bytes") {
    if (!number(v, kSize, &n) || n == 0) return "is a number of bytes, at least 1";
    o.max_value_bytes = n;
  } else if (key == "max_processes") {
    if (!number(v, 1'000'000, &n) || n == 0) return "is a number of processes, at least 1";
    o.max_processes = n;
  } else if (key == "timeouts") {
    if (v == "any" || v == "any_time") o.timeouts = Timeouts::any_time;
    else if (v == "idle" || v == "when_idle") o.timeouts = Timeouts::when_idle;
    else return "is any (a blocked timed wait may time out at any point) or idle (only when nothing else can happen)";
  } else if (key == "patience") {
    if (!number(v, kSize, &n)) return "is a number of schedules (0: run every iteration)";
    o.coverage_patience = n;
  } else if (key == "coverage") {
    if (v == "1" || v == "true") o.print_coverage = true;
    else if (v == "0" || v == "false") o.print_coverage = false;
    else return "is 0 or 1";
  } else if (key == "html" || key == "junit" || key == "name") {
    if (v.empty()) return key == "name" ? "is the scenario's name" : "is a file name";
    (key == "html" ? o.html : key == "junit" ? o.junit : o.name) = std::string(v);
  } else if (key == "fairness") {
    if (!number(v, UINT32_MAX, &n)) return "is a number of steps (0: never switch to a fair schedule)";
    o.fairness_bound = n;
  } else {
    return "is not an option (strategy, iterations, seed, depth, unbuffered, max_steps, time, "
           "shard, workers, progress, step_timeout, max_value_bytes, max_processes, reduction, "
           "timeouts, fairness, patience, coverage, html, junit, name)";
  }
  return {};
}

}  // namespace

bool parse_options(std::string_view spec, Options* options, std::string* error) {
  Options o = *options;
  std::size_t pos = 0;
  while (pos < spec.size()) {
    while (pos < spec.size() && is_separator(spec[pos])) ++pos;
    std::size_t end = pos;
    while (end < spec.size() && !is_separator(spec[end])) ++end;
    if (end == pos) break;
    std::string_view pair = spec.substr(pos, end - pos);
    pos = end;
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      *error = "\"" + std::string(pair) + "\" is not key=value";
      return false;
    }
    std::string_view key = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    std::string wrong = apply(key, value, o);
    if (!wrong.empty()) {
      *error = std::string(key) + "=" + std::string(value) + ": " + std::string(key) + " " + wrong;
      return false;
    }
  }
  *options = o;
  return true;
}

}  // namespace ceramic::sim
