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
// Workers (Options::workers): part w of `parts` explores only the subtrees it owns, so that
// together the parts run exactly the schedules one search runs, each once. The tree is split at
// one depth, the split: the first choice of the first schedule at which the product of the
// choices' widths so far reaches kSplitFanout * parts (every part runs the same first schedule
// up to there, so all agree on it without talking). A path's owner is its prefix down to the
// split, read as a mixed-radix number (the digits its indices, the radices the widths), modulo
// parts. Above the split every part runs every branch (each needs the nodes below); at the split
// it takes only its own. Sleep sets are those of the whole search: a sibling explored by another
// part sleeps below its later siblings as it would in one search, because the subtree below it is
// explored, only elsewhere. A schedule that reaches the split with none of its own branches
// awake is cut short there, and a schedule that ends above the split belongs to its prefix's
// owner: the others run them too, but do not count them (owned()).
//
// Invariants, for every node n of path_:
//   - n.enabled is what the program offered at that choice, the same in every re-run
//     (a mismatch is reported, not trusted);
//   - n.asleep[i] is fixed when n is first reached; n.index is never an asleep index unless the
//     node is redundant, and then it has no alternatives (every other index is asleep too).
#include <algorithm>
#include <cstdint>

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

// The split (above) is where the first schedule's choices multiply to this many per part.
constexpr std::uint64_t kSplitFanout = 8;

class Dfs final : public Scheduler {
 public:
  Dfs(bool reduce, unsigned part, unsigned parts)
      : reduce_(reduce), part_(part), parts_(parts < 1 ? 1 : parts) {}

  bool begin(std::uint64_t) override {
    sleep_.clear();
    redundant_ = false;
    cut_ = false;
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
    const std::size_t depth = path_.size();
    if (parts_ > 1 && split_ == kNoSplit) {
      width_ *= enabled.size();
      if (width_ >= kSplitFanout * parts_) split_ = depth;
    }
    n.index = 0;
    if (!next_awake(n, depth, true)) {
      // Everything enabled sleeps (whatever follows was explored in another order already), or,
      // at the split, every branch still awake is another part's. The explorer ends the schedule
      // here; the node stays, so that end() sees the choices.
      redundant_ = true;
      cut_ = cut_ || std::find(n.asleep.begin(), n.asleep.end(), false) != n.asleep.end();
      n.index = 0;
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
    // A first schedule too short to reach kSplitFanout * parts splits at its last choice.
    if (parts_ > 1 && split_ == kNoSplit && !path_.empty()) split_ = path_.size() - 1;
    owned_ = !cut_ && (parts_ == 1 || owner(std::min(path_.size(), split_ + 1)) == part_);
    while (!path_.empty() && !next_awake(path_.back(), path_.size() - 1, false)) path_.pop_back();
    if (path_.empty()) done_ = true;
  }

  bool complete() const override { return done_; }
  bool owned() const override { return owned_; }

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

  // Moves n, the node at depth, to its next awake sibling (from its own index when first: it
  // was just reached) of this part's; false when there is none.
  bool next_awake(Node& n, std::size_t depth, bool first) const {
    for (std::size_t j = first ? n.index : n.index + 1; j < n.enabled.size(); ++j) {
      if (n.asleep[j]) continue;
      if (depth == split_ && (owner(depth) * n.enabled.size() + j) % parts_ != part_) continue;
      n.index = static_cast<std::uint32_t>(j);
      return true;
    }
    return false;
  }

  // The part that owns the prefix of path_ down to depth (excluded), modulo parts_.
  std::uint64_t owner(std::size_t depth) const {
    std::uint64_t o = 0;
    for (std::size_t d = 0; d < depth && d < path_.size(); ++d) {
      o = (o * path_[d].enabled.size() + path_[d].index) % parts_;
    }
    return o;
  }

  static constexpr std::size_t kNoSplit = SIZE_MAX;
  bool reduce_;
  unsigned part_;
  unsigned parts_;
  std::size_t split_ = kNoSplit;  // the depth of the split (parts_ > 1), once known
  std::uint64_t width_ = 1;       // the first schedule's product of widths, until the split
  bool cut_ = false;              // this schedule reached the split with nothing of its own
  bool owned_ = true;             // the last schedule is this part's
  std::vector<Node> path_;
  std::vector<Sleeper> sleep_;  // the current schedule's sleep set
  bool redundant_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Scheduler> make_dfs(bool reduce, unsigned part, unsigned parts) {
  return std::make_unique<Dfs>(reduce, part, parts);
}

}  // namespace ceramic::sim::detail
