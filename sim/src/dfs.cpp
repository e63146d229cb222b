// Bounded exhaustive depth-first search over the choice tree, stateless (each schedule re-runs
// the program from the start, following the current prefix): after a schedule, the deepest
// choice with an untried sibling moves to that sibling and everything below it is forgotten.
// When no such choice is left, every interleaving (up to the commuting transitions the
// explorer runs without a choice, and, with reduction, up to the order of independent
// transitions) has been run, and complete() says so.
//
// Reduction: sleep sets (P. Godefroid, "Partial-Order Methods for the Verification of
// Concurrent Systems", LNCS 1032, 1996, chapter 5). Two transitions that touch no common task
// and no common channel (model.hpp, Footprint) commute. If the search has already explored
// transition a at a node and now explores its sibling b, then, below b, taking a before
// anything dependent on a has happened only reaches states reached below a already: a sleeps
// there. A transition falls asleep when a sibling explored before it at an ancestor commutes
// with everything taken since, and wakes as soon as something dependent on it runs (a choice
// or a forced step). When everything enabled sleeps (at a choice, or the single transition of a
// forced step), the rest of the schedule is redundant and the explorer ends it there. Sleep
// sets alone still visit every reachable state (Godefroid, 1996, chapter 5), so every reachable
// deadlock and failing state is found: what they skip are other orders of the same
// independent steps. They do not avoid starting those orders (persistent sets or DPOR would):
// k independent rendezvous cost 2^(k-1) schedules instead of k!, most of them cut short.
//
// Invariants, for every node n of path_:
//   - n.enabled is what the program offered at that choice, the same in every re-run
//     (a mismatch is reported, not trusted);
//   - n.asleep[i] is fixed when n is first reached; n.index is never an asleep index unless the
//     node is redundant, and then it has no alternatives (every other index is asleep too).
#include <algorithm>

#include "strategy.hpp"

namespace ceramic::sim::detail {
namespace {

struct Sleeper {
  Transition transition;
  Footprint footprint;
};

struct Node {
  std::vector<Transition> enabled;
  std::vector<Footprint> footprints;
  std::vector<bool> asleep;
  std::vector<Sleeper> sleep;  // the sleep set on arrival
  std::uint32_t index = 0;
};

class Dfs final : public Scheduler {
 public:
  explicit Dfs(bool reduce) : reduce_(reduce) {}

  bool begin(std::uint64_t) override {
    sleep_.clear();
    redundant_ = false;
    return !done_;
  }

  std::size_t choose(const Model& model, const std::vector<Transition>& enabled,
                     std::size_t choice) override {
    if (choice < path_.size()) {
      Node& n = path_[choice];
      if (n.enabled != enabled) {
        error_ = "the program is not deterministic under the simulator: choice " +
                 std::to_string(choice + 1) + " offered " + std::to_string(n.enabled.size()) +
                 " transitions before and " + std::to_string(enabled.size()) +
                 " different ones now (does it read the clock, a random number, or a pid?)";
        return 0;
      }
      advance(n);
      return n.index;
    }
    Node n;
    n.enabled = enabled;
    n.asleep.assign(enabled.size(), false);
    if (reduce_) {
      n.footprints.reserve(enabled.size());
      for (const Transition& t : enabled) n.footprints.push_back(model.footprint(t));
      n.sleep = sleep_;
      for (std::size_t i = 0; i < enabled.size(); ++i) {
        n.asleep[i] = redundant_ || std::any_of(sleep_.begin(), sleep_.end(), [&](const Sleeper& s) {
                        return s.transition == enabled[i];
                      });
      }
    }
    auto awake = std::find(n.asleep.begin(), n.asleep.end(), false);
    if (awake == n.asleep.end()) {
      // Everything enabled sleeps: whatever follows was explored in another order already.
      // The explorer ends the schedule here; the node stays, so that end() sees the choices.
      redundant_ = true;
      n.index = 0;
    } else {
      n.index = static_cast<std::uint32_t>(awake - n.asleep.begin());
    }
    path_.push_back(std::move(n));
    advance(path_.back());
    return path_.back().index;
  }

  void forced(const Model& model, const Transition& t) override {
    if (!reduce_ || sleep_.empty()) return;
    if (std::any_of(sleep_.begin(), sleep_.end(), [&](const Sleeper& s) { return s.transition == t; })) {
      redundant_ = true;  // the only thing left to do sleeps
      return;
    }
    wake(model.footprint(t));
  }

  bool redundant() const override { return redundant_; }

  void end(const std::vector<Choice>& choices) override {
    if (choices.size() < path_.size()) path_.resize(choices.size());
    while (!path_.empty() && !next_awake(path_.back())) path_.pop_back();
    if (path_.empty()) done_ = true;
  }

  bool complete() const override { return done_; }

 private:
  // The sleep set below n's current choice: what slept at n, and the siblings explored before
  // it, minus whatever the choice wakes.
  void advance(const Node& n) {
    if (!reduce_) return;
    sleep_ = n.sleep;
    for (std::uint32_t j = 0; j < n.index; ++j) {
      if (!n.asleep[j]) sleep_.push_back({n.enabled[j], n.footprints[j]});
    }
    wake(n.footprints[n.index]);
  }

  void wake(const Footprint& taken) {
    std::erase_if(sleep_, [&](const Sleeper& s) { return !independent(s.footprint, taken); });
  }

  // Moves n to its next awake sibling; false when there is none.
  static bool next_awake(Node& n) {
    for (std::size_t j = n.index + 1; j < n.enabled.size(); ++j) {
      if (!n.asleep[j]) {
        n.index = static_cast<std::uint32_t>(j);
        return true;
      }
    }
    return false;
  }

  bool reduce_;
  std::vector<Node> path_;
  std::vector<Sleeper> sleep_;  // the current schedule's sleep set
  bool redundant_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Scheduler> make_dfs(bool reduce) { return std::make_unique<Dfs>(reduce); }

}  // namespace ceramic::sim::detail
