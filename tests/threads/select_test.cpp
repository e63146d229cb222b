// select in thread mode (runs under ThreadSanitizer): Go's semantics, one behaviour per test.
#include <array>
#include <cmath>
#include <numeric>
#include <thread>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::on_timeout;
using ceramic::select;

// Counts select block events on one channel, so a test can close a channel exactly when a
// select is waiting on it.
class SelectWatch final : public ceramic::hooks::Observer {
 public:
  explicit SelectWatch(std::uint64_t channel) : channel_(channel) {
    previous_ = ceramic::hooks::install(this);
  }
  ~SelectWatch() { ceramic::hooks::install(previous_); }
  void on_event(const ceramic::hooks::Record& r) noexcept override {
    if (r.channel == channel_ && r.op == ceramic::hooks::Op::select &&
        r.event == ceramic::hooks::Event::block) {
      blocked_.fetch_add(1);
    }
  }
  bool await_blocked() {
    return eventually([&] { return blocked_.load() >= 1; });
  }

 private:
  std::uint64_t channel_;
  std::atomic<int> blocked_{0};
  ceramic::hooks::Observer* previous_ = nullptr;
};

TEST(Select, ReceivesFromTheOnlyReadyChannel) {
  Chan<int> a, b;
  std::thread t([&] { b.send(7); });
  int got = 0;
  std::size_t fired = select(on_recv(a, [&](std::optional<int>) { got = -1; }),
                             on_recv(b, [&](std::optional<int> v) { got = *v; }),
                             on_timeout(kPatience, [&] { got = -2; }));
  t.join();
  EXPECT_EQ(fired, 1u);
  EXPECT_EQ(got, 7);
}

TEST(Select, SendsToTheOnlyReadyChannel) {
  Chan<int> a, b;
  std::optional<int> got;
  std::thread t([&] { got = b.recv(); });
  bool sent = false;
  std::size_t fired = select(on_send(a, 1, [] {}), on_send(b, 2, [&] { sent = true; }),
                             on_timeout(kPatience, [] {}));
  t.join();
  EXPECT_EQ(fired, 1u);
  EXPECT_TRUE(sent);
  EXPECT_EQ(got, 2);
}

TEST(Select, DefaultRunsWhenNothingIsReady) {
  Chan<int> a;
  bool dflt = false;
  EXPECT_EQ(select(on_recv(a, [](std::optional<int>) {}), on_default([&] { dflt = true; })), 1u);
  EXPECT_TRUE(dflt);
}

TEST(Select, NonBlockingTrySendAndTryRecvThroughDefault) {
  Chan<int> buf(ChanOptions{.capacity = 1});
  auto try_send = [&](int v) { return select(on_send(buf, v, [] {}), on_default([] {})) == 0; };
  auto try_recv = [&](int& v) {
    bool ok = false;
    select(on_recv(buf, [&](std::optional<int> x) { ok = x.has_value(); if (ok) v = *x; }),
           on_default([] {}));
    return ok;
  };
  int v = 0;
  EXPECT_FALSE(try_recv(v));
  EXPECT_TRUE(try_send(1));
  EXPECT_FALSE(try_send(2));  // full
  EXPECT_TRUE(try_recv(v));
  EXPECT_EQ(v, 1);
}

TEST(Select, TimeoutFiresWhenNoCaseCompletes) {
  Chan<int> a;
  bool timed_out = false;
  EXPECT_EQ(select(on_recv(a, [](std::optional<int>) {}),
                   on_timeout(std::chrono::milliseconds(20), [&] { timed_out = true; })),
            1u);
  EXPECT_TRUE(timed_out);
}

TEST(Select, ReceiveFromAClosedChannelIsReadyWithNullopt) {
  Chan<int> a, b;
  a.close();
  bool was_null = false;
  EXPECT_EQ(select(on_recv(b, [](std::optional<int>) {}),
                   on_recv(a, [&](std::optional<int> v) { was_null = !v; })),
            1u);
  EXPECT_TRUE(was_null);
}

TEST(Select, SendOnAClosedChannelThrows) {
  Chan<int> a;
  a.close();
  EXPECT_THROW(select(on_send(a, 1, [] {})), ceramic::ChannelClosed);
}

TEST(Select, CloseWakesABlockedSelect) {
  Chan<int> a, b;
  SelectWatch watch(a.id());
  std::thread closer([&] {
    EXPECT_TRUE(watch.await_blocked());
    a.close();
  });
  bool was_null = false;
  std::size_t fired = select(on_recv(a, [&](std::optional<int> v) { was_null = !v; }),
                             on_recv(b, [](std::optional<int>) {}),
                             on_timeout(kPatience, [] {}));
  closer.join();
  EXPECT_EQ(fired, 0u);
  EXPECT_TRUE(was_null);
}

