// PCT: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A
// Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
//
// Each task gets a random priority above depth-1 when it is created; depth-1 change points are
// drawn uniformly among the first k choice points (k: the most choice points any schedule so far
// has had). At each choice point the transition of the highest-priority task runs (a rendezvous
// counts for both of its tasks: the higher one ranks it, the other breaks ties); at the i-th
// change point that task's priority drops to depth-1-i, below every initial priority. For a
// program with n tasks and k steps, a bug of depth d (d ordering constraints between
// operations) is found with probability at least 1/(n k^(d-1)) per schedule.
//
// One departure from the paper: a task that takes a default case (or a zero timeout) is
// polling, so it drops to the lowest priority, or a polling loop would starve the task it
// waits for until the schedule runs away (Shuttle treats yield the same way).
#include <algorithm>
#include <random>

#include "strategy.hpp"

namespace ceramic::sim::detail {
namespace {

class Pct final : public Scheduler {
 public:
  Pct(std::uint64_t seed, int depth) : seed_(seed), depth_(std::max(depth, 1)) {}

  bool begin(std::uint64_t iteration) override {
    rng_.seed(mix(seed_ ^ mix(iteration ^ 0x5043540000000000ull)));
    priority_.clear();
    lowest_ = 0;
    change_points_.clear();
    std::uniform_int_distribution<std::size_t> pick(0, std::max<std::size_t>(k_, 1) - 1);
    for (int i = 1; i < depth_; ++i) change_points_.push_back(pick(rng_));
    return true;
  }

  std::size_t choose(const Model&, const std::vector<Transition>& enabled,
                     std::size_t choice) override {
    for (const Transition& t : enabled) {
      prio(t.task);
      if (t.partner >= 0) prio(t.partner);
    }
    std::size_t best = pick_best(enabled);
    // Change points: the task about to run drops below every initial priority.
    for (std::size_t i = 0; i < change_points_.size(); ++i) {
      if (change_points_[i] == choice) {
        priority_[enabled[best].task] = static_cast<double>(depth_ - 1 - static_cast<int>(i)) - 1.0;
        best = pick_best(enabled);
      }
    }
    const Transition& t = enabled[best];
    if (t.kind == Transition::Kind::fallback) priority_[t.task] = --lowest_ - depth_;
    return best;
  }

  void end(const std::vector<Choice>& choices) override { k_ = std::max(k_, choices.size()); }

 private:
  double prio(int task) {
    if (task >= static_cast<int>(priority_.size())) priority_.resize(task + 1, kUnset);
    if (priority_[task] == kUnset) {
      priority_[task] = depth_ + std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    }
    return priority_[task];
  }
  std::size_t pick_best(const std::vector<Transition>& enabled) {
    std::size_t best = 0;
    double best_hi = -1e300, best_lo = -1e300;
    for (std::size_t i = 0; i < enabled.size(); ++i) {
      double a = prio(enabled[i].task);
      double b = enabled[i].partner >= 0 ? prio(enabled[i].partner) : -1e300;
      double hi = std::max(a, b), lo = std::min(a, b);
      if (hi > best_hi || (hi == best_hi && lo > best_lo)) {
        best = i;
        best_hi = hi;
        best_lo = lo;
      }
    }
    return best;
  }

  static constexpr double kUnset = -1e308;
  std::uint64_t seed_;
  int depth_;
  std::size_t k_ = 16;  // grows to the longest schedule seen
  std::mt19937_64 rng_;
  std::vector<double> priority_;
  double lowest_ = 0;
  std::vector<std::size_t> change_points_;
};

}  // namespace

std::unique_ptr<Scheduler> make_pct(std::uint64_t seed, int depth) {
  return std::make_unique<Pct>(seed, depth);
}

}  // namespace ceramic::sim::detail
