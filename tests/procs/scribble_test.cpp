// The threat model's random peer (core/src/layout.hpp): a process holding a named channel writes
// random bytes at random places of its region while two others use it. Whatever it writes, the
// users must never crash, hang or be made to write outside the region: every timed operation
// returns (a status, or ChannelError) within its deadline and some slack, and every user ends
// with an exit status of its own, never a signal.
//
// The seed is printed with every failure (CERAMIC_TEST_SEED=N reproduces a run).
#include <fcntl.h>
#include <sys/mman.h>

#include <random>

#include "support/scribbler.hpp"
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChannelError;
using ceramic::Proc;
using ceramic::Status;
using namespace std::chrono_literals;

constexpr auto kUse = 150ms;  // each user operates this long while the peer scribbles
// A user exits 0 when every operation returned within its deadline plus this slack, 1 when
// one did not (the value only bounds a hang: no test waits on it to pass).
constexpr auto kTimeout = 5ms;
constexpr auto kSlack = 2s;

template <class T>
int use(Chan<T>& c, bool sender, const T& value) {
  const auto until = std::chrono::steady_clock::now() + kUse;
  while (std::chrono::steady_clock::now() < until) {
    const auto start = std::chrono::steady_clock::now();
    try {
      if (sender) {
        (void)c.send_for(value, kTimeout);
      } else {
        T v{};
        (void)c.recv_for(v, kTimeout);
      }
    } catch (const ChannelError&) {
      // A corrupt state said so: what the threat model promises.
    }
    if (std::chrono::steady_clock::now() - start > kTimeout + kSlack) return 1;
  }
  return 0;
}

// Runs a sender and a receiver on the named channel while this process scribbles on it.
template <class T>
void run_round(const std::string& what, const T& value, std::uint64_t seed) {
  const std::string name = unique_name(what);
  auto c = Chan<T>::create(name);
  Scribbler peer(name);
  unsigned char* base = reinterpret_cast<unsigned char*>(&peer.hdr());
  const std::size_t size = peer.geo().total;
  Proc sender("sender", [&] { _exit(use(c, true, value)); });
  Proc receiver("receiver", [&] { _exit(use(c, false, value)); });
  std::mt19937_64 rng(seed);
  // Writes until both users are done: single bytes, words and runs, anywhere in the region
  // (the header's lock and its neighbours more often: they are what every operation reads).
  const auto give_up = std::chrono::steady_clock::now() + kPatience;  // a hung user: reported below
  while ((sender.running() || receiver.running()) && std::chrono::steady_clock::now() < give_up) {
    const bool near_header = rng() % 4 == 0;
    const std::size_t span = near_header ? std::min<std::size_t>(size, 256) : size;
    const std::size_t at = rng() % span;
    const std::size_t n = std::min<std::size_t>(size - at, 1 + rng() % 16);
    for (std::size_t i = 0; i < n; ++i) base[at + i] = static_cast<unsigned char>(rng());
    // Dense rounds corrupt the channel at once; sparse ones let operations run between writes.
    std::this_thread::sleep_for(seed % 2 == 0 ? 20us : 500us);
  }
  auto s = sender.join_for(1s);
  auto r = receiver.join_for(1s);
  if (!s || !r) {  // where they hang, for the report
    std::string cmd = "gdb -batch -ex 'thread apply all bt' -p ";
    if (!s) std::system((cmd + std::to_string(sender.pid()) + " 2>/dev/null | grep -E '^#' | head -20").c_str());
    if (!r) std::system((cmd + std::to_string(receiver.pid()) + " 2>/dev/null | grep -E '^#' | head -20").c_str());
  }
  ASSERT_TRUE(s.has_value()) << what << ": the sender hung" << seed_note(seed);
  ASSERT_TRUE(r.has_value()) << what << ": the receiver hung" << seed_note(seed);
  EXPECT_EQ(*s, 0) << what << ": the sender " << (*s > 128 ? "crashed" : "overran a deadline")
                   << " (status " << *s << ")" << seed_note(seed);
  EXPECT_EQ(*r, 0) << what << ": the receiver " << (*r > 128 ? "crashed" : "overran a deadline")
                   << " (status " << *r << ")" << seed_note(seed);
}

// The channel lock is a glibc robust mutex, whose kind, priority and list words live in the
// region: glibc trusts them (it asserts, or follows the list pointers). Until the lock keeps no
// such word in shared memory, random writes abort or crash its users.
}  // namespace

TEST(Scribble, RandomWritesIntoAnIntChannelNeverCrashOrHangItsUsers) {
  const std::uint64_t s = seed();
  for (std::uint64_t round = 0; round < 4 && !HasFailure(); ++round) {
    run_round<int>("int", 42, s + round);
  }
}

TEST(Scribble, RandomWritesIntoAShortStringChannelNeverCrashOrHangItsUsers) {
  const std::uint64_t s = seed();
  for (std::uint64_t round = 0; round < 4 && !HasFailure(); ++round) {
    run_round<std::string>("short", std::string(40, 'x'), s + round);  // inline values
  }
}

TEST(Scribble, RandomWritesIntoALongStringChannelNeverCrashOrHangItsUsers) {
  const std::uint64_t s = seed();
  for (std::uint64_t round = 0; round < 4 && !HasFailure(); ++round) {
    run_round<std::string>("long", pattern(64 * 1024, round), s + round);  // pulled or parked
  }
}
