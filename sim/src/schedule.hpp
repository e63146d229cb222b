// ceramic::sim — schedules: the choices of one execution, as a copy-pasteable string.
//
// Format, version 2:
//
//   schedule := "cs2" flags ":" choice*
//   flags    := "u"? "i"? ("f" number)? ("s" number)?
//                                         u: buffered channels were run unbuffered
//                                         i: timeouts fired only when idle (Timeouts::when_idle)
//                                         f: Options::fairness_bound, when not the default
//                                         s: the step bound (Options::max_steps) the run hit;
//                                            only a runaway's schedule carries it, so that its
//                                            replay stops where the exploration stopped
// Everything that changes which transitions are enabled is in the flags, so a schedule replays
// without the options that made it. Version 1 came from an earlier model of the program (every
// parked process counted as arrived, timeouts fired only when idle): its indices mean other
// transitions today, so it is refused with a message rather than misread.
//   choice   := number(index) number(count)
//   number   := one character of [0-9A-Za-z] for 0..61, or "{" decimal "}" for larger values
//
// Only real choices are recorded: scheduling points where exactly one transition was enabled
// are implied by the program. Each choice is the index of the transition taken in the
// canonical order of the enabled transitions (model.hpp: by task, then case, then partner) and
// how many there were, so replay notices the very step where a program stops following its
// schedule. Example: "cs2:0213" = two choices, the first of 2 transitions, then the second of 3.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ceramic::sim::detail {

struct Choice {
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  friend bool operator==(const Choice&, const Choice&) = default;
};

inline constexpr std::uint32_t kDefaultFairness = 200;   // sim::Options::fairness_bound

struct Schedule {
  bool unbuffered = false;
  std::vector<Choice> choices;
  std::uint32_t step_limit = 0;  // 0: none recorded (replay uses the default bound)
  bool idle_timeouts = false;
  std::uint32_t fairness = kDefaultFairness;
  friend bool operator==(const Schedule&, const Schedule&) = default;
};

std::string encode(const Schedule&);

// Parses s; on error returns std::nullopt and sets *error to what is wrong and where.
std::optional<Schedule> decode(std::string_view s, std::string* error);

}  // namespace ceramic::sim::detail
