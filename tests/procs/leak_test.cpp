// Resource leaks: channels and Procs release their file descriptors, mappings and child
// processes (RAII), counted in /proc/self/fd, /proc/self/maps and the process table.
//
// Not a leak: each thread caches pidfds of up to kIdentityCache live peer processes it met
// (identity.hpp); which peers a thread meets depends on who arrives first. Fds are counted
// with that cache emptied (open_fds), so the counts are exact.
#include <vector>

#include "identity.hpp"  // core/src: forget_identities

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;

// Mapping counts may move by a few as the allocator grows its arenas; a leak moves them by
// (at least) one per iteration.
constexpr int kMappingSlack = 8;

int open_fds() {
  ceramic::detail::forget_identities();
  return count_open_fds();
}

void churn_channels(int n) {
  for (int i = 0; i < n; ++i) {
    Chan<int> unbuffered;
    Chan<int> buffered(ChanOptions{.capacity = 8});
    ASSERT_EQ(buffered.send_for(i, 0ns), Status::ok);
    Chan<std::string> strings(ChanOptions{.capacity = 2});
    ASSERT_EQ(strings.send_for(pattern(100000, std::uint64_t(i)), 0ns), Status::ok);
    ASSERT_EQ(strings.send_for(pattern(50000, std::uint64_t(i)), 0ns), Status::ok);
    std::string out;
    ASSERT_EQ(strings.recv_for(out, 0ns), Status::ok);  // one drained, one left queued
    const std::string name = "leak-" + std::to_string(getpid()) + "-" + std::to_string(i);
    auto named = Chan<std::string>::create(name, ChanOptions{.capacity = 1});
    auto opened = Chan<std::string>::open(name);
    ASSERT_EQ(named.send_for(pattern(70000, 1), 0ns), Status::ok);
    Chan<int> copy = unbuffered;
    copy.close();
  }
}

TEST(Leaks, ChannelsReleaseTheirFdsAndMappings) {
  churn_channels(5);  // warm-up: lazily created process-wide state
  const int fds = open_fds();
  const int maps = count_mappings();
  churn_channels(200);
  EXPECT_EQ(open_fds(), fds);
  EXPECT_LE(count_mappings(), maps + kMappingSlack) << "before: " << maps << " mappings";
}

TEST(Leaks, TransfersOfLargeValuesReleaseTheirFdsAndMappings) {
  Chan<std::string> c;
  Chan<std::string> buffered(ChanOptions{.capacity = 4});
  auto round = [&] {
    Proc child("echo", [&] {
      for (int i = 0; i < 4; ++i) {
        std::string v;
        require(c.recv_for(v, kPatience) == Status::ok, "recv");
        require(buffered.send_for(v, kPatience) == Status::ok, "send back");
      }
    });
    for (int i = 0; i < 4; ++i) {
      ASSERT_EQ(c.send_for(pattern(std::size_t(1) << 20, std::uint64_t(i)), kPatience),
                Status::ok);
    }
    ASSERT_TRUE(exits_with(child, 0));
    for (int i = 0; i < 4; ++i) {
      std::string v;
      ASSERT_EQ(buffered.recv_for(v, kPatience), Status::ok);
      ASSERT_EQ(pattern_mismatch(v, std::size_t(1) << 20, std::uint64_t(i)), "");
    }
  };
  round();
  const int fds = open_fds();
  const int maps = count_mappings();
  for (int i = 0; i < 10; ++i) round();
  EXPECT_EQ(open_fds(), fds);
  EXPECT_LE(count_mappings(), maps + kMappingSlack) << "before: " << maps << " mappings";
}

TEST(Leaks, ProcsReleaseTheirFdsAndLeaveNoZombies) {
  Chan<int> c;
  Chan<int> never;  // nobody sends here
  auto round = [&](int n) {
    for (int i = 0; i < n; ++i) {
      Proc quick("quick", [] {});
      Proc stuck("stuck", [&] { never.recv(); });
      Proc chatty("chatty", [&] { c.send(i); });
      int v = -1;
      ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
      ASSERT_EQ(quick.join(), 0);
      ASSERT_EQ(chatty.join(), 0);
    }  // stuck is killed and reaped here
  };
  round(2);
  const int fds = open_fds();
  const int maps = count_mappings();
  round(20);
  EXPECT_EQ(open_fds(), fds);
  EXPECT_LE(count_mappings(), maps + kMappingSlack);
  auto kids = children_of_this_process();
  EXPECT_TRUE(kids.empty()) << kids.size() << " child process(es) left:" << describe(kids);
}

TEST(Leaks, MovedAndReassignedProcsLeaveNoZombies) {
  const int fds = open_fds();
  {
    std::vector<Proc> procs;
    for (int i = 0; i < 10; ++i) procs.emplace_back([] { pause(); });
    Proc replacement([] {});
    procs[3] = std::move(replacement);
    procs.erase(procs.begin() + 5);
    Proc moved(std::move(procs[0]));
  }
  EXPECT_EQ(open_fds(), fds);
  auto kids = children_of_this_process();
  EXPECT_TRUE(kids.empty()) << kids.size() << " child process(es) left:" << describe(kids);
}

}  // namespace
