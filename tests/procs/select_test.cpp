// select across processes: exactly-once under contention, close, and peers SIGKILLed at random
// moments while selects are in flight. Children report through exit codes and shared counters.
#include <chrono>
#include <csignal>
#include <random>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::on_timeout;
using ceramic::Proc;
using ceramic::select;
using ceramic::Status;

// Go's `select {}`: a select of no cases compiles and blocks forever, until the process is
// killed (docs/select.md).
TEST(SelectProcs, ASelectOfNoCasesBlocksUntilKilled) {
  Chan<int> ready;
  Proc child("forever", [&] {
    ready.send(1);
    ceramic::select();
  });
  ready.recv();   // the child is at (or about to enter) its select
  EXPECT_FALSE(child.join_for(std::chrono::milliseconds(50)).has_value()) << "select() returned";
  child.kill(SIGKILL);
  EXPECT_EQ(child.join(), 128 + SIGKILL);
}

TEST(SelectProcs, FanInFromChildProcesses) {
  Chan<int> a, b;
  Proc pa("A", [&] { for (int i = 1; i <= 200; ++i) a.send(i); });
  Proc pb("B", [&] { for (int i = 1; i <= 200; ++i) b.send(-i); });
  long plus = 0, minus = 0;
  for (int i = 0; i < 400; ++i) {
    std::size_t fired = select(on_recv(a, [&](std::optional<int> v) { plus += *v; }),
                               on_recv(b, [&](std::optional<int> v) { minus += *v; }),
                               on_timeout(kPatience, [] {}));
    ASSERT_LT(fired, 2u) << "timed out after " << i << " values";
  }
  EXPECT_EQ(plus, 20100);
  EXPECT_EQ(minus, -20100);
  EXPECT_TRUE(exits_with(pa, 0));
  EXPECT_TRUE(exits_with(pb, 0));
}

// Several processes each select over the same two channels while other processes send with a
// select over both: every value is received exactly once, and none is received twice.
TEST(SelectProcs, ExactlyOnceAcrossProcesses) {
  Chan<int> a, b(ChanOptions{.capacity = 2}), quit;
  const int per_sender = 300 * scale();
  const int senders = 2, receivers = 3;
  const std::size_t n = std::size_t(per_sender * senders);
  SharedArray<std::atomic<int>> seen(n);
  std::vector<Proc> procs;
  for (int r = 0; r < receivers; ++r) {
    procs.emplace_back("receiver", [&] {
      for (bool stop = false; !stop;) {
        select(on_recv(a, [&](std::optional<int> v) { seen[std::size_t(*v)].fetch_add(1); }),
               on_recv(b, [&](std::optional<int> v) { seen[std::size_t(*v)].fetch_add(1); }),
               on_recv(quit, [&](std::optional<int>) { stop = true; }));
      }
    });
  }
  std::vector<Proc> producers;
  for (int s = 0; s < senders; ++s) {
    producers.emplace_back("producer", [&, s] {
      for (int i = 0; i < per_sender; ++i) {
        int v = s * per_sender + i;
        select(on_send(a, v, [] {}), on_send(b, v, [] {}));
      }
    });
  }
  for (auto& p : producers) EXPECT_TRUE(exits_with(p, 0));
  for (int r = 0; r < receivers; ++r) ASSERT_EQ(quit.send_for(0, kPatience), Status::ok);
  for (auto& p : procs) EXPECT_TRUE(exits_with(p, 0));
  for (std::size_t v = 0; v < n; ++v) {
    ASSERT_EQ(seen[v].load(), 1) << "value " << v << " received " << seen[v].load() << " times";
  }
}

TEST(SelectProcs, CloseInAnotherProcessWakesASelect) {
  Chan<int> a, b, ready;
  Proc closer("closer", [&] {
    require(ready.recv().has_value(), "ready");
    a.close();
  });
  // The select may start before or after the close: either way it sees a closed channel.
  ready.send(1);
  bool was_null = false;
  std::size_t fired = select(on_recv(a, [&](std::optional<int> v) { was_null = !v; }),
                             on_recv(b, [](std::optional<int>) {}),
                             on_timeout(kPatience, [] {}));
  EXPECT_EQ(fired, 0u);
  EXPECT_TRUE(was_null);
  EXPECT_TRUE(exits_with(closer, 0));
}

// Victim processes select-send values while others select-receive; victims (on both sides)
// are SIGKILLed at random moments. Survivors never hang, and every value a survivor received
// came from a send that really happened, at most once.
TEST(SelectProcs, RandomKillsNeverHangOrDuplicate) {
  const std::uint64_t s = seed();
  SCOPED_TRACE(seed_note(s));
  std::mt19937_64 rng(s);
  Chan<int> a, b(ChanOptions{.capacity = 1});
  constexpr int kValues = 1 << 16;
  SharedArray<std::atomic<int>> received(kValues);
  SharedArray<std::atomic<int>> next(1);
  const int rounds = 10 * scale();
  for (int round = 0; round < rounds; ++round) {
    std::vector<Proc> victims;
    for (int k = 0; k < 2; ++k) {
      victims.emplace_back("victim-sender", [&] {
        for (;;) {
          int v = next[0].fetch_add(1);
          // Fast rounds can use up the values: then wait to be killed like any victim.
          if (v >= kValues) for (;;) pause();
          select(on_send(a, v, [] {}), on_send(b, v, [] {}));
        }
      });
      victims.emplace_back("victim-receiver", [&] {
        for (;;) {
          select(on_recv(a, [&](std::optional<int> v) { received[std::size_t(*v)].fetch_add(1); }),
                 on_recv(b, [&](std::optional<int> v) { received[std::size_t(*v)].fetch_add(1); }));
        }
      });
    }
    std::uniform_int_distribution<int> pause_us(0, 3000);
    usleep(static_cast<useconds_t>(pause_us(rng)));
    for (auto& v : victims) {
      v.kill(SIGKILL);
      usleep(static_cast<useconds_t>(pause_us(rng) / 4));
    }
    for (auto& v : victims) EXPECT_EQ(v.join(), 128 + SIGKILL);
  }
  // The channels still work after all that: a fresh pair meets on each.
  Proc survivor("survivor", [&] {
    int got = 0;
    require(a.recv_for(got, kPatience) == Status::ok, "a still works");
    require(b.recv_for(got, kPatience) == Status::ok, "b still works");
  });
  EXPECT_EQ(a.send_for(-1, kPatience), Status::ok);
  EXPECT_EQ(b.send_for(-2, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(survivor, 0));
  for (int v = 0; v < kValues; ++v) {
    ASSERT_LE(received[std::size_t(v)].load(), 1) << "value " << v << " received twice";
  }
}

}  // namespace
