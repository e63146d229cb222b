// Schedules are strings you can read, edit and replay: "cs2" flags ":" then (index, count)
// pairs, one per real choice.
#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "example_check.hpp"

namespace sim = ceramic::sim;

// [doc:decode]
// One choice: the transition taken (0-based) among `count` enabled ones.
struct Choice {
  unsigned index, count;
};

// A number is one character, 0-9 A-Z a-z for 0..61, or "{" decimal "}" for more.
std::optional<unsigned> number(std::string_view& s) {
  if (s.empty()) return std::nullopt;
  char c = s.front();
  s.remove_prefix(1);
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'Z') return 10 + (c - 'A');
  if (c >= 'a' && c <= 'z') return 36 + (c - 'a');
  if (c != '{') return std::nullopt;
  unsigned v = 0;
  while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
    v = v * 10 + static_cast<unsigned>(s.front() - '0');
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() != '}') return std::nullopt;
  s.remove_prefix(1);
  return v;
}

// The choices of a schedule, after its "cs2" and flags ("u", "s" number) up to the colon.
std::optional<std::vector<Choice>> choices(std::string_view schedule) {
  std::size_t colon = schedule.find(':');
  if (!schedule.starts_with("cs2") || colon == std::string_view::npos) return std::nullopt;
  std::string_view s = schedule.substr(colon + 1);
  std::vector<Choice> out;
  while (!s.empty()) {
    auto index = number(s), count = number(s);
    if (!index || !count) return std::nullopt;
    out.push_back({*index, *count});
  }
  return out;
}
// [/doc:decode]

void seed_race() {
  ceramic::Chan<int> chan;
  ceramic::Proc a("A", [&] { chan.send(1); });
  ceramic::Proc b("B", [&] { chan.recv(); });
  chan.send(2);
  chan.recv();
}

// [doc:buffered]
// Works only thanks to its buffer: it sends to itself.
void needs_its_buffer() {
  ceramic::Chan<int> c(ceramic::ChanOptions{.capacity = 1});
  c.send(1);
  c.recv();
}
// [/doc:buffered]

// [doc:runaway]
// Never ends: two processes pass a value back and forth forever.
void ping_pong() {
  ceramic::Chan<int> ping, pong;
  ceramic::Proc echo("echo", [&] {
    for (;;) pong.send(*ping.recv());
  });
  for (int v = 0;; ++v) {
    ping.send(v);
    pong.recv();
  }
}
// [/doc:runaway]

int main() {
  // [doc:edit]
  sim::Result found = sim::explore(seed_race, {.strategy = sim::Strategy::dfs});
  // found.schedule == "cs2:12": one choice, transition 1 of 2 (A meets B)
  std::vector<Choice> c = *choices(found.schedule);        // {{1, 2}}

  sim::Result other = sim::replay(seed_race, "cs2:02");     // transition 0 of 2: main meets B
  // other.failed == false: the other interleaving runs cleanly

  sim::Result wrong = sim::replay(seed_race, "cs2:13");     // "3 enabled": not this program
  // wrong.failure == sim::Failure::mismatch, and wrong.report says where it diverged
  // [/doc:edit]
  expect(found.schedule == "cs2:12", "dfs finds cs2:12");
  expect(c.size() == 1 && c[0].index == 1 && c[0].count == 2, "one choice, 1 of 2");
  expect(!other.failed, "the other choice runs cleanly");
  expect(wrong.failed && wrong.failure == sim::Failure::mismatch, "a wrong count is a mismatch");
  std::printf("cs2:13 -> %s", wrong.report.c_str());

  // [doc:flags]
  sim::Result u = sim::explore(needs_its_buffer, {.force_unbuffered = true});
  // u.failure == deadlock, u.schedule == "cs2u:": buffers were off, and no choice was needed

  sim::Result loop = sim::explore(ping_pong, {.strategy = sim::Strategy::dfs, .max_steps = 100});
  // loop.failure == runaway, loop.schedule == "cs2s{100}:": its replay stops at step 100 too
  // [/doc:flags]
  expect(u.failed && u.failure == sim::Failure::deadlock, "without its buffer it deadlocks");
  expect(u.schedule == "cs2u:", "the u flag records force_unbuffered");
  expect(loop.failed && loop.failure == sim::Failure::runaway, "a runaway");
  std::printf("runaway: %s\n", loop.schedule.c_str());
  expect(loop.schedule.starts_with("cs2s{100}:"), "the s flag records the step bound");
  sim::Result loop_again = sim::replay(ping_pong, loop.schedule);
  expect(loop_again.failure == sim::Failure::runaway && loop_again.steps == loop.steps,
         "the runaway replays to the same step");
  std::printf("%s\n%s\n%s\n", found.schedule.c_str(), u.schedule.c_str(), loop.schedule.c_str());
  auto big = choices("cs2:{70}{71}");
  expect(big && big->size() == 1 && (*big)[0].index == 70, "braces for numbers above 61");
  return 0;
}
