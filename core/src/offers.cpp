#include "offers.hpp"

#include <fcntl.h>
#include <immintrin.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>  // std::lock_guard
#include <string>

#include "ceramic/status.hpp"

namespace ceramic::detail {

PullResult read_remote(pid_t pid, std::uint64_t addr, std::size_t len, void* dst) noexcept {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t done = 0;
  while (done < len) {
    iovec local{out + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EPERM || errno == ENOSYS)) return PullResult::no_permission;
    return PullResult::source_gone;  // ESRCH, EFAULT: the sender died or its memory went away
  }
  return PullResult::ok;
}

// ---- this process's own offers ------------------------------------------------------------

namespace {

// A fixed table, no allocation: a sending thread registers at most one offer at a time, so 64
// entries cover 64 threads offering long values at once; more fall back to parking.
constexpr int kOwnOffers = 64;

// Also the record that a receiver in another process reads, with the value, to check that
// the offer is real (read_offer): integers only, whatever bytes it finds.
struct OwnEntry {
  std::uint64_t magic;    // kOwnMagic while used, else 0
  std::uint64_t channel;
  std::uint32_t slot;
  std::uint32_t ticket;
  std::uint64_t data;     // the value's address
  std::uint64_t len;
  std::uint32_t readers;  // receivers in this process copying from data right now: raised
                          // under the lock, lowered without it (__atomic)
  std::uint32_t pad;
};
constexpr std::uint64_t kOwnMagic = 0x524546464f524543ull;  // "CEROFFER"

// A spin lock, not a mutex: it is held for a scan of 64 entries, and a sender registering its
// next value while the receiver of its last one looks it up must not cost either of them a
// futex sleep (a std::mutex made a 4 KiB ping-pong between threads several times slower).
class SpinLock {
 public:
  void lock() noexcept {
    for (int spins = 0; held_.exchange(true, std::memory_order_acquire); ++spins) {
      while (held_.load(std::memory_order_relaxed)) {
        if (++spins < 256) {
          _mm_pause();
        } else {
          sched_yield();  // the holder may have been preempted
        }
      }
    }
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> held_{false};
};

struct OwnRegistry {
  SpinLock m;               // protects everything below; never held across a copy or a fork
  std::uint64_t forks = 0;  // bumped in a forked child, whose registry starts empty
  OwnEntry e[kOwnOffers];
};
OwnRegistry g_own;

void own_prepare_fork() noexcept { g_own.m.lock(); }
void own_parent_fork() noexcept { g_own.m.unlock(); }
void own_child_fork() noexcept {
  // The threads that registered these entries do not exist in the child.
  for (OwnEntry& x : g_own.e) x = OwnEntry{};
  ++g_own.forks;
  g_own.m.unlock();
}

[[maybe_unused]] const int g_own_atfork = [] {
  pthread_atfork(&own_prepare_fork, &own_parent_fork, &own_child_fork);
  return 0;
}();

}  // namespace

OwnOffer::OwnOffer(std::uint64_t channel, std::uint32_t slot, std::uint32_t ticket,
                   const void* data, std::size_t len) noexcept {
  std::lock_guard<SpinLock> lk(g_own.m);
  int free_entry = 0;
  while (free_entry < kOwnOffers && g_own.e[free_entry].magic == kOwnMagic) ++free_entry;
  if (free_entry == kOwnOffers) return;
  g_own.e[free_entry] = OwnEntry{kOwnMagic, channel, slot, ticket,
                                 reinterpret_cast<std::uint64_t>(data), len, 0, 0};
  entry_ = free_entry;
  forks_ = g_own.forks;
}

OwnOffer::~OwnOffer() {
  if (entry_ < 0) return;
  for (;;) {
    {
      std::lock_guard<SpinLock> lk(g_own.m);
      if (g_own.forks != forks_) return;  // registered before a fork: not in this registry
      OwnEntry& x = g_own.e[entry_];
      if (__atomic_load_n(&x.readers, __ATOMIC_ACQUIRE) == 0) {
        x = OwnEntry{};
        return;
      }
    }
    // A receiver is still copying (the sender's wait ended early only if a peer scribbled on
    // its slot): our caller may free the value once it is done, not before.
    sched_yield();
  }
}

std::uint64_t OwnOffer::proof() const noexcept {
  return entry_ < 0 ? 0 : reinterpret_cast<std::uint64_t>(&g_own.e[entry_]);
}

bool copy_own_offer(std::uint64_t channel, std::uint32_t slot, std::uint32_t ticket,
                    std::size_t len, void* dst) noexcept {
  int found = -1;
  const void* src = nullptr;
  {
    std::lock_guard<SpinLock> lk(g_own.m);
    for (int i = 0; i < kOwnOffers && found < 0; ++i) {
      OwnEntry& x = g_own.e[i];
      if (x.magic == kOwnMagic && x.channel == channel && x.slot == slot && x.ticket == ticket) {
        if (x.len != len) return false;
        ++x.readers;
        src = reinterpret_cast<const void*>(x.data);
        found = i;
      }
    }
  }
  if (found < 0) return false;
  std::memcpy(dst, src, len);
  // Pairs with the acquire load in ~OwnOffer: our copy is done before its owner may go.
  __atomic_fetch_sub(&g_own.e[found].readers, 1u, __ATOMIC_RELEASE);
  return true;
}

PullResult read_offer(pid_t pid, std::uint64_t proof, std::uint64_t channel, std::uint32_t slot,
                      std::uint32_t ticket, std::uint64_t addr, std::size_t len,
                      void* dst) noexcept {
  // One process_vm_readv for the record and the value; the record is checked afterwards, and
  // a value read with a record that does not match is never used.
  OwnEntry rec{};
  iovec local[2] = {{&rec, sizeof rec}, {dst, len}};
  iovec remote[2] = {{reinterpret_cast<void*>(proof), sizeof rec},
                     {reinterpret_cast<void*>(addr), len}};
  ssize_t n;
  do {
    n = process_vm_readv(pid, local, 2, remote, 2, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EPERM || errno == ENOSYS)) return PullResult::no_permission;
  if (n < static_cast<ssize_t>(sizeof rec)) return PullResult::source_gone;
  if (rec.magic != kOwnMagic || rec.channel != channel || rec.slot != slot ||
      rec.ticket != ticket || rec.data != addr || rec.len != len) {
    return PullResult::not_offered;
  }
  const auto got = static_cast<std::size_t>(n) - sizeof rec;
  if (got == len) return PullResult::ok;
  return read_remote(pid, addr + got, len - got, static_cast<unsigned char*>(dst) + got);
}

// ---- forcing the parked path --------------------------------------------------------------

namespace {
std::atomic<int> g_force_spill{-1};  // -1: the environment has not been read yet
}  // namespace

bool spill_forced() noexcept {
  int v = g_force_spill.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* s = std::getenv("CERAMIC_FORCE_SPILL");
    int from_env = s != nullptr && *s != '\0' && std::strcmp(s, "0") != 0 ? 1 : 0;
    g_force_spill.compare_exchange_strong(v, from_env, std::memory_order_relaxed);
    v = g_force_spill.load(std::memory_order_relaxed);
  }
  return v == 1;
}

void force_spill(bool on) noexcept { g_force_spill.store(on ? 1 : 0, std::memory_order_relaxed); }

}  // namespace ceramic::detail
