// Thread mode: the seed library's tests (recv on main, send on main, ping-pong, two senders,
// close read, close write, timeout, iteration, timeout after send) plus the rendezvous
// semantics of DESIGN.md, between threads of one process.
#include <array>
#include <set>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Status;

TEST(Rendezvous, RecvOnMainReceivesValueSentByThread) {
  Chan<int> c;
  std::jthread sender([&] { EXPECT_EQ(c.send_for(42, kPatience), Status::ok); });
  int v = 0;
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 42);
  sender.join();
}

TEST(Rendezvous, SendOnMainIsReceivedByThread) {
  Chan<int> c;
  int got = 0;
  Status st = Status::timeout;
  std::jthread receiver([&] { st = c.recv_for(got, kPatience); });
  EXPECT_EQ(c.send_for(7, kPatience), Status::ok);
  receiver.join();
  EXPECT_EQ(st, Status::ok);
  EXPECT_EQ(got, 7);
}

TEST(Rendezvous, PingPongAlternatesOnOneChannel) {
  Chan<int> c;
  const int rounds = 1000 * scale();
  std::jthread echo([&] {
    for (int i = 0; i < rounds; ++i) {
      int v = 0;
      if (c.recv_for(v, kPatience) != Status::ok) return;
      if (c.send_for(v + 1, kPatience) != Status::ok) return;
    }
  });
  int v = 0;
  for (int i = 0; i < rounds; ++i) {
    ASSERT_EQ(c.send_for(v, kPatience), Status::ok) << "round " << i;
    int back = -1;
    ASSERT_EQ(c.recv_for(back, kPatience), Status::ok) << "round " << i;
    ASSERT_EQ(back, v + 1) << "round " << i;
    v = back;
  }
  echo.join();
}

TEST(Rendezvous, TwoThreadsBothDeliverToMain) {
  Chan<int> c;
  std::jthread a([&] { EXPECT_EQ(c.send_for(1, kPatience), Status::ok); });
  std::jthread b([&] { EXPECT_EQ(c.send_for(2, kPatience), Status::ok); });
  std::multiset<int> got;
  for (int i = 0; i < 2; ++i) {
    int v = 0;
    ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
    got.insert(v);
  }
  a.join();
  b.join();
  EXPECT_EQ(got, (std::multiset<int>{1, 2}));
}

TEST(Rendezvous, SendWaitsUntilAReceiverTakesTheValue) {
  Chan<int> c;
  BlockWatch watch(c.id());
  std::atomic<bool> send_returned{false};
  std::jthread sender([&] {
    c.send(5);
    send_returned = true;
  });
  EXPECT_TRUE(watch.await_senders(1)) << "the sender never blocked";
  EXPECT_FALSE(send_returned) << "send returned with no receiver";
  int v = 0;
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  sender.join();
  EXPECT_TRUE(send_returned);
  EXPECT_EQ(v, 5);
}

TEST(Rendezvous, RecvWaitsUntilASenderOffersAValue) {
  Chan<int> c;
  BlockWatch watch(c.id());
  std::atomic<bool> recv_returned{false};
  std::optional<int> got;
  std::jthread receiver([&] {
    got = c.recv();
    recv_returned = true;
  });
  EXPECT_TRUE(watch.await_receivers(1)) << "the receiver never blocked";
  EXPECT_FALSE(recv_returned) << "recv returned with no sender";
  EXPECT_EQ(c.send_for(9, kPatience), Status::ok);
  receiver.join();
  EXPECT_EQ(got, 9);
}

// Waiters are served first come, first served: each waiter is started only once the previous
// one is known to be blocked, so the arrival order is certain.
TEST(Rendezvous, BlockedReceiversAreServedInArrivalOrder) {
  Chan<int> c;
  BlockWatch watch(c.id());
  constexpr int kReceivers = 5;
  std::array<int, kReceivers> got{};
  {
    std::vector<std::jthread> receivers;
    for (int i = 0; i < kReceivers; ++i) {
      receivers.emplace_back([&, i] { EXPECT_EQ(c.recv_for(got[i], kPatience), Status::ok); });
      EXPECT_TRUE(watch.await_receivers(std::uint32_t(i + 1)));
    }
    for (int i = 0; i < kReceivers; ++i) EXPECT_EQ(c.send_for(100 + i, kPatience), Status::ok);
  }
  for (int i = 0; i < kReceivers; ++i) EXPECT_EQ(got[i], 100 + i) << "receiver " << i;
}

TEST(Rendezvous, BlockedSendersAreServedInArrivalOrder) {
  Chan<int> c;
  BlockWatch watch(c.id());
  constexpr int kSenders = 5;
  std::vector<std::jthread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&, i] { EXPECT_EQ(c.send_for(100 + i, kPatience), Status::ok); });
    EXPECT_TRUE(watch.await_senders(std::uint32_t(i + 1)));
  }
  for (int i = 0; i < kSenders; ++i) {
    int v = -1;
    ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
    EXPECT_EQ(v, 100 + i) << "value " << i;
  }
}

