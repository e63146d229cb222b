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
// Departures from the paper:
//   - A task that takes a default case (or a zero timeout) is polling, so it drops to the
//     lowest priority, or a polling loop would starve the task it waits for until the schedule
//     runs away (Shuttle treats yield the same way).
//   - Which of the chosen task's enabled transitions runs (which ready select case, which
//     partner, a default or a meeting) is drawn uniformly: PCT orders tasks, and a bug that
//     needs the second of two ready cases must not depend on the canonical order.
//   - Time is a task of its own: timeouts rank with the clock's priority, drawn like a task's
//     and moved by change points too, so that some schedules let timeouts fire as early as the
//     model allows and others as late.
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
      prio(ranker(t));
      if (t.partner >= 0) prio(t.partner);
    }
    std::size_t best = pick_best(enabled);
    // Change points: the task about to run drops below every initial priority.
    for (std::size_t i = 0; i < change_points_.size(); ++i) {
      if (change_points_[i] == choice) {
        slot(ranker(enabled[best])) = static_cast<double>(depth_ - 1 - static_cast<int>(i)) - 1.0;
        best = pick_best(enabled);
      }
    }
    const Transition& t = enabled[best];
    if (t.kind == Transition::Kind::fallback) slot(t.task) = --lowest_ - depth_;
    return best;
  }

  void end(const std::vector<Choice>& choices) override { k_ = std::max(k_, choices.size()); }

 private:
  // The clock ranks timeouts; index 0 of priority_ is the clock, task i is at i + 1.
  static int ranker(const Transition& t) {
    return t.kind == Transition::Kind::timeout ? -1 : t.task;
  }
  double& slot(int task) {
    std::size_t i = static_cast<std::size_t>(task + 1);
    if (i >= priority_.size()) priority_.resize(i + 1, kUnset);
    return priority_[i];
  }
  double prio(int task) {
    double& p = slot(task);
    if (p == kUnset) p = depth_ + std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return p;
  }
  // The highest-ranked transition: by the higher priority of its two tasks, then the lower;
  // among the transitions of that same top task (or clock), one drawn uniformly.
  std::size_t pick_best(const std::vector<Transition>& enabled) {
    double best_hi = -1e300;
    int top = 0;
    for (const Transition& t : enabled) {
      double a = prio(ranker(t));
      double b = t.partner >= 0 ? prio(t.partner) : -1e300;
      double hi = std::max(a, b);
      if (hi > best_hi) {
        best_hi = hi;
        top = a >= b ? ranker(t) : t.partner;
      }
    }
    std::vector<std::size_t> mine;
    for (std::size_t i = 0; i < enabled.size(); ++i) {
      const Transition& t = enabled[i];
      if (ranker(t) == top || t.partner == top) mine.push_back(i);
    }
    return mine[std::uniform_int_distribution<std::size_t>(0, mine.size() - 1)(rng_)];
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
