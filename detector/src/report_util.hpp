// ceramic detector — small formatting helpers shared by the report printers.
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>

#include "ceramic/detector/report.hpp"

namespace ceramic::detector {

inline std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

inline std::string site(const std::string& file, int line) {
  return (file.empty() ? std::string("?") : basename_of(file)) + ":" + std::to_string(line);
}

// Names come from the traced program: control characters would break the report's layout.
inline std::string printable(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// Text for HTML and XML (attribute values too): markup characters as references, and the
// control characters XML 1.0 forbids as '?' (names and messages come from the traced program).
inline std::string escape_markup(const std::string& s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 && c != '\n' && c != '\t' && c != '\r') || u == 0x7f ? '?' : c;
      }
    }
  }
  return out;
}

inline std::string process_label(const std::string& name, pid_t pid) {
  return (name.empty() ? std::string("process") : printable(name)) + " (pid " +
         std::to_string(pid) + ")";
}

// Channels carry random 64-bit ids; six hex digits tell them apart in a report.
inline std::string short_id(std::uint64_t id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06llx", static_cast<unsigned long long>(id & 0xffffff));
  return buf;
}

inline std::string channel_label(const ChannelRef& c) {
  std::string s =
      c.name.empty() ? "channel #" + short_id(c.id) : "channel '" + printable(c.name) + "'";
  if (c.line) s += " (made at " + site(c.file, c.line) + ")";
  return s;
}

inline std::string duration(std::int64_t ns) {
  char buf[32];
  if (ns < 1000000) {
    std::snprintf(buf, sizeof buf, "%lld us", static_cast<long long>(ns / 1000));
  } else if (ns < 1000000000) {
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ns / 1000000));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  }
  return buf;
}

// The names of a report's processes by pid, looked up in constant time (a report may list tens
// of thousands of processes).
class ProcessNames {
 public:
  explicit ProcessNames(const Report& r) {
    for (const Peer& p : r.processes) names_.try_emplace(p.pid, &p.name);
  }
  std::string operator()(pid_t pid) const {
    auto it = names_.find(pid);
    return it == names_.end() ? std::string() : *it->second;
  }

 private:
  std::unordered_map<pid_t, const std::string*> names_;
};

}  // namespace ceramic::detector
