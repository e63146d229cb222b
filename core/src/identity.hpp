// ceramic — naming a process in shared memory so that its pid cannot be mistaken for a later
// process's, and asking the kernel whether it lives.
//
// Why not robust mutexes. glibc's robust mutexes keep the links of their owner thread's robust
// list inside the mutex: in a channel's region, where any peer may rewrite them, and the owner's
// next lock or unlock writes through them (into its own private memory, wherever the peer
// pointed). So the channel lock and the slot owners hold an identity instead: data that the
// kernel and libc never dereference, judged against the kernel's process table.
//
// An identity is one 64-bit word: the pid in the low 32 bits, and in the high 32 bits a tag
// that tells the process apart from any other that held or will hold the same pid:
//   - Linux >= 6.9 (pidfs): the low 32 bits of the inode number of a pidfd of the process.
//     pidfs numbers every process once per boot, from a 64-bit counter: a process that takes
//     over a pid has another number, even one forced onto the pid (ns_last_pid) at once.
//   - older kernels: the low 32 bits of the process's start time (clock ticks after boot,
//     /proc/<pid>/stat field 22). Pids are allocated cyclically, so a reuse needs pid_max
//     processes to be made first, which takes far longer than one tick (10 ms); a pid forced
//     onto a process within the tick of its predecessor's start is not told apart.
//   - no usable /proc either (not mounted, or mounted for another pid namespace): 0, and a
//     reused pid is not told apart from its first holder.
// Which of the three is a property of the kernel: all processes of a channel use the same.
// 0 names nobody: no process has pid 0.
//
// Liveness is per process: a thread that ended while its process lives is not detected (the
// library's threads never end inside an operation; pthread_exit from a hook would be a bug).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>

namespace ceramic::detail {

using ProcIdentity = std::uint64_t;

// The largest pid the kernel can hand out (PID_MAX_LIMIT, 2^22): bits above it in the low half
// of an identity are free for flags (the channel lock's waiters bit, bit 31).
inline constexpr std::uint32_t kMaxPid = 1u << 22;

constexpr pid_t identity_pid(ProcIdentity id) noexcept {
  return static_cast<pid_t>(static_cast<std::uint32_t>(id));
}

// This process (computed once, again after fork).
ProcIdentity self_identity() noexcept;

// The identity of the live process `pid`, or nullopt if there is none (or /proc cannot say).
std::optional<ProcIdentity> identity_of(pid_t pid) noexcept;

// True if the process `id` names lives: its pid is held by a process that has not exited (a
// zombie has exited) and that carries the recorded tag. False for 0, for a pid out of range,
// and for any identity that names no process (a peer's scribble).
//
// Freshness::recent accepts the kernel's "alive" from up to kAliveReuseNs ago (per thread):
// a process that died within that time may still be taken for alive, as it would have been
// had it been killed that much later. The robust mutexes had a window of the same order: the
// kernel marked them only once the killed process ran its exit, which for a sleeping victim
// is a wake-up (about 25 us on a VM) after the kill. "Dead" is never reused: it is final.
// Freshness::now asks the kernel every time (a caller that must know the process lived after
// something it did: complete_sender, after copying from it).
//
// Costs: our own identity, nothing. Another process met for the first time: a pidfd_open and
// an fstat (pidfs) or a read of /proc/<pid>/stat (about 10 us); after that, one poll(2) of the
// cached pidfd (about 0.5 us), at most once per kAliveReuseNs for Freshness::recent, for as
// long as it lives; in between, a clock read (the TSC where the kernel keeps time by it:
// fresh_clock.hpp). Each thread caches up to kIdentityCache live processes; the pidfd of one
// found dead is closed at once, and a thread's are closed when it ends. Without pidfds
// (Linux < 5.3, or a seccomp filter): a read of /proc/<pid>/stat every time.
enum class Freshness { recent, now };
bool identity_alive(ProcIdentity id, Freshness fresh = Freshness::recent) noexcept;

inline constexpr int kIdentityCache = 8;
inline constexpr std::int64_t kAliveReuseNs = 20'000;

// ---- this process, and the owner words of shared memory --------------------------------

// This process's pid and the calling thread's tid (cached; refreshed after fork).
pid_t self_pid() noexcept;
pid_t self_tid() noexcept;

// True if a slot's owner word (SlotHead::owner) names a live process; false if it names a
// dead one, or none (identity_alive).
bool owner_alive(const std::atomic<std::uint64_t>& owner) noexcept;

// The same, asking the kernel now (identity_alive, Freshness::now).
bool owner_alive_now(const std::atomic<std::uint64_t>& owner) noexcept;

// True if a slot's owner word names the calling process.
bool owned_by_me(const std::atomic<std::uint64_t>& owner) noexcept;

// Closes the calling thread's cached pidfds (they are opened again as needed). For tests that
// count file descriptors.
void forget_identities() noexcept;

}  // namespace ceramic::detail
