// ceramic::sim — concurrency coverage: the channel operation sites an exploration reached, and
// what happened at each (sim.hpp: SiteCoverage). One log per explorer process; workers send
// theirs to the explorer as text (encode/decode) and the logs are merged.
#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ceramic/sim/sim.hpp"

namespace ceramic::sim::detail {

class CoverageLog {
 public:
  // Each returns whether it added something new (a site, a first wait, a first completion, a
  // case first taken), for Options::coverage_patience.
  bool reach(const std::string& file, int line, const char* op, const std::vector<std::string>& cases);
  bool block(const std::string& file, int line, const char* op);
  bool complete(const std::string& file, int line, const char* op, int case_index);

  void merge(const CoverageLog& other);
  Coverage result() const;
  std::string encode() const;
  bool decode(const std::string& text);

 private:
  using Key = std::tuple<std::string, int, std::string>;
  std::map<Key, SiteCoverage> sites_;
};

}  // namespace ceramic::sim::detail
