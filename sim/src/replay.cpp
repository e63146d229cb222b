// Replay: the choices of a recorded schedule, checked against what the program offers.
#include "strategy.hpp"

namespace ceramic::sim::detail {
namespace {

class Replay final : public Scheduler {
 public:
  explicit Replay(Schedule s) : schedule_(std::move(s)) {}
  bool begin(std::uint64_t) override { return true; }
  std::size_t choose(const Model&, const std::vector<Transition>& enabled,
                     std::size_t choice) override {
    if (choice >= schedule_.choices.size()) {
      error_ = "the schedule has " + std::to_string(schedule_.choices.size()) +
               " choices, but the program reached choice " + std::to_string(choice + 1) +
               " (with " + std::to_string(enabled.size()) +
               " transitions enabled): it no longer follows this schedule";
      return 0;
    }
    const Choice& c = schedule_.choices[choice];
    if (c.count != enabled.size()) {
      error_ = "at choice " + std::to_string(choice + 1) + " the schedule expects " +
               std::to_string(c.count) + " enabled transitions, but the program offers " +
               std::to_string(enabled.size()) + ": it no longer follows this schedule";
      return 0;
    }
    return c.index;
  }
  void end(const std::vector<Choice>& choices) override {
    if (error_.empty() && choices.size() < schedule_.choices.size()) {
      error_ = "the program ended after " + std::to_string(choices.size()) + " of the schedule's " +
               std::to_string(schedule_.choices.size()) + " choices: it no longer follows this schedule";
    }
  }

 private:
  Schedule schedule_;
};

}  // namespace

std::unique_ptr<Scheduler> make_replay(Schedule s) { return std::make_unique<Replay>(std::move(s)); }

}  // namespace ceramic::sim::detail
