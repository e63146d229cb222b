// ceramic — a lock in shared memory that survives the death of its holder, and that keeps
// nothing the kernel or libc would dereference: the channel lock (LockLine::lock).
//
// THE WORD (one 64-bit atomic, in the region)
//   0                                  free
//   holder's identity | kLockWaiters?  held (identity.hpp: pid low, start time high)
// The low half is the futex word: pid | kLockWaiters (bit 31; pids are below 2^22). The
// waiters bit says that someone may sleep in futex_wait on it, so the unlock must wake one.
// Taking the lock stores the holder's whole identity in the same CAS, so there is no moment
// at which the lock is held but its holder cannot be told.
//
// PROTOCOL (the shape of Drepper's "mutex 2", with liveness)
//   lock:    CAS 0 -> me (seq_cst); spin a little; then set the waiters bit and futex_wait,
//            in slices. A thread that has slept takes the lock as me | kLockWaiters, since
//            others may still sleep. When a slice ends with the word unchanged (the same holder
//            for a whole slice), and once more before giving up at the deadline, the holder's
//            liveness is asked of the kernel (identity_alive): a holder that has died is
//            replaced by CAS from the exact word observed, and the caller is told so
//            (Locked::from_dead) and repairs what the dead holder may have left half-done.
//   unlock:  exchange 0 (release); futex_wake one if the old word had kLockWaiters.
// No wake-up is lost: a waiter sets the bit by CAS on the exact word it then sleeps on, so an
// unlock between the two makes futex_wait return EAGAIN at once, and an unlock after it sees
// the bit. Spurious wake-ups only cost a loop.
//
// MEMORY ORDERING
//   - The unlock's release exchange pairs with the CAS of the next holder: everything written
//     under the lock is visible to it.
//   - Every taking of the lock is a seq_cst CAS (on x86 the same instruction as acquire): a
//     receiver parks on the express line without the lock by storing its state, a seq_cst
//     fence, and reading the lock word (express.hpp); with the holder's seq_cst loads of the
//     line, either the holder sees the receiver there or the receiver sees the lock taken.
//   - A holder that died never released. Its stores were made before its exit, which the kernel
//     reports to us (pidfd poll, /proc) only after the dying process stopped running; the
//     stealing CAS is acquire, and repair reads what it needs with acquire loads.
//
// WHAT A PEER CAN DO TO IT (threat model: layout.hpp). It may write any value into the word.
// A value naming a live process makes the lock look held by it: timed operations end at their
// deadline, untimed ones wait (as they would for a holder that never answers). Any other value
// (a dead or never-existing process, a pid out of range) is stolen from within a slice. An
// unlock stores 0 whatever the word holds: no write leaves the word.
//
// Cost: uncontended, one CAS and one exchange, as a pthread mutex. Liveness is asked only of a
// holder that has kept the lock for a whole slice (kLockSliceMinNs, doubling to
// kLockSliceMaxNs), so a dead holder costs its waiters at most a slice and a /proc read.
#pragma once

#include <atomic>
#include <cstdint>

namespace ceramic::detail {

inline constexpr std::uint64_t kLockWaiters = std::uint64_t{1} << 31;
inline constexpr std::int64_t kLockSliceMinNs = 1'000'000;
inline constexpr std::int64_t kLockSliceMaxNs = 64'000'000;

enum class Locked {
  no,         // the deadline passed first
  yes,
  from_dead,  // taken from a holder that died holding it: what it protects may be half-done
};

// Takes the lock at `word` for the calling process; deadline: absolute CLOCK_MONOTONIC ns
// (INT64_MAX: none). Not recursive: a thread that holds it and asks again waits for itself.
Locked owner_lock(std::atomic<std::uint64_t>& word, std::int64_t deadline) noexcept;

// Releases it. Only the thread that took it.
void owner_unlock(std::atomic<std::uint64_t>& word) noexcept;

}  // namespace ceramic::detail