TEST(Rendezvous, CopiesOfAHandleAreTheSameChannel) {
  Chan<int> a;
  Chan<int> b = a;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.id(), b.id());
  std::jthread sender([b]() mutable { EXPECT_EQ(b.send_for(11, kPatience), Status::ok); });
  int v = 0;
  EXPECT_EQ(a.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 11);
  sender.join();
  b.close();
  EXPECT_TRUE(a.closed());
}

TEST(Rendezvous, DistinctChannelsHaveDistinctIds) {
  Chan<int> a;
  Chan<int> b;
  EXPECT_FALSE(a == b);
  EXPECT_NE(a.id(), b.id());
}

struct Sample {
  std::int64_t id;
  double x;
  char tag[13];
  std::array<std::uint16_t, 7> shorts;
};
static_assert(std::is_trivially_copyable_v<Sample>);

TEST(Rendezvous, TriviallyCopyableStructArrivesIntact) {
  Chan<Sample> c;
  Sample s{-12345678901, 3.25, "hello world!", {1, 2, 3, 4, 5, 6, 65535}};
  std::jthread sender([&] { EXPECT_EQ(c.send_for(s, kPatience), Status::ok); });
  Sample got{};
  ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
  sender.join();
  EXPECT_EQ(got.id, s.id);
  EXPECT_EQ(got.x, s.x);
  EXPECT_STREQ(got.tag, s.tag);
  EXPECT_EQ(got.shorts, s.shorts);
}

TEST(Rendezvous, LargeTriviallyCopyableValueArrivesIntact) {
  using Block = std::array<std::uint64_t, 8192>;  // 64 KiB
  Chan<Block> c;
  auto block = std::make_unique<Block>();
  for (std::size_t i = 0; i < block->size(); ++i) (*block)[i] = splitmix64(i);
  std::jthread sender([&] { EXPECT_EQ(c.send_for(*block, kPatience), Status::ok); });
  auto got = std::make_unique<Block>();
  ASSERT_EQ(c.recv_for(*got, kPatience), Status::ok);
  sender.join();
  EXPECT_TRUE(*got == *block);
}

// ---- close ----------------------------------------------------------------------------------

TEST(Close, RecvBlockedInThreadReturnsNulloptOnClose) {
  Chan<int> c;
  BlockWatch watch(c.id());
  std::optional<int> got = 1;
  std::jthread receiver([&] { got = c.recv(); });
  EXPECT_TRUE(watch.await_receivers(1));
  c.close();
  receiver.join();
  EXPECT_EQ(got, std::nullopt);
}

TEST(Close, SendBlockedInThreadThrowsChannelClosedOnClose) {
  Chan<int> c;
  BlockWatch watch(c.id());
  bool threw = false;
  std::jthread sender([&] {
    try {
      c.send(1);
    } catch (const ceramic::ChannelClosed&) {
      threw = true;
    }
  });
  EXPECT_TRUE(watch.await_senders(1));
  c.close();
  sender.join();
  EXPECT_TRUE(threw);
}

TEST(Close, SendForBlockedInThreadReturnsClosedOnClose) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Status st = Status::ok;
  std::jthread sender([&] { st = c.send_for(1, kPatience); });
  EXPECT_TRUE(watch.await_senders(1));
  c.close();
  sender.join();
  EXPECT_EQ(st, Status::closed);
}

TEST(Close, RecvForBlockedInThreadReturnsClosedOnClose) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Status st = Status::ok;
  std::jthread receiver([&] {
    int v = 0;
    st = c.recv_for(v, kPatience);
  });
  EXPECT_TRUE(watch.await_receivers(1));
  c.close();
  receiver.join();
  EXPECT_EQ(st, Status::closed);
}

TEST(Close, SendAfterCloseThrowsChannelClosed) {
  Chan<int> c;
  c.close();
  ASSERT_EQ(c.send_for(1, 0ns), Status::closed);
  ASSERT_EQ(c.send_for(1, kPatience), Status::closed);
  EXPECT_THROW(c.send(1), ceramic::ChannelClosed);
}

TEST(Close, RecvAfterCloseReportsClosedAtOnce) {
  Chan<int> c;
  c.close();
  int v = 0;
  ASSERT_EQ(c.recv_for(v, 0ns), Status::closed);
  ASSERT_EQ(c.recv_for(v, kPatience), Status::closed);
  EXPECT_EQ(c.recv(), std::nullopt);
}