TEST(Select, CloseWhileBlockedInASendCaseThrows) {
  Chan<int> a;
  SelectWatch watch(a.id());
  std::thread closer([&] {
    EXPECT_TRUE(watch.await_blocked());
    a.close();
  });
  EXPECT_THROW(select(on_send(a, 1, [] {}), on_timeout(kPatience, [] {})),
               ceramic::ChannelClosed);
  closer.join();
}

TEST(Select, SameChannelInTwoCasesNeverMeetsItself) {
  Chan<int> a;
  std::size_t fired = select(on_send(a, 1, [] {}), on_recv(a, [](std::optional<int>) {}),
                             on_timeout(std::chrono::milliseconds(20), [] {}));
  EXPECT_EQ(fired, 2u);  // nobody else: only the timeout can fire
}

// Both cases ready every time: each must win about half the time. With n = 4000 draws the
// standard deviation of the count is ~32; a share outside [40%, 60%] is >6 sigma away.
TEST(Select, ChoosesUniformlyAmongReadyCases) {
  Chan<int> a(ChanOptions{.capacity = 1}), b(ChanOptions{.capacity = 1});
  const int n = 4000;
  std::array<int, 2> wins{};
  for (int i = 0; i < n; ++i) {
    if (a.send_for(1, 0ns) != ceramic::Status::ok) {}
    if (b.send_for(2, 0ns) != ceramic::Status::ok) {}
    std::size_t fired = select(on_recv(a, [](std::optional<int>) {}),
                               on_recv(b, [](std::optional<int>) {}));
    ++wins[fired];
  }
  EXPECT_GT(wins[0], n * 40 / 100) << wins[0] << " vs " << wins[1];
  EXPECT_GT(wins[1], n * 40 / 100) << wins[0] << " vs " << wins[1];
}

// Several threads select over the same channels while several threads send distinct values:
// every value is received exactly once.
TEST(Select, ExactlyOnceUnderContention) {
  Chan<int> a, b(ChanOptions{.capacity = 4}), quit;
  const int per_sender = 500 * scale();
  const int senders = 3;
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(per_sender * senders * 2));
  std::vector<std::thread> receivers;
  for (int r = 0; r < 3; ++r) {
    receivers.emplace_back([&] {
      for (bool stop = false; !stop;) {
        select(on_recv(a, [&](std::optional<int> v) { seen[std::size_t(*v)]++; }),
               on_recv(b, [&](std::optional<int> v) { seen[std::size_t(*v)]++; }),
               on_recv(quit, [&](std::optional<int>) { stop = true; }));
      }
    });
  }
  std::vector<std::thread> producers;
  for (int s = 0; s < senders; ++s) {
    producers.emplace_back([&, s] {
      for (int i = 0; i < per_sender; ++i) {
        int v = (s * per_sender + i) * 2;
        // a select sender too: offers on both channels, exactly one takes it
        select(on_send(a, v, [] {}), on_send(b, v + 1, [] {}));
      }
    });
  }
  for (auto& t : producers) t.join();
  for (std::size_t i = 0; i < receivers.size(); ++i) quit.send(0);
  for (auto& t : receivers) t.join();
  int total = 0;
  for (std::size_t v = 0; v < seen.size(); v += 2) {
    int n = seen[v].load() + seen[v + 1].load();
    EXPECT_EQ(n, 1) << "value pair " << v / 2 << " received " << n << " times";
    total += n;
  }
  EXPECT_EQ(total, per_sender * senders);
}

TEST(Select, FanInFromManyProducers) {
  Chan<int> a, b, c;
  std::vector<std::thread> ts;
  for (auto* ch : {&a, &b, &c}) {
    ts.emplace_back([ch] {
      for (int i = 1; i <= 100; ++i) ch->send(i);
      ch->close();
    });
  }
  long sum = 0;
  int open = 3;
  bool a_open = true, b_open = true, c_open = true;
  while (open > 0) {
    auto take = [&](bool& flag) {
      return [&](std::optional<int> v) {
        if (v) {
          sum += *v;
        } else if (flag) {
          flag = false;
          --open;
        }
      };
    };
    select(on_recv(a, take(a_open)), on_recv(b, take(b_open)), on_recv(c, take(c_open)));
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(sum, 3 * 5050);
}

TEST(Select, LongStringsThroughSelectBothWays) {
  Chan<std::string> s;
  const std::string big = pattern(3 << 20, 42);
  std::thread t([&] {
    auto v = s.recv();
    s.send(*v);
  });
  select(on_send(s, big, [] {}));
  std::string back;
  select(on_recv(s, [&](std::optional<std::string> v) { back = v.value_or(""); }));
  t.join();
  EXPECT_EQ(pattern_mismatch(back, big.size(), 42), "");
}

}  // namespace
