#include "offers.hpp"

#include <fcntl.h>
#include <immintrin.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
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
  std::uint32_t read_here;  // 1 once a receiver in this process copied it (under the lock)
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

// ---- huge pages for a value sent again and again --------------------------------------------

// process_vm_readv pins its source page by page: on the development VM a 16 MiB value took the
// receiver 2.7-3.0 ms of CPU to read from 4 KiB pages and 1.0 ms from 2 MiB pages (the
// destination's page size made no difference). A buffer that a thread sends again and again to
// other processes has its 2 MiB-aligned stretches collapsed into huge pages (MADV_COLLAPSE,
// Linux 6.1): 10-50 ms for 16 MiB the first time, a few microseconds when they already are huge
// pages; from then on every read of it costs a third. Checked again every kCollapseEvery offers,
// because the buffer may have been freed and its address reused for 4 KiB pages; a collapse
// that fails (no free huge page) is retried half as often each time. Only stretches wholly
// inside the value, whose pages it already uses, so no memory is added (unless a fork shares
// them: the collapse then gives this process its own copy).
constexpr std::size_t kCollapseMinLen = std::size_t{4} << 20;  // holds a whole 2 MiB stretch
constexpr std::uint32_t kCollapseEvery = 3;  // offers read elsewhere between two collapses
constexpr std::uint32_t kCollapseMaxInterval = kCollapseEvery << 8;
constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
constexpr int kMadvCollapse = 25;  // MADV_COLLAPSE, for headers older than Linux 6.1

// The long values this thread offered lately, and how many of those offers no receiver in this
// process copied (so another process read them, had them parked, or the send failed).
struct SentRange {
  std::uint64_t data = 0;
  std::uint64_t len = 0;
  std::uint32_t offers = 0;                 // since the last collapse
  std::uint32_t interval = kCollapseEvery;  // offers between two collapses
};
constexpr int kSentRanges = 4;
thread_local SentRange t_sent[kSentRanges];
thread_local int t_sent_next = 0;
std::atomic<bool> g_collapse_unsupported{false};

// After an offer that no receiver in this process copied: counts it, and collapses the value's
// stretches every `interval` such offers. Here, not before an offer: offers are registered
// under the channel lock, and this can take tens of milliseconds; no lock is held here.
void count_read_elsewhere(std::uint64_t data, std::uint64_t len) noexcept {
  if (len < kCollapseMinLen || g_collapse_unsupported.load(std::memory_order_relaxed)) return;
  SentRange* x = nullptr;
  for (SentRange& e : t_sent) {
    if (e.data == data && e.len == len) x = &e;
  }
  if (x == nullptr) {
    x = &t_sent[t_sent_next];
    t_sent_next = (t_sent_next + 1) % kSentRanges;
    *x = SentRange{data, len};
  }
  if (++x->offers < x->interval) return;
  x->offers = 0;
  const std::uintptr_t begin = (data + kHugePage - 1) & ~(kHugePage - 1);
  const std::uintptr_t end = (data + len) & ~(kHugePage - 1);
  if (end <= begin) return;
  if (::madvise(reinterpret_cast<void*>(begin), end - begin, kMadvCollapse) == 0) {
    x->interval = kCollapseEvery;
  } else if (errno == EINVAL) {
    g_collapse_unsupported.store(true, std::memory_order_relaxed);  // older kernel, THP off
  } else {
    x->interval = std::min(2 * x->interval, kCollapseMaxInterval);  // EAGAIN, ENOMEM
  }
}

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
  OwnEntry done{};
  for (;;) {
    bool cleared = false;
    {
      std::lock_guard<SpinLock> lk(g_own.m);
      if (g_own.forks != forks_) return;  // registered before a fork: not in this registry
      OwnEntry& x = g_own.e[entry_];
      if (__atomic_load_n(&x.readers, __ATOMIC_ACQUIRE) == 0) {
        done = x;
        x = OwnEntry{};
        cleared = true;
      }
    }
    if (cleared) {
      // Outside the registry's lock: this may collapse pages.
      if (done.read_here == 0) count_read_elsewhere(done.data, done.len);
      return;
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
        x.read_here = 1;
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
