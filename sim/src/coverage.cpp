#include "coverage.hpp"

#include <cstdio>
#include <sstream>

namespace ceramic::sim::detail {

bool CoverageLog::reach(const std::string& file, int line, const char* op,
                        const std::vector<std::string>& cases) {
  auto [it, added] = sites_.try_emplace(Key{file, line, op});
  SiteCoverage& s = it->second;
  if (added) {
    s.file = file;
    s.line = line;
    s.op = op;
    for (const std::string& k : cases) s.cases.push_back({k, 0});
  }
  ++s.reached;
  return added;
}

bool CoverageLog::block(const std::string& file, int line, const char* op) {
  auto it = sites_.find(Key{file, line, op});
  if (it == sites_.end()) return false;
  return it->second.blocked++ == 0;
}

bool CoverageLog::complete(const std::string& file, int line, const char* op, int case_index) {
  auto it = sites_.find(Key{file, line, op});
  if (it == sites_.end()) return false;
  SiteCoverage& s = it->second;
  bool added = s.completed++ == 0;
  if (case_index >= 0 && static_cast<std::size_t>(case_index) < s.cases.size()) {
    added = s.cases[case_index].taken++ == 0 || added;
  }
  return added;
}

void CoverageLog::merge(const CoverageLog& other) {
  for (const auto& [key, o] : other.sites_) {
    auto [it, added] = sites_.try_emplace(key, o);
    if (added) continue;
    SiteCoverage& s = it->second;
    s.reached += o.reached;
    s.blocked += o.blocked;
    s.completed += o.completed;
    for (std::size_t i = 0; i < s.cases.size() && i < o.cases.size(); ++i) s.cases[i].taken += o.cases[i].taken;
  }
}

Coverage CoverageLog::result() const {
  Coverage c;
  for (const auto& [key, s] : sites_) c.sites.push_back(s);
  return c;
}

// One site a line: file \t line \t op \t reached \t blocked \t completed { \t kind \t taken }.
std::string CoverageLog::encode() const {
  std::string out;
  for (const auto& [key, s] : sites_) {
    out += s.file + '\t' + std::to_string(s.line) + '\t' + s.op + '\t' + std::to_string(s.reached) +
           '\t' + std::to_string(s.blocked) + '\t' + std::to_string(s.completed);
    for (const auto& c : s.cases) out += '\t' + c.kind + '\t' + std::to_string(c.taken);
    out += '\n';
  }
  return out;
}

bool CoverageLog::decode(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::size_t a = 0;
    for (std::size_t b; (b = line.find('\t', a)) != std::string::npos; a = b + 1) f.push_back(line.substr(a, b - a));
    f.push_back(line.substr(a));
    if (f.size() < 6 || (f.size() - 6) % 2 != 0) return false;
    SiteCoverage s;
    try {
      s.file = f[0];
      s.line = std::stoi(f[1]);
      s.op = f[2];
      s.reached = std::stoull(f[3]);
      s.blocked = std::stoull(f[4]);
      s.completed = std::stoull(f[5]);
      for (std::size_t i = 6; i + 1 < f.size(); i += 2) s.cases.push_back({f[i], std::stoull(f[i + 1])});
    } catch (...) {
      return false;
    }
    CoverageLog one;
    one.sites_.emplace(Key{s.file, s.line, s.op}, s);
    merge(one);
  }
  return true;
}

}  // namespace ceramic::sim::detail

namespace ceramic::sim {

std::string to_table(const Coverage& c) {
  std::size_t blocked = 0, completed = 0, untaken = 0;
  for (const SiteCoverage& s : c.sites) {
    blocked += s.blocked > 0;
    completed += s.completed > 0;
    for (const auto& k : s.cases) untaken += k.taken == 0;
  }
  std::string out = "concurrency coverage: " + std::to_string(c.sites.size()) + " operation sites reached, " +
                    std::to_string(blocked) + " seen waiting, " + std::to_string(completed) +
                    " seen completing; select cases never taken: " + std::to_string(untaken) + "\n";
  char row[512];
  std::snprintf(row, sizeof row, "  %-32s %-7s %9s %9s %9s  %s\n", "site", "op", "reached", "waited",
                "completed", "select cases (times taken)");
  out += row;
  for (const SiteCoverage& s : c.sites) {
    std::size_t slash = s.file.rfind('/');
    std::string site = (slash == std::string::npos ? s.file : s.file.substr(slash + 1)) + ":" + std::to_string(s.line);
    std::string cases;
    for (const auto& k : s.cases) {
      cases += (cases.empty() ? "" : ", ") + k.kind + " " + std::to_string(k.taken) + (k.taken == 0 ? " (NEVER)" : "");
    }
    std::snprintf(row, sizeof row, "  %-32s %-7s %9zu %9zu %9zu  %s\n", site.c_str(), s.op.c_str(), s.reached,
                  s.blocked, s.completed, cases.c_str());
    out += row;
  }
  return out;
}

}  // namespace ceramic::sim
