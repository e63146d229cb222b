// Thread mode (run under TSan): the express hand-off (core/src/express.hpp), where a sender
// completes a lone waiting receiver without the channel lock, keeps exactly-once when the
// receivers' deadlines race the senders' claims (a receiver withdrawing at its deadline while
// a sender takes it: exactly one of them wins) and when close races both.
#include <random>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::Status;

TEST(Express, ShortDeadlinesOnBothSidesKeepExactlyOnce) {
  Chan<std::uint64_t> c;  // unbuffered, 8-byte values: a lone receiver waits on the express line
  constexpr int kSenders = 2;
  constexpr int kReceivers = 2;
  constexpr std::uint64_t kPerSender = 20000;
  constexpr std::uint64_t kTotal = kSenders * kPerSender;
  Counters sent(kTotal);
  Counters received(kTotal);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  const std::uint64_t sd = seed();
  SCOPED_TRACE(seed_note(sd));
  {
    std::vector<std::jthread> threads;
    for (int r = 0; r < kReceivers; ++r) {
      threads.emplace_back([&, r] {
        std::mt19937_64 rng(sd + 100 + std::uint64_t(r));
        std::uniform_int_distribution<int> us(0, 40);
        for (;;) {
          std::uint64_t v = 0;
          const Status st = c.recv_for(v, std::chrono::microseconds(us(rng)));
          if (st == Status::closed) return;
          if (st == Status::timeout) continue;
          if (st != Status::ok || v >= kTotal) {
            ADD_FAILURE() << "recv_for returned " << str(st) << " / value " << v;
            ++failures;
            return;
          }
          received[v].fetch_add(1);
        }
      });
    }
    std::vector<std::jthread> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.emplace_back([&, s] {
        std::mt19937_64 rng(sd + std::uint64_t(s));
        std::uniform_int_distribution<int> us(0, 40);
        for (std::uint64_t i = 0; i < kPerSender; ++i) {
          const std::uint64_t id = std::uint64_t(s) * kPerSender + i;
          Status st = Status::timeout;
          while (st == Status::timeout) st = c.send_for(id, std::chrono::microseconds(us(rng)));
          if (st != Status::ok) {
            ADD_FAILURE() << "send_for returned " << str(st);
            ++failures;
            return;
          }
          sent[id].fetch_add(1);
        }
      });
    }
    for (auto& t : senders) t.join();
    done = true;
    c.close();
  }
  ASSERT_EQ(failures.load(), 0);
  for (std::uint64_t v = 0; v < kTotal; ++v) {
    ASSERT_EQ(sent[v].load(), 1u) << "value " << v;
    ASSERT_EQ(received[v].load(), 1u) << "value " << v << " (sent ok once)";
  }
}

TEST(Express, CloseRacingSendersAndALoneReceiverLosesNothing) {
  for (int round = 0; round < 200 * scale(); ++round) {
    Chan<int> c;
    std::atomic<int> sent_ok{0};
    std::atomic<int> got{0};
    {
      std::jthread receiver([&] {
        while (c.recv().has_value()) ++got;
      });
      std::jthread sender([&] {
        for (int i = 0; i < 50; ++i) {
          if (c.send_for(i, kPatience) != Status::ok) return;
          ++sent_ok;
        }
      });
      std::this_thread::sleep_for(std::chrono::microseconds(round % 50));
      c.close();
    }
    ASSERT_EQ(sent_ok.load(), got.load()) << "round " << round;
  }
}

}  // namespace
