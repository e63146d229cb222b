// Thread mode: many senders and many receivers deliver every value exactly once; values of
// every size arrive intact.
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Status;

// kSenders threads send distinct values, kReceivers threads receive until close; each value is
// counted once by whoever receives it.
template <class T, class Make, class Identify>
void exactly_once_between_threads(std::size_t capacity, int per_sender, Make make,
                                  Identify identify) {
  Chan<T> c(ChanOptions{.capacity = capacity});
  constexpr int kSenders = 4;
  constexpr int kReceivers = 4;
  const int total = kSenders * per_sender;
  Counters received(total);
  std::atomic<int> failures{0};
  {
    std::vector<std::jthread> senders;
    std::vector<std::jthread> receivers;
    for (int r = 0; r < kReceivers; ++r) {
      receivers.emplace_back([&] {
        for (;;) {
          T v{};
          Status st = c.recv_for(v, kPatience);
          if (st == Status::closed) return;
          std::int64_t id = st == Status::ok ? identify(v) : -1;
          if (id < 0 || id >= total) {
            ADD_FAILURE() << "recv_for returned " << str(st) << " / malformed value";
            ++failures;
            return;
          }
          received[id].fetch_add(1);
        }
      });
    }
    for (int s = 0; s < kSenders; ++s) {
      senders.emplace_back([&, s] {
        for (int i = 0; i < per_sender; ++i) {
          Status st = c.send_for(make(s * per_sender + i), kPatience);
          if (st != Status::ok) {
            ADD_FAILURE() << "send_for returned " << str(st);
            ++failures;
            return;
          }
        }
      });
    }
    for (auto& t : senders) t.join();
    c.close();
  }
  ASSERT_EQ(failures, 0);
  for (int v = 0; v < total; ++v) {
    ASSERT_EQ(received[v].load(), 1u) << "value " << v;
  }
}

int int_value(int id) { return id; }
std::int64_t int_id(int v) { return v; }

TEST(Mpmc, EveryIntReceivedExactlyOnceUnbuffered) {
  exactly_once_between_threads<int>(0, 5000 * scale(), int_value, int_id);
}

TEST(Mpmc, EveryIntReceivedExactlyOnceBuffered) {
  exactly_once_between_threads<int>(16, 5000 * scale(), int_value, int_id);
}

TEST(Mpmc, EveryStringReceivedExactlyOnceUnbuffered) {
  exactly_once_between_threads<std::string>(0, 500 * scale(), tagged_value, tagged_id);
}

TEST(Mpmc, EveryStringReceivedExactlyOnceBuffered) {
  exactly_once_between_threads<std::string>(8, 500 * scale(), tagged_value, tagged_id);
}

TEST(Mpmc, MoreWaitersThanMaxWaitersStillDeliverEverything) {
  Chan<int> c(ChanOptions{.capacity = 0, .max_waiters = 2});
  constexpr int kThreads = 6;
  const int per_sender = 300 * scale();
  const int total = kThreads * per_sender;
  Counters received(total);
  {
    std::vector<std::jthread> threads;
    for (int s = 0; s < kThreads; ++s) {
      threads.emplace_back([&, s] {
        for (int i = 0; i < per_sender; ++i) {
          EXPECT_EQ(c.send_for(s * per_sender + i, kPatience), Status::ok);
        }
      });
      threads.emplace_back([&] {
        for (int i = 0; i < per_sender; ++i) {
          int v = -1;
          EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
          if (v >= 0 && v < total) received[v].fetch_add(1);
        }
      });
    }
  }
  for (int v = 0; v < total; ++v) ASSERT_EQ(received[v].load(), 1u) << "value " << v;
}

// ---- large values ------------------------------------------------------------------------------

const std::size_t kInline = ChanOptions{}.inline_bytes;

struct SizeCase {
  const char* name;
  std::size_t bytes;
};
const SizeCase kSizes[] = {{"Empty", 0},
                           {"OneByte", 1},
                           {"ExactlyInlineBytes", kInline},
                           {"InlineBytesPlusOne", kInline + 1},
                           {"OneMiB", std::size_t{1} << 20},
                           {"SixteenMiB", std::size_t{16} << 20}};

class StringBetweenThreads : public ::testing::TestWithParam<SizeCase> {};

TEST_P(StringBetweenThreads, ArrivesIntactUnbuffered) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c;
  std::jthread sender([&] { EXPECT_EQ(c.send_for(pattern(n, n), kPatience), Status::ok); });
  std::string got = "junk";
  ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
  EXPECT_EQ(pattern_mismatch(got, n, n), "");
}

TEST_P(StringBetweenThreads, ArrivesIntactThroughABuffer) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c(ChanOptions{.capacity = 1});
  ASSERT_EQ(c.send_for(pattern(n, n + 1), 0ns), Status::ok) << "queued with no receiver";
  std::string got = "junk";
  ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
  EXPECT_EQ(pattern_mismatch(got, n, n + 1), "");
}

