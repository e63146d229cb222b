// The channel lock and the slot owners in a region that peers may write (threat model:
// core/src/layout.hpp). Their liveness is the holder's process identity (owner_lock.hpp,
// identity.hpp), so:
//   - whatever a peer writes over the lock line and the slot owners, a process using the
//     channel never writes outside the region (with glibc robust mutexes there, the mutexes'
//     robust-list links were pointers that the victim's next lock or unlock wrote through);
//   - a lock left held by a process that died, or "held" by a pid that a later process took
//     over, is taken over: untimed operations complete, and non-blocking ones do not fail
//     forever.
// A SIGKILLed holder at random moments is fault_test.cpp's business (exactly-once under kills).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cstddef>
#include <random>

#include "identity.hpp"    // core/src: process identities, as the lock word holds them
#include "owner_lock.hpp"  // core/src: the lock word's waiters bit
#include "support/scribbler.hpp"
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::ChannelError;
using ceramic::Proc;
using ceramic::Status;
using namespace std::chrono_literals;
namespace d = ceramic::detail;

// Forks a process that gets pid `pid` (free: its previous holder has been reaped) by writing
// pid - 1 to /proc/sys/kernel/ns_last_pid just before fork(); it pauses until killed. -1 when
// that is not permitted here, or another process took the pid first.
pid_t fork_with_pid(pid_t pid) {
  int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  pid_t child = -1;
  int st = 0;
  for (int attempt = 0; attempt < 100 && child != pid; ++attempt) {
    if (child > 0) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &st, 0);
    }
    const std::string last = std::to_string(pid - 1);
    if (::pwrite(fd, last.data(), last.size(), 0) < 0) {
      child = -1;
      break;
    }
    child = ::fork();
    if (child == 0) {
      for (;;) ::pause();
    }
  }
  ::close(fd);
  if (child > 0 && child != pid) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &st, 0);
    child = -1;
  }
  return child;
}

// The identity of a process that has died (and been reaped).
d::ProcIdentity identity_of_a_dead_process() {
  Proc gone("gone", [] { pause(); });
  auto id = d::identity_of(gone.pid());
  require(id.has_value(), "no identity for a live process");
  gone.kill(SIGKILL);
  gone.join();
  return *id;
}

// One send from a process of its own, one untimed recv here: the channel works.
::testing::AssertionResult channel_works(Chan<int>& c, int value) {
  Proc sender("sender", [&] { c.send(value); });
  int got = -1;
  Status st = c.recv_for(got, kPatience);
  if (st != Status::ok) return ::testing::AssertionFailure() << "recv_for: " << str(st);
  if (got != value) return ::testing::AssertionFailure() << "received " << got;
  return exits_with(sender, 0);
}

}  // namespace

