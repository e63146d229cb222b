// Random walk: at each choice point, a transition chosen uniformly.
#include <random>

#include "strategy.hpp"

namespace ceramic::sim::detail {
namespace {

class RandomWalk final : public Scheduler {
 public:
  explicit RandomWalk(std::uint64_t seed) : seed_(seed) {}
  bool begin(std::uint64_t iteration) override {
    rng_.seed(mix(seed_ ^ mix(iteration)));
    return true;
  }
  std::size_t choose(const Model&, const std::vector<Transition>& enabled, std::size_t) override {
    return std::uniform_int_distribution<std::size_t>(0, enabled.size() - 1)(rng_);
  }

 private:
  std::uint64_t seed_;
  std::mt19937_64 rng_;
};

}  // namespace

std::unique_ptr<Scheduler> make_random(std::uint64_t seed) {
  return std::make_unique<RandomWalk>(seed);
}

}  // namespace ceramic::sim::detail
