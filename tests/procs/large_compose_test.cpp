// Process mode: strings of every size cross processes intact (inline, out of line, through a
// buffer, outliving their sender), and Procs compose: a Proc starts Procs that talk on channels
// made by their parent and by the root.
#include <cstring>
#include <set>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;

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

class StringBetweenProcesses : public ::testing::TestWithParam<SizeCase> {};

TEST_P(StringBetweenProcesses, ArrivesIntactFromChildToParent) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c;
  Proc child("sender", [&] {
    Status st = c.send_for(pattern(n, n), kPatience);
    require(st == Status::ok, "send_for returned " + str(st));
  });
  std::string got = "junk";
  ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
  EXPECT_EQ(pattern_mismatch(got, n, n), "");
  EXPECT_TRUE(exits_with(child, 0));
}

TEST_P(StringBetweenProcesses, ArrivesIntactFromParentToChild) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c;
  Proc child("receiver", [&] {
    std::string got = "junk";
    Status st = c.recv_for(got, kPatience);
    require(st == Status::ok, "recv_for returned " + str(st));
    std::string wrong = pattern_mismatch(got, n, n + 7);
    require(wrong.empty(), wrong);
  });
  EXPECT_EQ(c.send_for(pattern(n, n + 7), kPatience), Status::ok);
  EXPECT_TRUE(exits_with(child, 0));
}

TEST_P(StringBetweenProcesses, ArrivesIntactFromAThreadToAChild) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c;
  Proc child("receiver", [&] {
    std::string got;
    Status st = c.recv_for(got, kPatience);
    require(st == Status::ok, "recv_for returned " + str(st));
    std::string wrong = pattern_mismatch(got, n, 5 * n);
    require(wrong.empty(), wrong);
  });
  std::jthread sender([&] { EXPECT_EQ(c.send_for(pattern(n, 5 * n), kPatience), Status::ok); });
  sender.join();
  EXPECT_TRUE(exits_with(child, 0));
}

TEST_P(StringBetweenProcesses, QueuedInABufferByAChildThatHasExited) {
  const std::size_t n = GetParam().bytes;
  Chan<std::string> c(ChanOptions{.capacity = 1});
  Proc child("sender", [&] {
    Status st = c.send_for(pattern(n, n + 3), 0ns);
    require(st == Status::ok, "buffered send_for returned " + str(st));
  });
  ASSERT_TRUE(exits_with(child, 0));  // the sender is gone before anyone receives
  std::string got;
  ASSERT_EQ(c.recv_for(got, kPatience), Status::ok);
  EXPECT_EQ(pattern_mismatch(got, n, n + 3), "");
}

INSTANTIATE_TEST_SUITE_P(LargeValues, StringBetweenProcesses, ::testing::ValuesIn(kSizes),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// One string in the receiving process receives values that make it grow (past its capacity and
// within it), shrink and stay the same length, inline and long.
TEST(LargeValues, OneStringReceivesValuesThatGrowShrinkAndStayFromAnotherProcess) {
  const std::size_t sizes[] = {kInline + 1, std::size_t{1} << 20, std::size_t{1} << 20, 10,
                               3000, 2999, std::size_t{16} << 20, 0, 100, 100};
  Chan<std::string> c;
  Proc child("sender", [&] {
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
      Status st = c.send_for(pattern(sizes[i], i), kPatience);
      require(st == Status::ok, "send_for returned " + str(st));
    }
  });
  std::string got = "junk";
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    ASSERT_EQ(c.recv_for(got, kPatience), Status::ok) << "value " << i;
    EXPECT_EQ(pattern_mismatch(got, sizes[i], i), "") << "value " << i;
    EXPECT_EQ(got.c_str()[got.size()], '\0') << "value " << i;
  }
  EXPECT_TRUE(exits_with(child, 0));
}

