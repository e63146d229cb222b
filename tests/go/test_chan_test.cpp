// Go's test/chan programs, written again in ceramic's API: doubleselect.go, select5.go's
// combinations (generated here, not from Go's generator's output) and sieve1.go.
//
// Differences by design: Go's nil channel in a select is `never`, a channel nobody else holds;
// select5 checks that a case that cannot proceed blocks by running the select in a goroutine
// and watching it not finish, which depends on timing; here such a select has a default or a
// short timeout, and nothing can ever make its case ready, so that the default or the timeout
// must fire whatever the timing.
#include <string>
#include <vector>

#include "go_support.hpp"

namespace {

using namespace ceramic_go;
using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::on_timeout;
using ceramic::select;

// doubleselect.go: a sender offers each value on four channels at once in a select; a relay per
// channel forwards what it receives to one channel; the receiver sees every value exactly once.
TEST(GoDoubleSelect, EachValueOfferedOnFourChannelsArrivesOnce) {
  const int n = rounds(10'000, 1'000);
  std::vector<Chan<int>> c(4);
  Chan<int> mux;
  Chan<int> relayed(ChanOptions{.capacity = 4});
  Group g;
  g.go("sender", [&] {
    for (int i = 1; i <= n; ++i) {
      select(on_send(c[0], i, [] {}), on_send(c[1], i, [] {}), on_send(c[2], i, [] {}),
             on_send(c[3], i, [] {}), or_give_up("sender"));
    }
    for (Chan<int>& ch : c) ch.close();
  });
  for (std::size_t k = 0; k < 4; ++k) {
    g.go("relay " + std::to_string(k), [&, k] {
      while (std::optional<int> v = take(c[k])) require(put(mux, *v), "mux closed");
      require(put(relayed, 1), "relayed closed");
    });
  }
  g.go("closer", [&] {
    for (int k = 0; k < 4; ++k) require(take(relayed).has_value(), "relayed closed");
    mux.close();
  });
  std::vector<int> seen(static_cast<std::size_t>(n) + 1, 0);
  int bad = 0;
  while (std::optional<int> v = take(mux)) {
    if (*v < 1 || *v > n) {
      ++bad;
    } else {
      ++seen[static_cast<std::size_t>(*v)];
    }
  }
  EXPECT_EQ(g.wait(), "");
  int not_once = bad;
  for (int i = 1; i <= n; ++i) not_once += seen[static_cast<std::size_t>(i)] != 1;
  EXPECT_EQ(not_once, 0) << kMode << ": values not received exactly once";
}

// select5.go's combinations: one real case (a receive or a send, on an unbuffered or a buffered
// channel, ready or not) at each position among two cases that can never fire, with or without
// a default. The real case fires when it is ready; otherwise the default, or without one the
// timeout (nothing can ever make the case ready), fires; a disabled case never does.
struct Combination {
  bool send;
  std::size_t capacity;
  bool ready;
  bool with_default;
  std::size_t position;  // of the real case among the three channel cases
  std::string name() const {
    return std::string(send ? "send" : "recv") + (capacity ? " buffered" : " unbuffered") +
           (ready ? " ready" : " not ready") + (with_default ? " default" : " no default") +
           " at " + std::to_string(position);
  }
};

std::vector<Combination> all_combinations() {
  std::vector<Combination> out;
  for (bool send : {false, true}) {
    for (std::size_t capacity : {std::size_t{0}, std::size_t{1}}) {
      for (bool ready : {false, true}) {
        for (bool with_default : {false, true}) {
          for (std::size_t position = 0; position < 3; ++position) {
            out.push_back({send, capacity, ready, with_default, position});
          }
        }
      }
    }
  }
  return out;
}

constexpr std::size_t kFallback = 3;  // the default's (or the timeout's) index

// One select with the real case at `position`: make() builds the real case.
template <class MakeReal>
std::size_t select_at(std::size_t position, Chan<int>& never, bool with_default,
                      std::chrono::nanoseconds timeout, MakeReal make) {
  auto off = [&] { return on_recv(never, [](std::optional<int>) { throw std::logic_error("a disabled case fired"); }); };
  auto last = [&](auto&&... cs) {
    if (with_default) return select(cs..., on_default([] {}));
    return select(cs..., on_timeout(timeout, [] {}));
  };
  switch (position) {
    case 0: return last(make(), off(), off());
    case 1: return last(off(), make(), off());
    default: return last(off(), off(), make());
  }
}

TEST(GoSelect5, EveryCombinationOfCaseKindBufferReadinessAndDefault) {
  std::string failures;
  for (const Combination& k : all_combinations()) {
    Chan<int> ch(ChanOptions{.capacity = k.capacity});
    Chan<int> never;
    Group partner;
    if (k.ready && k.capacity == 0) {
      // The partner: the other side of the real case, once.
      if (k.send) {
        partner.go("receiver", [&] { require(take(ch) == std::optional<int>(42), "wrong value"); });
      } else {
        partner.go("sender", [&] { require(put(ch, 42), "closed"); });
      }
    } else if (k.capacity == 1 && (k.send ? !k.ready : k.ready)) {
      require(put(ch, k.send ? 7 : 42), "closed");  // send: full; receive: a value waiting
    }
    int got = 0;
    std::size_t fired = kFallback;
    const auto give_up = Clock::now() + kPatience;
    for (;;) {
      // Without a default, a ready case is bounded by the test's patience, an unready one
      // times out at once (nothing can make it ready).
      const auto timeout = k.ready ? std::chrono::nanoseconds(kPatience) : std::chrono::nanoseconds(1ms);
      if (k.send) {
        fired = select_at(k.position, never, k.with_default, timeout,
                          [&] { return on_send(ch, 42, [] {}); });
      } else {
        fired = select_at(k.position, never, k.with_default, timeout, [&] {
          return on_recv(ch, [&](std::optional<int> v) { got = v.value_or(-1); });
        });
      }
      // An unbuffered partner may not have arrived yet: with a default, look again.
      if (!(k.ready && k.capacity == 0 && k.with_default && fired == kFallback)) break;
      if (Clock::now() > give_up) break;
      std::this_thread::yield();
    }
    const std::size_t want = k.ready ? k.position : kFallback;
    std::string why;
    if (fired != want) why += " fired " + std::to_string(fired) + ", want " + std::to_string(want);
    if (k.ready && !k.send && got != 42) why += " received " + std::to_string(got);
    if (k.ready && k.send && k.capacity == 1 && take(ch) != std::optional<int>(42)) {
      why += " the buffered value is not the one sent";
    }
    if (std::string p = partner.wait(); !p.empty()) why += " partner: " + p;
    if (!why.empty()) failures += k.name() + ":" + why + "\n";
  }
  EXPECT_EQ(failures, "") << kMode;
}

// sieve1.go: a generator of 2, 3, 4, ... feeds a chain of filters, one per prime found, each
// removing the multiples of its prime; the head of the chain yields the primes in order.
TEST(GoSieve, ChainOfFiltersYieldsThePrimesInOrder) {
  const int count = kProcessMode ? 25 : 50;  // a filter each (a process each in process mode)
  std::vector<Chan<int>> links;               // every channel of the chain, closed at the end
  links.emplace_back();
  Group g;
  g.go("generate", [&, out = links.back()]() mutable {
    for (int i = 2;; ++i) {
      if (!put(out, i)) return;  // closed: the sieve is done
    }
  });
  std::vector<int> primes;
  for (int i = 0; i < count; ++i) {
    Chan<int> in = links.back();
    std::optional<int> prime = take(in);
    ASSERT_TRUE(prime.has_value());
    primes.push_back(*prime);
    links.emplace_back();
    g.go("filter " + std::to_string(*prime), [in, out = links.back(), p = *prime]() mutable {
      while (std::optional<int> v = take(in)) {
        if (*v % p != 0 && !put(out, *v)) return;
      }
    });
  }
  for (Chan<int>& ch : links) ch.close();
  EXPECT_EQ(g.wait(), "");
  std::vector<int> want;
  for (int v = 2; static_cast<int>(want.size()) < count; ++v) {
    bool prime = true;
    for (int d = 2; d * d <= v; ++d) prime = prime && v % d != 0;
    if (prime) want.push_back(v);
  }
  EXPECT_EQ(primes, want) << kMode;
}

}  // namespace