TEST(Close, CloseIsIdempotent) {
  Chan<int> c;
  EXPECT_FALSE(c.closed());
  c.close();
  c.close();
  EXPECT_TRUE(c.closed());
  int v = 0;
  ASSERT_EQ(c.recv_for(v, 0ns), Status::closed);
  EXPECT_EQ(c.recv(), std::nullopt);
}

TEST(Close, ChannelClosedSaysWhatHappened) {
  ceramic::ChannelClosed e;
  EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
}

// ---- timeouts ---------------------------------------------------------------------------------

TEST(Timeout, RecvForWithoutSenderTimesOutAfterTheDeadline) {
  Chan<int> c;
  int v = 17;
  auto start = Clock::now();
  EXPECT_EQ(c.recv_for(v, 50ms), Status::timeout);
  auto took = Clock::now() - start;
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 50ms + kPatience);
  EXPECT_EQ(v, 17) << "a timed-out recv must not touch the output";
}

TEST(Timeout, SendForWithoutReceiverTimesOutAfterTheDeadline) {
  Chan<int> c;
  auto start = Clock::now();
  EXPECT_EQ(c.send_for(1, 50ms), Status::timeout);
  EXPECT_GE(Clock::now() - start, 50ms);
}

TEST(Timeout, ZeroTimeoutTriesOnceWithoutBlocking) {
  Chan<int> c;
  int v = 0;
  EXPECT_EQ(c.send_for(1, 0ns), Status::timeout);
  EXPECT_EQ(c.recv_for(v, 0ns), Status::timeout);
}

TEST(Timeout, ZeroTimeoutSendMeetsABlockedReceiver) {
  Chan<int> c;
  BlockWatch watch(c.id());
  int got = 0;
  std::jthread receiver([&] { EXPECT_EQ(c.recv_for(got, kPatience), Status::ok); });
  EXPECT_TRUE(watch.await_receivers(1));
  EXPECT_EQ(c.send_for(3, 0ns), Status::ok);
  receiver.join();
  EXPECT_EQ(got, 3);
}

TEST(Timeout, ZeroTimeoutRecvMeetsABlockedSender) {
  Chan<int> c;
  BlockWatch watch(c.id());
  std::jthread sender([&] { EXPECT_EQ(c.send_for(4, kPatience), Status::ok); });
  EXPECT_TRUE(watch.await_senders(1));
  int v = 0;
  EXPECT_EQ(c.recv_for(v, 0ns), Status::ok);
  EXPECT_EQ(v, 4);
  sender.join();
}

TEST(Timeout, SendThatTimedOutIsNeverDelivered) {
  Chan<int> c;
  ASSERT_EQ(c.send_for(1, 20ms), Status::timeout);
  std::jthread sender([&] { EXPECT_EQ(c.send_for(2, kPatience), Status::ok); });
  int v = 0;
  ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 2);
  sender.join();
  EXPECT_EQ(c.recv_for(v, 0ns), Status::timeout);
}

// The seed's "timeout after send": after one completed exchange nothing is left to receive.
TEST(Timeout, RecvForAfterACompletedSendTimesOut) {
  Chan<int> c;
  std::jthread sender([&] { EXPECT_EQ(c.send_for(8, kPatience), Status::ok); });
  int v = 0;
  ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
  sender.join();
  EXPECT_EQ(c.recv_for(v, 50ms), Status::timeout);
  EXPECT_EQ(v, 8);
}

TEST(Timeout, RecvForSucceedsWhenASenderArrivesBeforeTheDeadline) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Status st = Status::timeout;
  int v = 0;
  std::jthread receiver([&] { st = c.recv_for(v, kPatience); });
  EXPECT_TRUE(watch.await_receivers(1));
  EXPECT_EQ(c.send_for(6, kPatience), Status::ok);
  receiver.join();
  EXPECT_EQ(st, Status::ok);
  EXPECT_EQ(v, 6);
}

// ---- iteration ----------------------------------------------------------------------------------

TEST(Iteration, RangeForReceivesEveryValueUntilClose) {
  Chan<int> c;
  std::jthread sender([&] {
    for (int i = 0; i < 100; ++i) EXPECT_EQ(c.send_for(i, kPatience), Status::ok);
    c.close();
  });
  std::vector<int> got;
  for (int v : c) got.push_back(v);
  sender.join();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
}

TEST(Iteration, RangeForOverAClosedEmptyChannelDoesNothing) {
  Chan<std::string> c;
  c.close();
  int n = 0;
  for (const std::string& v : c) {
    (void)v;
    ++n;
  }
  EXPECT_EQ(n, 0);
}

TEST(Iteration, RangeForDrainsABufferedChannelAfterClose) {
  Chan<int> c(ChanOptions{.capacity = 4});
  for (int i = 0; i < 4; ++i) ASSERT_EQ(c.send_for(i, 0ns), Status::ok);
  c.close();
  std::vector<int> got;
  for (int v : c) got.push_back(v);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

}  // namespace
