// Go's runtime/chan_test.go, the select and multi-consumer tests, written again in ceramic's API:
// TestSelectStress, TestSelectFairness, TestMultiConsumer. Exactly-once is checked by counting:
// every value carries its origin, and the receivers' counts and sums must add up.
//
// Differences by design: Go disables a select case by setting its channel to nil; ceramic's
// cases are fixed at the call, so a disabled case names `never`, a channel that nobody else
// holds and that is never ready (a nil channel's behaviour in a select); two selects must not
// share one, or they would meet on it.
#include <cstdint>
#include <string>
#include <vector>

#include "go_support.hpp"

namespace {

using namespace ceramic_go;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;

struct Tally {
  std::int64_t count;
  std::int64_t sum;
};

// TestSelectStress: four channels (two unbuffered, capacities 2 and 3); per channel a plain
// sender and a plain receiver of N values; one selector sending N values on each channel in a
// single select and one receiving N from each. Nothing may deadlock, and every value sent is
// received once.
TEST(GoSelectStress, PlainAndSelectingSidesMixWithoutDeadlockEachValueOnce) {
  const std::int64_t n = rounds(5'000, 300);
  std::vector<Chan<std::int64_t>> c;
  c.emplace_back();
  c.emplace_back();
  c.emplace_back(ChanOptions{.capacity = 2});
  c.emplace_back(ChanOptions{.capacity = 3});
  // Each selector its own `never`: two selects on one channel would meet there, where Go's two
  // nil channels never do.
  Chan<std::int64_t> never_send;
  Chan<std::int64_t> never_recv;
  Chan<Tally> totals(ChanOptions{.capacity = 8});  // each receiver's count and sum
  // Value of the i-th send on channel k: by the plain sender (0 <= i < n) or the selector
  // (n <= i < 2n). Sums identify a lost or doubled value.
  auto value = [n](std::int64_t k, std::int64_t i) { return k * 2 * n + i + 1; };
  Group g;
  for (std::int64_t k = 0; k < 4; ++k) {
    g.go("sender " + std::to_string(k), [&, k] {
      for (std::int64_t i = 0; i < n; ++i) require(put(c[k], value(k, i)), "closed");
    });
    g.go("receiver " + std::to_string(k), [&, k] {
      std::int64_t sum = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        std::optional<std::int64_t> v = take(c[k]);
        require(v.has_value(), "closed");
        sum += *v;
      }
      require(put(totals, Tally{n, sum}), "totals closed");
    });
  }
  g.go("select sender", [&] {
    std::int64_t sent[4] = {0, 0, 0, 0};
    std::vector<Chan<std::int64_t>> live = c;  // a channel done with is replaced by `never`
    for (std::int64_t i = 0; i < 4 * n; ++i) {
      std::int64_t v[4];
      for (std::int64_t k = 0; k < 4; ++k) v[k] = value(k, n + sent[k]);
      auto done = [&](std::size_t k) {
        return [&, k] {
          if (++sent[k] == n) live[k] = never_send;
        };
      };
      select(on_send(live[3], v[3], done(3)), on_send(live[2], v[2], done(2)),
             on_send(live[0], v[0], done(0)), on_send(live[1], v[1], done(1)),
             or_give_up("select sender"));
    }
  });
  g.go("select receiver", [&] {
    std::int64_t got[4] = {0, 0, 0, 0};
    std::int64_t sum = 0;
    std::vector<Chan<std::int64_t>> live = c;
    for (std::int64_t i = 0; i < 4 * n; ++i) {
      auto took = [&](std::size_t k) {
        return [&, k](std::optional<std::int64_t> v) {
          require(v.has_value(), "closed");
          sum += *v;
          if (++got[k] == n) live[k] = never_recv;
        };
      };
      select(on_recv(live[0], took(0)), on_recv(live[1], took(1)), on_recv(live[2], took(2)),
             on_recv(live[3], took(3)), or_give_up("select receiver"));
    }
    require(put(totals, Tally{4 * n, sum}), "totals closed");
  });
  EXPECT_EQ(g.wait(), "");
  std::int64_t count = 0;
  std::int64_t sum = 0;
  for (int r = 0; r < 5; ++r) {
    std::optional<Tally> t = take(totals);
    ASSERT_TRUE(t.has_value());
    count += t->count;
    sum += t->sum;
  }
  std::int64_t want = 0;
  for (std::int64_t k = 0; k < 4; ++k) {
    for (std::int64_t i = 0; i < 2 * n; ++i) want += value(k, i);
  }
  EXPECT_EQ(count, 8 * n) << kMode;
  EXPECT_EQ(sum, want) << kMode << ": a value was lost or received twice";
}

// TestSelectFairness: with two cases always ready (and two disabled), each is chosen about half
// of the time. Go bounds the count so that a fair select fails once in 10^9 runs or so; here
// six standard deviations of the binomial (a fair select fails once in 10^8 runs or so).
TEST(GoSelectFairness, TwoReadyCasesAreChosenAboutEquallyOften) {
  const int trials = 10'000;  // not scaled: the bound depends on it
  Chan<int> c1(ChanOptions{.capacity = 1});
  Chan<int> c2(ChanOptions{.capacity = 1});
  Chan<int> never;
  require(put(c1, 1) && put(c2, 2), "closed");
  int counts[2] = {0, 0};
  for (int i = 0; i < trials; ++i) {
    int got = 0;
    auto take_it = [&](std::optional<int> v) { got = v.value_or(0); };
    select(on_recv(c1, take_it), on_recv(c2, take_it), on_recv(never, take_it),
           on_recv(never, take_it), or_give_up("fairness"));
    ASSERT_TRUE(got == 1 || got == 2);
    ++counts[got - 1];
    require(put(got == 1 ? c1 : c2, got), "closed");  // ready again
  }
  // mean 5000, standard deviation 50
  EXPECT_GT(counts[0], trials / 2 - 300) << counts[0] << " vs " << counts[1];
  EXPECT_LT(counts[0], trials / 2 + 300) << counts[0] << " vs " << counts[1];
}

// TestMultiConsumer: workers range over a buffered work channel and forward every value to a
// result channel; a feeder closes the work channel when done, and the result channel once every
// worker has ended. The consumer must see every value once (count and sum).
TEST(GoMultiConsumer, EveryValueFedIsForwardedOnceBySomeWorker) {
  const int nwork = kProcessMode ? 8 : 23;  // a process each in process mode
  const int niter = rounds(20'000, 2'000);
  const int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
  Chan<int> q(ChanOptions{.capacity = static_cast<std::size_t>(nwork) * 3});
  Chan<int> r(ChanOptions{.capacity = static_cast<std::size_t>(nwork) * 3});
  Chan<int> ended(ChanOptions{.capacity = static_cast<std::size_t>(nwork)});  // Go's WaitGroup
  Group g;
  for (int w = 0; w < nwork; ++w) {
    g.go("worker " + std::to_string(w), [&, w] {
      while (std::optional<int> v = take(q)) {
        if (pn[w % 10] == *v) std::this_thread::yield();  // mess with the FIFO-ish order
        require(put(r, *v), "results closed");
      }
      require(put(ended, w), "ended closed");
    });
  }
  g.go("feeder", [&] {
    for (int i = 0; i < niter; ++i) require(put(q, pn[i % 10]), "work closed");
    q.close();
    for (int w = 0; w < nwork; ++w) require(take(ended).has_value(), "ended closed");
    r.close();
  });
  std::int64_t expect = 0;
  for (int i = 0; i < niter; ++i) expect += pn[i % 10];
  int n = 0;
  std::int64_t s = 0;
  while (std::optional<int> v = take(r)) {
    ++n;
    s += *v;
  }
  EXPECT_EQ(g.wait(), "");
  EXPECT_EQ(n, niter) << kMode;
  EXPECT_EQ(s, expect) << kMode;
}

}  // namespace
