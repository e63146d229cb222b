// Go's runtime/chan_test.go TestNonblockSelectRace and TestNonblockSelectRace2: a select with a
// default acts on one consistent view of its channels, never on a view smeared over time.
//
// A long-lived selector loops on select(recv c1, recv c2, default). Each round the driver
// makes c1 ready, lets the selector go, makes c2 ready (a buffered value, or close), and then
// takes c1 back if it is still there. From the selector's start on, at every instant at least
// one of c1 and c2 is ready, so the default must never run. A select that checks its cases one
// channel lock at a time can look at c2 before it became ready and at c1 after it was taken.
#include <string>

#include "go_support.hpp"

namespace {

using namespace ceramic_go;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::select;

// Neither side ever sleeps between the hand-off that starts a round and the select: the one that
// waits for the hand-off polls a buffered channel. The driver then waits a random few hundred
// nanoseconds before it makes c2 ready, so that across the rounds its two steps land at every
// point of the selector's select (whose six idle cases, never ready, make it long enough to
// hold them). The original leaves this to goroutine start-up latency, which reaches the race
// rarely; the verdict is the same at any timing.
constexpr std::uint32_t kJitterSteps = 8192;

constexpr int kSelectorTookNothing = 0;
constexpr int kSelectorTookAValue = 1;

// The driver's non-blocking receive from c1 (Go's `select { case <-c1: default: }`).
void take_if_there(Chan<int>& c1) {
  select(on_recv(c1, [](std::optional<int>) {}), on_default([] {}));
}

std::string verdict(int defaults, int n) {
  return "the default ran in " + std::to_string(defaults) + " of " + std::to_string(n) +
         " rounds (" + kMode + ") although c1 or c2 was ready at every instant";
}

// c2 becomes ready through a buffered value.
TEST(GoNonblockSelectRace, DefaultNeverRunsWhileOneCaseIsAlwaysReady) {
  const int n = rounds(20'000, 3'000);
  Chan<int> c1(ChanOptions{.capacity = 1});
  Chan<int> c2(ChanOptions{.capacity = 1});
  Chan<int> start(ChanOptions{.capacity = 1});  // driver -> selector: run one select
  Chan<int> outcome;                            // selector -> driver: what it fired
  std::vector<Chan<int>> idle(6);
  Group g;
  g.go("selector", [&] {
    while (take_spinning(start)) {
      int got = kSelectorTookAValue;
      select(on_recv(c1, [](std::optional<int>) {}), on_recv(c2, [](std::optional<int>) {}),
             on_recv(idle[0], [](std::optional<int>) {}), on_recv(idle[1], [](std::optional<int>) {}),
             on_recv(idle[2], [](std::optional<int>) {}), on_recv(idle[3], [](std::optional<int>) {}),
             on_recv(idle[4], [](std::optional<int>) {}), on_recv(idle[5], [](std::optional<int>) {}),
             on_default([&] { got = kSelectorTookNothing; }));
      require(put(outcome, got), "outcome closed");
    }
  });

  const std::uint64_t s = seed();
  SCOPED_TRACE(seed_note(s));
  std::mt19937_64 rng(s);
  int defaults = 0;
  for (int i = 0; i < n; ++i) {
    require(put(c1, 1), "c1 closed");
    require(put(start, i), "start closed");
    jitter(static_cast<std::uint32_t>(rng() % kJitterSteps));
    require(put(c2, 1), "c2 closed");
    take_if_there(c1);
    std::optional<int> got = take(outcome);
    ASSERT_TRUE(got.has_value());
    if (*got == kSelectorTookNothing) ++defaults;
    // c1 is empty now (taken by one side or the other); c2 may still hold its value.
    int rest = 0;
    (void)c2.recv_for(rest, std::chrono::nanoseconds(0));
  }
  start.close();
  EXPECT_EQ(g.wait(), "");
  EXPECT_EQ(defaults, 0) << verdict(defaults, n);
}

// Go's TestNonblockSelectRace2: c2 is unbuffered and becomes ready by being closed, so each
// round needs a fresh c2. Between processes it is a named channel, which the selector opens
// (and says so) before the round's race begins.
TEST(GoNonblockSelectRace, DefaultNeverRunsWhileOneCaseIsAlwaysReadyClose) {
  const int n = rounds(5'000, 500);  // each round makes a channel: fewer rounds
  Chan<int> c1(ChanOptions{.capacity = 1});
  Chan<int> prepare;                            // driver -> selector: c2 of round i exists
  Chan<int> prepared;                           // selector -> driver: it holds c2
  Chan<int> start(ChanOptions{.capacity = 1});  // driver -> selector: run one select
  Chan<int> outcome;                            // selector -> driver: what it fired
  std::vector<Chan<int>> idle(6);
  std::optional<Chan<int>> shared_c2;  // thread mode: the driver's c2 of the current round
  const std::string prefix = "ceramic-go-race2-" + std::to_string(getpid()) + "-";
  auto name = [&](int i) { return prefix + std::to_string(i); };

  Group g;
  g.go("selector", [&] {
    while (std::optional<int> i = take(prepare)) {
      Chan<int> c2 = kProcessMode ? Chan<int>::open(name(*i)) : *shared_c2;
      require(put(prepared, *i), "prepared closed");
      require(take_spinning(start).has_value(), "start closed");
      int got = kSelectorTookAValue;
      select(on_recv(c1, [](std::optional<int>) {}), on_recv(c2, [](std::optional<int>) {}),
             on_recv(idle[0], [](std::optional<int>) {}), on_recv(idle[1], [](std::optional<int>) {}),
             on_recv(idle[2], [](std::optional<int>) {}), on_recv(idle[3], [](std::optional<int>) {}),
             on_recv(idle[4], [](std::optional<int>) {}), on_recv(idle[5], [](std::optional<int>) {}),
             on_default([&] { got = kSelectorTookNothing; }));
      require(put(outcome, got), "outcome closed");
    }
  });

  const std::uint64_t s = seed();
  SCOPED_TRACE(seed_note(s));
  std::mt19937_64 rng(s);
  int defaults = 0;
  for (int i = 0; i < n; ++i) {
    const ChanOptions small{.max_waiters = 4};
    Chan<int> c2 = kProcessMode ? Chan<int>::create(name(i), small) : Chan<int>(small);
    if (!kProcessMode) shared_c2 = c2;
    require(put(prepare, i), "prepare closed");
    ASSERT_EQ(take(prepared), std::optional<int>(i));
    require(put(c1, 1), "c1 closed");
    require(put(start, i), "start closed");
    jitter(static_cast<std::uint32_t>(rng() % kJitterSteps));
    c2.close();
    take_if_there(c1);
    std::optional<int> got = take(outcome);
    ASSERT_TRUE(got.has_value());
    if (*got == kSelectorTookNothing) ++defaults;
  }
  prepare.close();
  EXPECT_EQ(g.wait(), "");
  EXPECT_EQ(defaults, 0) << verdict(defaults, n);
}

}  // namespace

namespace {

// Selectors with a default whose cases share channels (one of them twice, and in different
// orders in each selector) take values while a producer fills the channels: their looks under
// every case's lock at once (taken whenever a channel changed during the polls, which the
// producer makes frequent) never deadlock, and each value is taken exactly once.
TEST(GoNonblockSelectRace, SelectorsSharingChannelsNeverDeadlockAndTakeEachValueOnce) {
  const int n = rounds(20'000, 2'000);
  std::vector<Chan<int>> c;
  for (int i = 0; i < 3; ++i) c.emplace_back(ChanOptions{.capacity = 4});
  Chan<int> tally;  // selectors -> driver: each value taken
  Group g;
  for (int who = 0; who < 2; ++who) {
    g.go("selector " + std::to_string(who), [&, who] {
      for (bool more = true; more;) {
        std::optional<int> got;
        auto take = [&](std::optional<int> v) {
          got = v;
          if (!v) more = false;  // closed and drained: the driver has every value
        };
        const std::size_t fired =
            who == 0 ? select(on_recv(c[0], take), on_recv(c[1], take), on_recv(c[0], take),
                              on_recv(c[2], take), on_default([] {}))
                     : select(on_recv(c[2], take), on_recv(c[1], take), on_recv(c[0], take),
                              on_recv(c[2], take), on_default([] {}));
        if (fired == 4) continue;
        if (got) require(put(tally, *got), "tally closed");
      }
    });
  }
  g.go("producer", [&] {
    for (int v = 0; v < n; ++v) require(put(c[static_cast<std::size_t>(v) % 3], v), "closed");
  });
  std::vector<int> seen(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    std::optional<int> v = take(tally);
    ASSERT_TRUE(v.has_value());
    ASSERT_GE(*v, 0);
    ASSERT_LT(*v, n);
    ++seen[static_cast<std::size_t>(*v)];
  }
  for (Chan<int>& ch : c) ch.close();
  EXPECT_EQ(g.wait(), "");
  int twice = 0;
  for (int k : seen) twice += k != 1;
  EXPECT_EQ(twice, 0) << "values not taken exactly once (" << kMode << ")";
}

}  // namespace
