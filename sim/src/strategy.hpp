// ceramic::sim — how the next transition is chosen: one small Scheduler interface; one file per strategy
// (random.cpp, pct.cpp, dfs.cpp, replay.cpp), in the manner of Shuttle's schedulers.
//
// The explorer calls, for each schedule: begin(iteration), then choose() at every scheduling
// point where two or more transitions are enabled, forced() where only one is (not a choice:
// it is never part of the schedule), then end().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ceramic/sim/sim.hpp"
#include "model.hpp"
#include "schedule.hpp"

namespace ceramic::sim::detail {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // Prepares schedule number `iteration`; false when there is nothing left to explore.
  virtual bool begin(std::uint64_t iteration) = 0;
  // Picks one of enabled (size >= 2) at the choice-th choice point of this schedule. May set
  // error() instead (replay: the program left its schedule), then the return value is unused.
  virtual std::size_t choose(const Model& model, const std::vector<Transition>& enabled,
                             std::size_t choice) = 0;
  // A transition ran without a choice (it was the only one enabled); called before it runs.
  virtual void forced(const Model& model, const Transition& t) {
    (void)model;
    (void)t;
  }
  // The schedule ended; its choices, in order.
  virtual void end(const std::vector<Choice>& choices) { (void)choices; }
  // dfs: the rest of this schedule only repeats, in another order, what was explored already;
  // the explorer ends it there (checked after every choose() and forced()).
  virtual bool redundant() const { return false; }
  // dfs: every interleaving has been explored.
  virtual bool complete() const { return false; }
  // dfs split over workers: whether the schedule that just ended (end()) is this worker's to
  // count and report; another's, or cut short at the split, when not (dfs.cpp).
  virtual bool owned() const { return true; }
  // A reason to stop this schedule as a mismatch, or "".
  const std::string& error() const { return error_; }

 protected:
  std::string error_;
};

std::unique_ptr<Scheduler> make_random(std::uint64_t seed);
std::unique_ptr<Scheduler> make_pct(std::uint64_t seed, int depth);
// reduce: skip interleavings that differ only in the order of independent transitions.
// part, parts: explore only part `part` of the tree split in `parts` (dfs.cpp), 0 and 1: all.
std::unique_ptr<Scheduler> make_dfs(bool reduce, unsigned part = 0, unsigned parts = 1);
std::unique_ptr<Scheduler> make_replay(Schedule schedule);

// splitmix64: the per-schedule seed of random and pct, so that schedule i is the same however
// the iterations are split among shards and workers.
inline std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace ceramic::sim::detail