// The attack of issue 14: the peer fills the lock line and every slot's owner field with the
// address of memory private to the victim (here: the same address in every process forked from
// this one, holding a pattern), over and over, while the victim takes and releases the lock.
// The victim's private memory stays untouched; its operations end (ok, timeout, or a
// ChannelError for state it finds corrupt), each within its deadline's reach.
TEST(LockLiveness, ScribbledLockAndOwnerWordsNeverMakeTheVictimWriteOutsideTheRegion) {
  constexpr std::size_t kPage = 4096;
  auto* secret = static_cast<unsigned char*>(
      ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(secret, MAP_FAILED);
  std::memset(secret, 0xA5, kPage);
  const std::string name = unique_name("scribbled");
  auto c = Chan<int>::create(name, ChanOptions{.capacity = 1});
  // Set by the scribbler when it is done; the victim counts its rounds.
  auto* shared = static_cast<std::atomic<int>*>(::mmap(nullptr, kPage, PROT_READ | PROT_WRITE,
                                                       MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(static_cast<void*>(shared), MAP_FAILED);
  std::atomic<int>& stop = shared[0];
  std::atomic<int>& rounds = shared[1];
  Proc victim("victim", [&] {
    int v = 0;
    while (stop.load() == 0) {
      try {
        (void)c.send_for(rounds.load(), 2ms);
        (void)c.recv_for(v, 2ms);
      } catch (const ChannelError&) {
        // the peer's scribbles may look like corrupt state: an error, never a stray write
      }
      rounds.fetch_add(1);
    }
    for (std::size_t i = 0; i < kPage; ++i) {
      require(secret[i] == 0xA5, "the victim's private memory was written at offset " +
                                     std::to_string(i));
    }
  });
  Scribbler s(name);
  // Each field the peer controls gets addresses into the victim's private page, as forged
  // robust-list links would. Three patterns, in turn: the lock's own bytes; only the bytes
  // where a glibc mutex keeps its robust-list links (__list, bytes 24..40: the victim still
  // owns the mutex, so its unlock goes on to unlink through them); each slot's owner field
  // likewise. Written against sizeof, so the test means the same on either layout.
  using Lock = decltype(d::LockLine::lock);
  using Owner = decltype(d::SlotHead::owner);
  constexpr bool kMutexes = sizeof(Lock) >= 40;  // glibc's pthread_mutex_t
  auto fill = [&](unsigned char* at, std::size_t len, std::uint64_t k) {
    for (std::size_t off = 0; off + 8 <= len; off += 8) {
      const auto addr = reinterpret_cast<std::uint64_t>(secret) + ((k * 8 + off) % kPage);
      std::memcpy(at + off, &addr, 8);
    }
  };
  auto scribble = [&](std::uint64_t k) {
    auto* lock = reinterpret_cast<unsigned char*>(&s.hdr().l.lock);
    switch (k % 3) {
      case 0:
        fill(lock, sizeof(Lock), k);
        break;
      case 1:
        if (kMutexes) {
          fill(lock + 24, 16, k);
        } else {
          fill(lock, sizeof(Lock), k);
        }
        break;
      default:
        for (std::uint32_t i = 0; i < s.geo().slot_count; ++i) {
          auto* owner = reinterpret_cast<unsigned char*>(&s.slot(i)) + offsetof(d::SlotHead, owner);
          if (kMutexes) {
            fill(owner + 24, 16, k + i);
          } else {
            fill(owner, sizeof(Owner), k + i);
          }
        }
    }
  };
  ASSERT_TRUE(eventually([&] { return rounds.load() > 0 || !victim.running(); }));
  std::mt19937_64 rng(testing::UnitTest::GetInstance()->random_seed());
  for (std::uint64_t k = 0; victim.running() && k < 2000; ++k) {
    scribble(k);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 100));
  }
  const int before_stop = rounds.load();
  stop.store(1);
  EXPECT_TRUE(exits_with(victim, 0));
  EXPECT_GT(before_stop, 10) << "the victim hardly ran while the peer scribbled";
  ::munmap(static_cast<void*>(shared), kPage);
  ::munmap(secret, kPage);
}

// A process died holding the lock (its identity is in the lock word: what a SIGKILL inside a
// critical section leaves). Untimed operations take the lock over and complete.
TEST(LockLiveness, LockOfADeadHolderIsTakenOver) {
  const std::string name = unique_name("dead-holder");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  s.hdr().l.lock.store(identity_of_a_dead_process());
  EXPECT_TRUE(channel_works(c, 1));
  EXPECT_EQ(s.hdr().l.lock.load(), 0u) << "the lock is not free after the operations";
}

// The holder died and its pid now belongs to a live process: the lock word names the pid, but
// not that process. It must not look held forever.
TEST(LockLiveness, LockOfADeadHolderWhosePidWasTakenIsTakenOver) {
  const std::string name = unique_name("reused-pid");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  const d::ProcIdentity dead = identity_of_a_dead_process();
  const pid_t impostor = fork_with_pid(d::identity_pid(dead));
  if (impostor < 0) {
    GTEST_SKIP() << "cannot force pid reuse here (ns_last_pid not writable, or another process "
                    "took the pid first)";
  }
  s.hdr().l.lock.store(dead);
  auto alive = d::identity_of(impostor);
  EXPECT_TRUE(alive.has_value() && *alive != dead) << "the impostor has the dead's identity";
  EXPECT_TRUE(channel_works(c, 2));
  ::kill(impostor, SIGKILL);
  int st = 0;
  ::waitpid(impostor, &st, 0);
}

// The same without forcing a pid: the word names a live process's pid with another process's
// tag (start time or pidfs number), exactly what a reused pid looks like to the lock.
TEST(LockLiveness, LockNamingALivePidWithAnotherTagIsTakenOver) {
  const std::string name = unique_name("other-tag");
  auto c = Chan<int>::create(name);
  Scribbler s(name);
  Proc live("live", [] { pause(); });
  auto id = d::identity_of(live.pid());
  ASSERT_TRUE(id.has_value());
  s.hdr().l.lock.store(*id + (std::uint64_t{1} << 32));
  EXPECT_TRUE(channel_works(c, 3));
}

// Non-blocking operations never wait a whole slice; they still take over a dead holder's lock
// (checked once at their deadline), instead of failing forever.
TEST(LockLiveness, NonBlockingOperationsTakeOverADeadHoldersLock) {
  const std::string name = unique_name("nonblocking");
  auto c = Chan<int>::create(name, ChanOptions{.capacity = 1});
  Scribbler s(name);
  s.hdr().l.lock.store(identity_of_a_dead_process() | d::kLockWaiters);
  EXPECT_EQ(c.send_for(4, 0ns), Status::ok);
  int v = 0;
  EXPECT_EQ(c.recv_for(v, 0ns), Status::ok);
  EXPECT_EQ(v, 4);
}

// A live holder is waited for, up to the deadline and no further.
TEST(LockLiveness, LockOfALiveHolderBoundsTimedOperationsAndIsNotStolen) {
  const std::string name = unique_name("live-holder");
  auto c = Chan<int>::create(name, ChanOptions{.capacity = 1});
  Scribbler s(name);
  Proc live("live", [] { pause(); });
  auto id = d::identity_of(live.pid());
  ASSERT_TRUE(id.has_value());
  s.hdr().l.lock.store(*id);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(c.send_for(5, 20ms), Status::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  EXPECT_EQ(s.hdr().l.lock.load() & ~d::kLockWaiters, *id) << "a live holder's lock was taken";
  s.hdr().l.lock.store(0);
  EXPECT_EQ(c.send_for(5, 0ns), Status::ok);
}

// A slot whose owner died is reclaimed; one whose owner's pid was taken over likewise.
TEST(LockLiveness, SlotsOfDeadOwnersAreReclaimedEvenWhenTheirPidLives) {
  const std::string name = unique_name("owners");
  auto c = Chan<int>::create(name, ChanOptions{.max_waiters = 2});
  Scribbler s(name);
  // Both queue slots look like queued receivers: one of a dead process, one of a process that
  // took a pid over (our pid, another tag).
  s.forge_slot(0, d::kRecvKind, 0, d::ValueRef{}, d::kWaiting);
  s.slot(0).owner.store(identity_of_a_dead_process());
  s.forge_slot(1, d::kRecvKind, 0, d::ValueRef{}, d::kWaiting);
  s.kill_owner(1);
  s.hdr().l.recv_mask0 |= 3;
  // A send must skip both (their owners are dead), and find room for itself to wait in.
  Proc receiver("receiver", [&] {
    int v = 0;
    require(c.recv_for(v, kPatience) == Status::ok && v == 6, "recv");
  });
  EXPECT_EQ(c.send_for(6, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(receiver, 0));
}
