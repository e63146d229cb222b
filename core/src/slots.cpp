#include "slots.hpp"

#include "ceramic/detail/futex.hpp"
#include "identity.hpp"
#include "owner_lock.hpp"
#include "value_file.hpp"
#include "wait.hpp"

namespace ceramic::detail {

void repair_locked(Region& r) noexcept;

// ---- lock ---------------------------------------------------------------------------------

bool lock(Region& r, Deadline deadline) {
  // A holder that is stopped, or a lock word a peer scribbled on, must not hold a timed
  // operation past its deadline; a holder that died is replaced (owner_lock.hpp).
  switch (owner_lock(r.hdr().l.lock, deadline)) {
    case Locked::no:
      return false;
    case Locked::from_dead:
      repair_locked(r);
      return true;
    case Locked::yes:
      return true;
  }
  return true;
}

void unlock(Region& r) noexcept { owner_unlock(r.hdr().l.lock); }


// ---- queues (lock) ------------------------------------------------------------------------

// Only lock holders write the masks, with atomic stores: a receiver about to park on the
// express line reads them without the lock (express.cpp).
void set_bit(Region& r, SlotKind k, std::uint32_t i) noexcept {
  std::uint64_t& m = r.mask(k, i / 64);
  __atomic_store_n(&m, m | std::uint64_t{1} << (i % 64), __ATOMIC_RELAXED);
  changed_locked(r);
}
void clear_bit(Region& r, SlotKind k, std::uint32_t i) noexcept {
  std::uint64_t& m = r.mask(k, i / 64);
  __atomic_store_n(&m, m & ~(std::uint64_t{1} << (i % 64)), __ATOMIC_RELAXED);
}

bool closed_locked(Region& r) noexcept { return (r.hdr().l.flags & kClosedFlag) != 0; }

// Only lock holders write flags; readers without the lock load it atomically (closed(),
// change_count()). The release pairs with change_count()'s acquire.
void changed_locked(Region& r) noexcept {
  __atomic_store_n(&r.hdr().l.flags, r.hdr().l.flags + kChangeStep, __ATOMIC_RELEASE);
}
std::uint64_t change_count(Region& r) noexcept {
  const std::uint64_t parks = r.hdr().x.parks.load(std::memory_order_acquire);
  return parks << 32 | __atomic_load_n(&r.hdr().l.flags, __ATOMIC_ACQUIRE);
}

// Frees slot i if its owner is dead (or it has none). Returns false if the owner is alive.
bool reclaim_locked(Region& r, std::uint32_t i) noexcept {
  SlotHead& s = r.slot(i);
  std::uint64_t owner = s.owner.load(std::memory_order_acquire);
  if (owner != 0 && identity_alive(owner)) return false;
  // A parked value the dead owner's slot records is released: a sender's that was never
  // delivered (queued with it in a buffered channel, or being parked for a receiver that may
  // not read its memory), a receiver's that it was reading (kDone: handed to it; kReserved:
  // taken from the ring or a sender, hold_parked_locked).
  const std::uint32_t st = s.state.load(std::memory_order_relaxed) & kStateMask;
  const std::uint32_t kind = s.kind & kKindMask;
  if (s.len > r.geo().inline_bytes &&
      ((kind == kSendKind && st != kDone) ||
       (kind == kRecvKind && (st == kDone || st == kReserved)))) {
    drop_parked(r, r.tail(i).ref.spill, s.len);
  }
  clear_bit(r, kSendKind, i);
  clear_bit(r, kRecvKind, i);
  s.state.store(kFree, std::memory_order_release);
  // Only if unchanged: under the lock, nobody else claims a slot, and a dead owner writes no
  // more; a different word is a scribble, judged again by the next reclaim.
  s.owner.compare_exchange_strong(owner, 0, std::memory_order_release, std::memory_order_relaxed);
  return true;
}

// The previous lock holder died inside a critical section. Every update it could have left
// half-done is recomputed from the slots (invariant I1) or was a single store (ring_state).
void repair_locked(Region& r) noexcept {
  const Geometry& g = r.geo();
  // A committed ring move: finish it (both of its stores are idempotent).
  RingLine& rl = r.hdr().r;
  if (std::uint32_t m = rl.move_slot; m != 0) {
    if (m - 1 < g.slot_count) {
      rl.ring_state = rl.move_ring_state;  // validated below
      SlotHead& s = r.slot(m - 1);
      if (r.tail(m - 1).ticket == rl.move_ticket &&
          (s.state.load(std::memory_order_acquire) & kStateMask) == kWaiting &&
          set_state_locked(s, kDone)) {
        wake(s);
      }
    }
    rl.move_slot = 0;
  }
  const bool closed = closed_locked(r);
  for (std::uint32_t w = 0; w < g.mask_words; ++w) {
    __atomic_store_n(&r.mask(kSendKind, w), 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r.mask(kRecvKind, w), 0, __ATOMIC_RELAXED);
  }
  for (std::uint32_t i = 0; i < g.slot_count; ++i) {
    SlotHead& s = r.slot(i);
    std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
    if (st == kFree) continue;
    if (!owner_alive(s.owner) && reclaim_locked(r, i)) continue;
    std::uint32_t kind = s.kind & kKindMask;
    if (st == kWaiting && closed) {
      // The closer died between setting the flag and waking everyone: finish its job.
      bool w = false;
      if (set_state_if_locked(s, kWaiting, kClosed, &w) && w) wake(s);
    } else if (st == kWaiting && (kind == kSendKind || kind == kRecvKind)) {
      set_bit(r, static_cast<SlotKind>(kind), i);
    }
  }
  std::uint64_t rs = r.hdr().r.ring_state;
  auto head = static_cast<std::uint32_t>(rs);
  auto count = static_cast<std::uint32_t>(rs >> 32);
  if (g.capacity == 0 ? rs != 0 : (head >= g.capacity || count > g.capacity)) {
    r.hdr().r.ring_state = 0;  // corrupt beyond repair: the buffered values are lost
  }
  changed_locked(r);  // queues and ring were recomputed: a select must look again
}

// Removes and returns the longest-waiting live slot of kind k, or kNone. Dead waiters met on
// the way are freed.
std::uint32_t dequeue_locked(Region& r, SlotKind k) noexcept {
  const Geometry& g = r.geo();
  for (;;) {
    std::uint32_t best = kNone;
    std::uint32_t best_ticket = 0;
    unsigned seen = 0;
    for (std::uint32_t w = 0; w < g.mask_words; ++w) {
      std::uint64_t m = r.mask(k, w);
      while (m != 0) {
        std::uint32_t i = w * 64 + static_cast<std::uint32_t>(__builtin_ctzll(m));
        m &= m - 1;
        if (i >= g.slot_count) {  // a scribbled mask word: drop the bit
          clear_bit(r, k, i);
          continue;
        }
        if (seen++ == 0) {
          best = i;
          continue;
        }
        if (seen == 2) best_ticket = r.tail(best).ticket;
        std::uint32_t t = r.tail(i).ticket;
        if (static_cast<std::int32_t>(t - best_ticket) < 0) {
          best = i;
          best_ticket = t;
        }
      }
    }
    if (best == kNone) return kNone;
    clear_bit(r, k, best);
    SlotHead& s = r.slot(best);
    if ((s.state.load(std::memory_order_relaxed) & kStateMask) == kWaiting &&
        (s.kind & kKindMask) == k && owner_alive(s.owner)) {
      return best;
    }
    reclaim_locked(r, best);
  }
}

thread_local std::uint32_t t_slot_hint = 0;

// Reserves a slot for the calling thread (state kReserved, owner word = our identity), or kNone if all
// are in use by live threads.
std::uint32_t reserve_locked(Region& r, std::uint32_t k, Pool pool) noexcept {
  const Geometry& g = r.geo();
  const std::uint32_t first = pool == Pool::queue ? 0 : g.queue_slots;
  const std::uint32_t size = pool == Pool::queue ? g.queue_slots : g.slot_count - g.queue_slots;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t j = 0; j < size; ++j) {
      std::uint32_t i = first + (t_slot_hint + j) % size;
      SlotHead& s = r.slot(i);
      if ((s.state.load(std::memory_order_acquire) & kStateMask) != kFree) {
        // Slots left behind by threads that died outside the lock (and what they held, such as
        // a parked value) are reclaimed by whoever passes them: the first pass reclaims those
        // it meets before a free slot, the second any it finds.
        if (owner_alive(s.owner) || !reclaim_locked(r, i)) continue;
      }
      // kFree: claim the owner word. Non-zero, its previous owner is between storing kFree
      // and clearing it (or died there: then the slot is ours to take over).
      std::uint64_t prev = s.owner.load(std::memory_order_relaxed);
      if (prev != 0 && identity_alive(prev)) continue;
      if (!s.owner.compare_exchange_strong(prev, self_identity(), std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
        continue;
      }
      s.state.store(kReserved, std::memory_order_relaxed);
      s.kind = k;
      s.len = 0;
      SlotTail& t = r.tail(i);
      // Atomic: a partner watching this slot's liveness reads it without the lock.
      __atomic_store_n(&t.ticket, r.hdr().l.next_ticket++, __ATOMIC_RELEASE);
      t.pid = self_pid();
      t.tid = self_tid();
      t.ref = ValueRef{};
      t_slot_hint = i - first;
      return i;
    }
  }
  return kNone;
}

