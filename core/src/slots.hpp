// ceramic — the slot and queue machinery of a channel (see layout.hpp for the states).
//
// Locking contract: the channel lock (LockLine::lock, owner_lock.hpp) protects the queues (mask
// words), the ring, the closed flag, tickets, and every transition of a slot that another
// thread can observe through a queue. Functions named *_locked require it held.
// A slot's liveness is its owner word: the identity (pid and start time, identity.hpp) of the
// process that reserved it, judged by the kernel's process table. A dead lock holder, a dead
// waiter and a dead partner of a large transfer are all detected: the holder after a lock
// slice, the others when they are met (dequeue, reclaim, a wait's slice), at most 20 us after
// their death (identity.hpp: kAliveReuseNs).
#pragma once

#include <cstdint>
#include <limits>

#include "ceramic/detail/channel.hpp"
#include "ceramic/detail/futex.hpp"
#include "layout.hpp"
#include "region.hpp"

namespace ceramic::detail {

inline constexpr std::uint32_t kClosedFlag = 1;
// LockLine::flags above bit 0 is the channel's change count (layout.hpp): it moves by this step.
inline constexpr std::uint32_t kChangeStep = 2;
inline constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

// Takes the channel lock; repairs the channel first if its previous holder died. With a
// deadline, false once it passes without the lock (the holder is stopped, or scribbled on).
bool lock(Region& r, Deadline deadline = kNoDeadline);
void unlock(Region& r) noexcept;

// Holds the channel lock for a scope; release() drops it early. With a deadline, held() says
// whether the lock was taken before it. Guard(r, d, true) adopts a lock the caller already holds
// (taken by lock(r) in this thread), and takes nothing.
class Guard {
 public:
  explicit Guard(Region& r, Deadline deadline = kNoDeadline) : r_(r), held_(lock(r_, deadline)) {}
  Guard(Region& r, Deadline deadline, bool already_held)
      : r_(r), held_(already_held || lock(r_, deadline)) {}
  bool held() const noexcept { return held_; }
  ~Guard() {
    if (held_) unlock(r_);
  }
  void release() noexcept {
    if (held_) unlock(r_);
    held_ = false;
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  Region& r_;
  bool held_;
};

// How long past its deadline a timed operation waits for a partner that holds it (a lock
// holder, a partner mid-transfer) before it gives up. The lock is held for microseconds and a
// copy takes milliseconds; a second means the partner is stopped, or the lock word was
// written by a peer (layout.hpp, THREAT MODEL).
inline constexpr std::int64_t kWithdrawGrace = 1'000'000'000;
// The deadline plus the grace (kNoDeadline stays).
inline Deadline with_grace(Deadline d) noexcept {
  return d > kNoDeadline - kWithdrawGrace ? kNoDeadline : d + kWithdrawGrace;
}

// Whether deadline d has passed (never, for kNoDeadline).
inline bool past(Deadline d) noexcept { return d != kNoDeadline && now_ns() >= d; }

// Queues slot i (I1). Also a change that can make a case ready: bumps the change count.
void set_bit(Region& r, SlotKind k, std::uint32_t i) noexcept;
void clear_bit(Region& r, SlotKind k, std::uint32_t i) noexcept;
bool closed_locked(Region& r) noexcept;

// The change count (layout.hpp, "SELECT"): changed_locked() is called, under the lock, by every
// change that can make an operation on the channel ready: a waiter queued (set_bit), the ring
// moved, close, a repair. change_count() reads it without the lock (the closed bit in bit 0),
// with the express line's park count in the high 32 bits: a receiver parks there without the
// lock (express.hpp), and that too can make a case (a send) ready.
void changed_locked(Region& r) noexcept;
std::uint64_t change_count(Region& r) noexcept;

// Frees slot i if its owner is dead (or it has none). Returns false if the owner is alive.
bool reclaim_locked(Region& r, std::uint32_t i) noexcept;
// Removes and returns the longest-waiting live slot of kind k, or kNone. Dead waiters met on
// the way are freed.
std::uint32_t dequeue_locked(Region& r, SlotKind k) noexcept;
// Reserves a slot for the calling thread (state kReserved, owner = our identity), or kNone if all
// are in use by live threads.
// Pool::queue slots wait in a queue; Pool::transfer slots belong to a partner that met a queued
// waiter and waits for the outcome (a proposal to a select, a large transfer).
enum class Pool { queue, transfer };
std::uint32_t reserve_locked(Region& r, std::uint32_t kind, Pool pool) noexcept;  // kind: SlotKind | kSelectFlag
// Owner only, once the slot has left every queue; no lock needed.
void release_slot(Region& r, std::uint32_t i) noexcept;
// All slots of a pool are taken: drops the lock and waits (bounded) for one to be freed; the
// caller checks its deadline and retries its operation.
void wait_for_free_slot(Region& r, Guard& guard, Deadline d);

// reserve_locked, or, when the pool is full: puts `back` (a partner this operation dequeued,
// of kind back_kind; kNone: none) back in its queue, in its place, drops the lock, waits for a
// slot to be freed (wait_for_free_slot) and returns kNone: the caller starts its operation
// again, or times out (its deadline d has passed).
std::uint32_t reserve_or_wait(Region& r, Guard& g, std::uint32_t kind, Pool pool, Deadline d,
                              SlotKind back_kind = kSendKind, std::uint32_t back = kNone);

// Stores a completing state; returns whether the owner must be woken (after the unlock).
bool set_state_locked(SlotHead& s, std::uint32_t st) noexcept;
// Moves s from `from` to `to` only if it is in `from` (one CAS): false if it is not. *must_wake:
// whether the owner must be woken (after the unlock). The transitions of a sender's slot that
// its owner may withdraw from without the lock (kPulling, kSpillReq, kSpillReady: see
// withdraw_offer in waiters.cpp) are all made this way, so that exactly one side wins.
bool set_state_if_locked(SlotHead& s, std::uint32_t from, std::uint32_t to,
                         bool* must_wake) noexcept;
void wake(SlotHead& s) noexcept;

}  // namespace ceramic::detail