TEST_P(StringBetweenThreads, ReceiverBlockedFirstGetsItIntact) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c;
  BlockWatch watch(c.id());
  std::string got = "junk";
  Status st = Status::timeout;
  std::jthread receiver([&] { st = c.recv_for(got, kPatience); });
  EXPECT_TRUE(watch.await_receivers(1));
  EXPECT_EQ(c.send_for(pattern(n, 3 * n), kPatience), Status::ok);
  receiver.join();
  ASSERT_EQ(st, Status::ok);
  EXPECT_EQ(pattern_mismatch(got, n, 3 * n), "");
}

INSTANTIATE_TEST_SUITE_P(LargeValues, StringBetweenThreads, ::testing::ValuesIn(kSizes),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(LargeValues, BufferedLargeStringsQueueWithoutAReceiverAndArriveLater) {
  const std::size_t sizes[] = {0, kInline + 1, std::size_t{1} << 20, std::size_t{16} << 20};
  Chan<std::string> c(ChanOptions{.capacity = 4});
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(c.send_for(pattern(sizes[i], i), 0ns), Status::ok) << "value " << i;
  }
  EXPECT_EQ(c.send_for("one too many", 0ns), Status::timeout);
  for (std::size_t i = 0; i < 4; ++i) {
    std::string got;
    ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
    EXPECT_EQ(pattern_mismatch(got, sizes[i], i), "") << "value " << i;
  }
}

// One string receives values that make it grow (past its capacity and within it), shrink and
// stay the same length, inline and long: each time it holds exactly the value, terminated.
const std::size_t kResizes[] = {kInline + 1, std::size_t{1} << 20, std::size_t{1} << 20, 10,
                                3000, 2999, std::size_t{16} << 20, 0, 100, 100};

void expect_received_in_one_string(Chan<std::string> c) {
  std::string got = "junk";
  for (std::size_t i = 0; i < std::size(kResizes); ++i) {
    ASSERT_EQ(c.recv_for(got, kPatience), Status::ok) << "value " << i;
    EXPECT_EQ(pattern_mismatch(got, kResizes[i], i), "") << "value " << i;
    EXPECT_EQ(got.c_str()[got.size()], '\0') << "value " << i;
  }
}

TEST(LargeValues, OneStringReceivesValuesThatGrowShrinkAndStayUnbuffered) {
  Chan<std::string> c;
  std::jthread sender([&] {
    for (std::size_t i = 0; i < std::size(kResizes); ++i) {
      EXPECT_EQ(c.send_for(pattern(kResizes[i], i), kPatience), Status::ok) << "value " << i;
    }
  });
  expect_received_in_one_string(c);
}

TEST(LargeValues, OneStringReceivesValuesThatGrowShrinkAndStayThroughABuffer) {
  Chan<std::string> c(ChanOptions{.capacity = std::size(kResizes)});
  for (std::size_t i = 0; i < std::size(kResizes); ++i) {
    ASSERT_EQ(c.send_for(pattern(kResizes[i], i), 0ns), Status::ok) << "value " << i;
  }
  expect_received_in_one_string(c);
}

TEST(LargeValues, SmallInlineBytesBoundaryIsRespected) {
  const std::size_t inline_bytes = 16;
  Chan<std::string> c(ChanOptions{.capacity = 0, .max_waiters = 64, .inline_bytes = inline_bytes});
  const std::size_t sizes[] = {0, 15, 16, 17, 4096, 100000};
  std::jthread sender([&] {
    for (std::size_t n : sizes) EXPECT_EQ(c.send_for(pattern(n, n), kPatience), Status::ok);
  });
  for (std::size_t n : sizes) {
    std::string got;
    ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
    EXPECT_EQ(pattern_mismatch(got, n, n), "") << n << " bytes";
  }
}

TEST(LargeValues, ManyThreadsExchangeLargeStringsConcurrently) {
  Chan<std::string> c;
  constexpr int kPairs = 3;
  const int per_sender = 6 * scale();
  const std::size_t n = std::size_t{1} << 20;
  Counters received(kPairs * per_sender);
  {
    std::vector<std::jthread> threads;
    for (int p = 0; p < kPairs; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_sender; ++i) {
          std::string v = pattern(n, p * per_sender + i);
          EXPECT_EQ(c.send_for(v, kPatience), Status::ok);
        }
      });
      threads.emplace_back([&] {
        for (int i = 0; i < per_sender; ++i) {
          std::string got;
          ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
          int matched = -1;
          for (int id = 0; id < kPairs * per_sender && matched < 0; ++id) {
            std::uint64_t first = splitmix64(std::uint64_t(id) * 0x100000001b3ull);
            if (std::memcmp(got.data(), &first, 8) == 0) matched = id;
          }
          ASSERT_GE(matched, 0) << "a value no sender sent";
          EXPECT_EQ(pattern_mismatch(got, n, matched), "");
          received[matched].fetch_add(1);
        }
      });
    }
  }
  for (int id = 0; id < kPairs * per_sender; ++id) EXPECT_EQ(received[id].load(), 1u) << id;
}

}  // namespace