// Owner only, after the slot has left every queue. No lock needed: reserve_locked takes a
// slot only once its state is kFree and its owner word is clear.
void release_slot(Region& r, std::uint32_t i) noexcept {
  SlotHead& s = r.slot(i);
  s.state.store(kFree, std::memory_order_release);
  s.owner.store(0, std::memory_order_release);
  SlotWaitLine& w = r.hdr().w;
  if (w.waiting.load(std::memory_order_seq_cst) != 0) {
    w.gen.fetch_add(1, std::memory_order_release);
    futex_wake(w.gen, INT32_MAX);
  }
}

// All slots are taken by live waiters: drop the lock, wait for one to be freed (bounded
// slice: a lost wake-up costs at most a millisecond), and let the caller retry.
void wait_for_free_slot(Region& r, Guard& guard, Deadline d) {
  SlotWaitLine& w = r.hdr().w;
  w.waiting.fetch_add(1, std::memory_order_seq_cst);
  std::uint32_t gen = w.gen.load(std::memory_order_acquire);
  guard.release();
  futex_wait(w.gen, gen, std::min(d, now_ns() + 1'000'000));
  w.waiting.fetch_sub(1, std::memory_order_seq_cst);
}

std::uint32_t reserve_or_wait(Region& r, Guard& g, std::uint32_t kind, Pool pool, Deadline d,
                              SlotKind back_kind, std::uint32_t back) {
  std::uint32_t i = reserve_locked(r, kind, pool);
  if (i != kNone) return i;
  if (back != kNone) set_bit(r, back_kind, back);
  wait_for_free_slot(r, g, d);
  return kNone;
}

// Stores a completing state; returns whether the owner must be woken (after the unlock).
bool set_state_locked(SlotHead& s, std::uint32_t st) noexcept {
  return (s.state.exchange(st, std::memory_order_acq_rel) & kSleeper) != 0;
}
bool set_state_if_locked(SlotHead& s, std::uint32_t from, std::uint32_t to,
                         bool* must_wake) noexcept {
  std::uint32_t cur = s.state.load(std::memory_order_acquire);
  while ((cur & kStateMask) == from) {
    if (s.state.compare_exchange_weak(cur, to, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      *must_wake = (cur & kSleeper) != 0;
      return true;
    }
  }
  return false;
}
void wake(SlotHead& s) noexcept { futex_wake(s.state, 1); }

}  // namespace ceramic::detail
