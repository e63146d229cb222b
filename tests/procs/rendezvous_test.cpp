// Process mode: the seed library's tests rewritten for C++ (recv on main/send in child, the
// reverse, ping-pong, two forks, close read, close write, timeout, iteration, timeout after
// send), between a parent and Procs it forks.
#include <set>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;

TEST(Rendezvous, RecvOnMainReceivesValueSentInChild) {
  Chan<int> c;
  Proc child("sender", [&] { c.send(42); });
  int v = 0;
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Rendezvous, SendOnMainIsReceivedInChild) {
  Chan<int> c;
  Proc child("receiver", [&] {
    int v = 0;
    require(c.recv_for(v, kPatience) == Status::ok, "recv_for in child");
    require(v == 7, "child received " + std::to_string(v) + ", expected 7");
  });
  EXPECT_EQ(c.send_for(7, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Rendezvous, PingPongBetweenParentAndChild) {
  Chan<int> c;
  const int rounds = 500 * scale();
  Proc echo("echo", [&] {
    for (int i = 0; i < rounds; ++i) {
      int v = 0;
      require(c.recv_for(v, kPatience) == Status::ok, "echo recv");
      require(c.send_for(v + 1, kPatience) == Status::ok, "echo send");
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
  EXPECT_TRUE(exits_with(echo, 0));
}

TEST(Rendezvous, TwoForksBothDeliverToParent) {
  Chan<int> c;
  Proc a("a", [&] { c.send(1); });
  Proc b("b", [&] { c.send(2); });
  std::multiset<int> got;
  for (int i = 0; i < 2; ++i) {
    int v = 0;
    ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
    got.insert(v);
  }
  EXPECT_EQ(got, (std::multiset<int>{1, 2}));
  EXPECT_TRUE(exits_with(a, 0));
  EXPECT_TRUE(exits_with(b, 0));
}

TEST(Rendezvous, TwoChildrenTalkToEachOther) {
  Chan<int> c;
  Chan<int> done;
  Proc sender("sender", [&] { c.send(31); });
  Proc receiver("receiver", [&] {
    int v = 0;
    require(c.recv_for(v, kPatience) == Status::ok, "recv");
    require(done.send_for(v, kPatience) == Status::ok, "report");
  });
  int v = 0;
  EXPECT_EQ(done.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 31);
  EXPECT_TRUE(exits_with(sender, 0));
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(Rendezvous, SendInChildWaitsUntilParentReceives) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Counters returned(1);
  Proc child("sender", [&] {
    c.send(5);
    returned[0] = 1;
  });
  EXPECT_TRUE(watch.await_senders(1)) << "the child never blocked in send";
  EXPECT_EQ(returned[0].load(), 0u) << "send returned with no receiver";
  int v = 0;
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(child, 0));
  EXPECT_EQ(returned[0].load(), 1u);
}

// Waiters are served first come, first served, across processes: each child is started only
// once the previous one is known to be blocked.
TEST(Rendezvous, ReceiversBlockedInChildrenAreServedInArrivalOrder) {
  Chan<int> c;
  BlockWatch watch(c.id());
  constexpr int kReceivers = 4;
  Counters got(kReceivers);
  std::vector<Proc> receivers;
  for (int i = 0; i < kReceivers; ++i) {
    receivers.emplace_back("receiver" + std::to_string(i), [&, i] {
      int v = -1;
      require(c.recv_for(v, kPatience) == Status::ok, "recv_for");
      got[std::size_t(i)] = std::uint32_t(v);
    });
    EXPECT_TRUE(watch.await_receivers(std::uint32_t(i + 1)));
  }
  for (int i = 0; i < kReceivers; ++i) EXPECT_EQ(c.send_for(100 + i, kPatience), Status::ok);
  for (Proc& p : receivers) EXPECT_TRUE(exits_with(p, 0));
  for (int i = 0; i < kReceivers; ++i) {
    EXPECT_EQ(got[std::size_t(i)].load(), std::uint32_t(100 + i)) << "receiver " << i;
  }
}

TEST(Rendezvous, SendersBlockedInChildrenAreServedInArrivalOrder) {
  Chan<int> c;
  BlockWatch watch(c.id());
  constexpr int kSenders = 4;
  std::vector<Proc> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back("sender" + std::to_string(i), [&, i] {
      require(c.send_for(100 + i, kPatience) == Status::ok, "send_for");
    });
    EXPECT_TRUE(watch.await_senders(std::uint32_t(i + 1)));
  }
  for (int i = 0; i < kSenders; ++i) {
    int v = -1;
    ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
    EXPECT_EQ(v, 100 + i) << "value " << i;
  }
  for (Proc& p : senders) EXPECT_TRUE(exits_with(p, 0));
}

// Channels work between processes made by a plain fork(), not only by Proc. The values are
// built after the fork, so a child that mistook itself for its parent (a pid cached across
// fork) would read its own stale copy of the parent's memory instead of the parent's value.
int wait_for_plain_child(pid_t pid) {
  if (!await_process_exit(pid, std::chrono::milliseconds(kPatience))) kill(pid, SIGKILL);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(Rendezvous, PlainForkChildReceivesALargeValueFromItsParent) {
  Chan<std::string> c;
  const std::size_t n = std::size_t{1} << 20;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string got;
    bool ok = c.recv_for(got, kPatience) == Status::ok && pattern_mismatch(got, n, 99).empty();
    _exit(ok ? 0 : 1);
  }
  EXPECT_EQ(c.send_for(pattern(n, 99), kPatience), Status::ok);
  EXPECT_EQ(wait_for_plain_child(pid), 0);
}

TEST(Rendezvous, PlainForkChildSendsALargeValueToItsParent) {
  Chan<std::string> c;
  const std::size_t n = std::size_t{1} << 20;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(c.send_for(pattern(n, 98), kPatience) == Status::ok ? 0 : 1);
  std::string got;
  EXPECT_EQ(c.recv_for(got, kPatience), Status::ok);
  EXPECT_EQ(pattern_mismatch(got, n, 98), "");
  EXPECT_EQ(wait_for_plain_child(pid), 0);
}

struct Record {
  std::uint32_t seq;
  char text[28];
  double weight;
};

TEST(Rendezvous, TriviallyCopyableStructCrossesProcessesIntact) {
  Chan<Record> c;
  Proc child("sender", [&] {
    for (std::uint32_t i = 0; i < 10; ++i) {
      Record r{i, "record", 0.5 * i};
      require(c.send_for(r, kPatience) == Status::ok, "send");
    }
  });
  for (std::uint32_t i = 0; i < 10; ++i) {
    Record r{};
    ASSERT_EQ(c.recv_for(r, kPatience), Status::ok);
    EXPECT_EQ(r.seq, i);
    EXPECT_STREQ(r.text, "record");
    EXPECT_EQ(r.weight, 0.5 * i);
  }
  EXPECT_TRUE(exits_with(child, 0));
}

// ---- close ---------------------------------------------------------------------------------

TEST(Close, RecvBlockedInChildReturnsNulloptWhenParentCloses) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Proc child("reader", [&] { require(c.recv() == std::nullopt, "recv after close"); });
  EXPECT_TRUE(watch.await_receivers(1));
  c.close();
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Close, SendBlockedInChildThrowsChannelClosedWhenParentCloses) {
  Chan<int> c;
  BlockWatch watch(c.id());
  Proc child("writer", [&] {
    try {
      c.send(1);
    } catch (const ceramic::ChannelClosed&) {
      return;
    }
    require(false, "send returned normally on a closed channel");
  });
  EXPECT_TRUE(watch.await_senders(1));
  c.close();
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Close, CloseInChildWakesParentBlockedInRecv) {
  Chan<int> c;
  Chan<int> go;
  Proc child("closer", [&] {
    int v = 0;
    require(go.recv_for(v, kPatience) == Status::ok, "go");
    c.close();
  });
  BlockWatch watch(c.id());
  Status st = Status::ok;
  {
    std::jthread receiver([&] {
      int v = 0;
      st = c.recv_for(v, kPatience);
    });
    EXPECT_TRUE(watch.await_receivers(1));
    EXPECT_EQ(go.send_for(1, kPatience), Status::ok);
  }
  EXPECT_EQ(st, Status::closed);
  EXPECT_TRUE(exits_with(child, 0));
  EXPECT_TRUE(c.closed());
}

TEST(Close, CloseInChildIsSeenByParent) {
  Chan<int> c;
  Proc child("closer", [&] { c.close(); });
  EXPECT_TRUE(exits_with(child, 0));
  EXPECT_TRUE(c.closed());
  int v = 0;
  ASSERT_EQ(c.recv_for(v, 0ns), Status::closed);
  ASSERT_EQ(c.send_for(1, 0ns), Status::closed);
  EXPECT_EQ(c.recv(), std::nullopt);
  EXPECT_THROW(c.send(1), ceramic::ChannelClosed);
}

TEST(Close, BufferedValuesQueuedByAChildDrainAfterClose) {
  Chan<int> c(ChanOptions{.capacity = 4});
  Proc child("filler", [&] {
    for (int i = 0; i < 3; ++i) require(c.send_for(i, 0ns) == Status::ok, "queue");
    c.close();
  });
  EXPECT_TRUE(exits_with(child, 0));
  for (int i = 0; i < 3; ++i) {
    int v = -1;
    ASSERT_EQ(c.recv_for(v, 0ns), Status::ok) << "queued value " << i << " lost by close";
    EXPECT_EQ(v, i);
  }
  int v = 0;
  EXPECT_EQ(c.recv_for(v, 0ns), Status::closed);
}

// ---- timeouts ---------------------------------------------------------------------------------

TEST(Timeout, RecvForTimesOutWhileChildHasNotSent) {
  Chan<int> c;
  Chan<int> release;
  Proc child("late", [&] {
    int v = 0;
    require(release.recv_for(v, kPatience) == Status::ok, "release");
    require(c.send_for(v, kPatience) == Status::ok, "late send");
  });
  int v = 0;
  auto start = Clock::now();
  EXPECT_EQ(c.recv_for(v, 50ms), Status::timeout);
  EXPECT_GE(Clock::now() - start, 50ms);
  EXPECT_EQ(release.send_for(3, kPatience), Status::ok);
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 3);
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Timeout, SendForTimesOutWhileChildIsNotReceiving) {
  Chan<int> c;
  Chan<int> release;
  Proc child("late", [&] {
    int v = 0;
    require(release.recv_for(v, kPatience) == Status::ok, "release");
    require(c.recv_for(v, kPatience) == Status::ok, "late recv");
    require(v == 2, "child got the value whose send timed out: " + std::to_string(v));
  });
  EXPECT_EQ(c.send_for(1, 50ms), Status::timeout);
  EXPECT_EQ(release.send_for(0, kPatience), Status::ok);
  EXPECT_EQ(c.send_for(2, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(child, 0));
}

// The seed's "timeout after send": the child's one value is received once, then nothing.
TEST(Timeout, RecvForAfterTheChildsSendTimesOut) {
  Chan<int> c;
  Proc child("sender", [&] { c.send(8); });
  int v = 0;
  ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 8);
  EXPECT_EQ(c.recv_for(v, 50ms), Status::timeout);
  EXPECT_TRUE(exits_with(child, 0));
  EXPECT_EQ(c.recv_for(v, 0ns), Status::timeout);
}

// ---- iteration ------------------------------------------------------------------------------------

TEST(Iteration, RangeForReceivesUntilTheChildCloses) {
  Chan<int> c;
  Proc child("producer", [&] {
    for (int i = 0; i < 200; ++i) c.send(i * i);
    c.close();
  });
  std::vector<int> got;
  for (int v : c) got.push_back(v);
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i], i * i);
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Iteration, RangeForInChildReceivesUntilTheParentCloses) {
  Chan<std::string> c;
  Chan<int> count;
  Proc child("consumer", [&] {
    int n = 0;
    for (const std::string& v : c) {
      require(tagged_id(v) == n, "value " + std::to_string(n) + " malformed or out of order");
      ++n;
    }
    require(count.send_for(n, kPatience) == Status::ok, "report");
  });
  for (int i = 0; i < 50; ++i) ASSERT_EQ(c.send_for(tagged_value(i), kPatience), Status::ok);
  c.close();
  int n = 0;
  EXPECT_EQ(count.recv_for(n, kPatience), Status::ok);
  EXPECT_EQ(n, 50);
  EXPECT_TRUE(exits_with(child, 0));
}

}  // namespace
