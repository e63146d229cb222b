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

// Receivers that park on the express line without the lock, against everything that takes
// the lock at the same moments: timed and plain receivers, senders, polls that take a value or
// offer one, and close at the end. Every value sent ok is received exactly once.
TEST(Express, LockFreeParksAgainstLockedPollsDeliverExactlyOnce) {
  constexpr int kSenders = 2;
  constexpr int kPerSender = 600;
  for (int round = 0; round < 2 * scale(); ++round) {
    Chan<int> c;
    std::vector<std::atomic<int>> seen(kSenders * kPerSender + 1000);
    std::atomic<int> sent_ok{0};
    std::atomic<int> got{0};
    auto take = [&](int v) {
      ASSERT_GE(v, 0);
      ASSERT_LT(v, static_cast<int>(seen.size()));
      ++seen[v];
      ++got;
    };
    {
      std::vector<std::jthread> receivers;
      for (int r = 0; r < 2; ++r) {
        receivers.emplace_back([&, r] {
          int v = 0;
          for (int i = 0;; ++i) {
            Status st = (r == 0 || i % 3 != 0) ? c.recv_for(v, kPatience)
                                               : c.recv_for(v, std::chrono::microseconds(i % 40));
            if (st == Status::ok) take(v);
            if (st == Status::closed) return;
          }
        });
      }
      std::jthread poller([&] {
        int v = 0;
        for (int i = 0;; ++i) {
          if (i % 2 == 0) {
            Status st = c.recv_for(v, std::chrono::nanoseconds(0));
            if (st == Status::ok) take(v);
            if (st == Status::closed) return;
          } else {
            Status st = c.send_for(kSenders * kPerSender + i % 1000, std::chrono::nanoseconds(0));
            if (st == Status::ok) ++sent_ok;
            if (st == Status::closed) return;
          }
        }
      });
      {
        std::vector<std::jthread> senders;
        for (int t = 0; t < kSenders; ++t) {
          senders.emplace_back([&, t] {
            for (int i = 0; i < kPerSender; ++i) {
              ASSERT_EQ(c.send_for(t * kPerSender + i, kPatience), Status::ok);
              ++sent_ok;
            }
          });
        }
      }
      // Every sender is done; the receivers drain what the poller still offers, then close.
      c.close();
    }
    ASSERT_EQ(sent_ok.load(), got.load()) << "round " << round;
    for (int v = 0; v < kSenders * kPerSender; ++v) {
      ASSERT_EQ(seen[v].load(), 1) << "value " << v << " round " << round;
    }
  }
}

}  // namespace
