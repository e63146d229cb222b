// Bounded exhaustive depth-first search over the choice tree, stateless (each schedule re-runs
// the program from the start, following the current prefix): after a schedule, the deepest
// choice with an untried sibling moves to that sibling and everything below it is forgotten.
// When no such choice is left, every interleaving (up to the commuting transitions the
// explorer runs without a choice) has been run, and complete() says so.
#include "strategy.hpp"

namespace ceramic::sim::detail {
namespace {

class Dfs final : public Scheduler {
 public:
  bool begin(std::uint64_t) override { return !done_; }
  std::size_t choose(const Model&, const std::vector<Transition>& enabled,
                     std::size_t choice) override {
    if (choice < path_.size()) {
      if (path_[choice].count != enabled.size()) {
        error_ = "the program is not deterministic under the simulator: choice " +
                 std::to_string(choice + 1) + " offered " + std::to_string(path_[choice].count) +
                 " transitions before and " + std::to_string(enabled.size()) +
                 " now (does it read the clock, a random number, or a pid?)";
        return 0;
      }
      return path_[choice].index;
    }
    path_.push_back({0, static_cast<std::uint32_t>(enabled.size())});
    return 0;
  }
  void end(const std::vector<Choice>& choices) override {
    if (choices.size() < path_.size()) path_.resize(choices.size());
    while (!path_.empty() && path_.back().index + 1 >= path_.back().count) path_.pop_back();
    if (path_.empty()) {
      done_ = true;
    } else {
      ++path_.back().index;
    }
  }
  bool complete() const override { return done_; }

 private:
  std::vector<Choice> path_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Scheduler> make_dfs() { return std::make_unique<Dfs>(); }

}  // namespace ceramic::sim::detail