// A sender that sends one buffer again and again to another process has its huge-page
// stretches collapsed after a few sends (offers.hpp): every send, before and after, arrives
// intact, also when the buffer is rewritten in place between sends.
TEST(LargeValues, OneBufferSentAgainAndAgainArrivesIntactEachTime) {
  constexpr int kSends = 6;
  const std::size_t n = (std::size_t{6} << 20) + 4097;  // 2 MiB stretches and ragged ends
  Chan<std::string> c;
  Proc child("receiver", [&] {
    std::string got;
    for (int i = 0; i < kSends; ++i) {
      Status st = c.recv_for(got, kPatience);
      require(st == Status::ok, "recv_for returned " + str(st));
      std::string wrong = pattern_mismatch(got, n, static_cast<std::uint64_t>(i));
      require(wrong.empty(), "send " + std::to_string(i) + ": " + wrong);
    }
  });
  std::string buf = pattern(n, 0);
  const char* const at = buf.data();
  for (int i = 0; i < kSends; ++i) {
    if (i > 0) {
      const std::string next = pattern(n, static_cast<std::uint64_t>(i));
      std::memcpy(buf.data(), next.data(), n);  // same buffer, new bytes
    }
    ASSERT_EQ(buf.data(), at);
    ASSERT_EQ(c.send_for(buf, kPatience), Status::ok) << "send " << i;
  }
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(LargeValues, BufferedLargeStringsQueuedWithoutAReceiverArriveInOrderLater) {
  const std::size_t sizes[] = {0, kInline, kInline + 1, std::size_t{1} << 20,
                               std::size_t{16} << 20};
  Chan<std::string> c(ChanOptions{.capacity = 5});
  Proc child("sender", [&] {
    for (std::size_t i = 0; i < 5; ++i) {
      Status st = c.send_for(pattern(sizes[i], 40 + i), 0ns);
      require(st == Status::ok, "queueing value " + std::to_string(i) + ": " + str(st));
    }
    require(c.send_for("one too many", 0ns) == Status::timeout, "a sixth value was queued");
  });
  ASSERT_TRUE(exits_with(child, 0));
  Proc reader("reader", [&] {
    for (std::size_t i = 0; i < 5; ++i) {
      std::string got;
      Status st = c.recv_for(got, kPatience);
      require(st == Status::ok, "recv_for returned " + str(st));
      std::string wrong = pattern_mismatch(got, sizes[i], 40 + i);
      require(wrong.empty(), "value " + std::to_string(i) + ": " + wrong);
    }
  });
  EXPECT_TRUE(exits_with(reader, 0));
}

TEST(LargeValues, ManyProcessesExchangeLargeStringsConcurrently) {
  Chan<std::string> c;
  constexpr int kPairs = 3;
  const int per_sender = 5 * scale();
  const std::size_t n = std::size_t{1} << 20;
  const int total = kPairs * per_sender;
  Counters received(total);
  std::vector<Proc> procs;
  for (int p = 0; p < kPairs; ++p) {
    procs.emplace_back("receiver", [&] {
      for (int i = 0; i < per_sender; ++i) {
        std::string got;
        Status st = c.recv_for(got, kPatience);
        require(st == Status::ok, "recv_for returned " + str(st));
        require(got.size() == n, "a value of " + std::to_string(got.size()) + " bytes");
        int matched = -1;
        for (int k = 0; k < total && matched < 0; ++k) {
          std::uint64_t first = splitmix64(std::uint64_t(k) * 0x100000001b3ull);
          if (std::memcmp(got.data(), &first, 8) == 0) matched = k;
        }
        require(matched >= 0, "a value no sender sent");
        std::string wrong = pattern_mismatch(got, n, matched);
        require(wrong.empty(), wrong);
        received[matched].fetch_add(1);
      }
    });
    procs.emplace_back("sender", [&, p] {
      for (int i = 0; i < per_sender; ++i) {
        Status st = c.send_for(pattern(n, p * per_sender + i), kPatience);
        require(st == Status::ok, "send_for returned " + str(st));
      }
    });
  }
  for (Proc& p : procs) EXPECT_TRUE(exits_with(p, 0));
  for (int k = 0; k < total; ++k) EXPECT_EQ(received[k].load(), 1u) << "value " << k;
}

// ---- composition ----------------------------------------------------------------------------------

// root --(from_root)--> grandchild <--(local)--> child, all forks of forks.
TEST(Compose, ProcInsideProcTalksOnItsParentsChannelAndTheRootsChannel) {
  Chan<int> from_root;
  Proc child("child", [&] {
    Chan<int> local;  // made in the child: shared with the grandchild only
    Proc grandchild("grandchild", [&] {
      int v = 0;
      require(local.recv_for(v, kPatience) == Status::ok, "grandchild: recv on local");
      require(v == 7, "grandchild: expected 7 from child");
      require(from_root.send_for(v + 1, kPatience) == Status::ok, "grandchild: send to root");
      require(from_root.recv_for(v, kPatience) == Status::ok, "grandchild: recv from root");
      require(v == 9, "grandchild: expected 9 from root");
      require(local.send_for(v + 1, kPatience) == Status::ok, "grandchild: send on local");
    });
    require(local.send_for(7, kPatience) == Status::ok, "child: send on local");
    int v = 0;
    require(local.recv_for(v, kPatience) == Status::ok, "child: recv on local");
    require(v == 10, "child: expected 10 from grandchild");
    int code = grandchild.join();
    require(code == 0, "grandchild exited with " + std::to_string(code));
  });
  int v = 0;
  ASSERT_EQ(from_root.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 8);
  EXPECT_EQ(from_root.send_for(9, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Compose, GrandchildrenOfSeveralChildrenAllReachTheRoot) {
  Chan<int> to_root;
  constexpr int kChildren = 3;
  constexpr int kGrandchildren = 3;
  std::vector<Proc> children;
  for (int c = 0; c < kChildren; ++c) {
    children.emplace_back("child" + std::to_string(c), [&, c] {
      std::vector<Proc> grandchildren;
      for (int g = 0; g < kGrandchildren; ++g) {
        grandchildren.emplace_back("grandchild", [&, g] {
          require(to_root.send_for(c * 10 + g, kPatience) == Status::ok, "send to root");
        });
      }
      for (Proc& g : grandchildren) {
        int code = g.join();
        require(code == 0, "a grandchild exited with " + std::to_string(code));
      }
    });
  }
  std::multiset<int> got;
  for (int i = 0; i < kChildren * kGrandchildren; ++i) {
    int v = 0;
    ASSERT_EQ(to_root.recv_for(v, kPatience), Status::ok);
    got.insert(v);
  }
  for (Proc& p : children) EXPECT_TRUE(exits_with(p, 0));
  std::multiset<int> want;
  for (int c = 0; c < kChildren; ++c) {
    for (int g = 0; g < kGrandchildren; ++g) want.insert(c * 10 + g);
  }
  EXPECT_EQ(got, want);
}

TEST(Compose, ChannelPassedThroughThreeGenerationsKeepsItsIdentity) {
  Chan<std::uint64_t> ids;
  Proc child("child", [&] {
    Proc grandchild("grandchild", [&] {
      require(ids.send_for(ids.id(), kPatience) == Status::ok, "send id");
    });
    require(grandchild.join() == 0, "grandchild failed");
  });
  std::uint64_t id = 0;
  ASSERT_EQ(ids.recv_for(id, kPatience), Status::ok);
  EXPECT_EQ(id, ids.id());
  EXPECT_TRUE(exits_with(child, 0));
}

}  // namespace
