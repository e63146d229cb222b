#include "express.hpp"

#include <immintrin.h>

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "ceramic/detail/futex.hpp"
#include "identity.hpp"
#include "layout.hpp"
#include "slots.hpp"
#include "values.hpp"
#include "wait.hpp"

namespace ceramic::detail {
namespace {

// seq_cst: a lock holder's reads of the line pair with a lock-free parker's fence (express.hpp).
std::uint32_t state_of(const ExpressLine& x, std::memory_order mo = std::memory_order_seq_cst) {
  return x.state.load(mo) & kStateMask;
}

// Moves the state from `from` to `to` by CAS, keeping the sleeper bit if keep_sleeper, else
// waking the sleeper. False if the state is not `from`.
bool move_if(ExpressLine& x, std::uint32_t from, std::uint32_t to, bool keep_sleeper) noexcept {
  std::uint32_t cur = x.state.load(std::memory_order_seq_cst);
  while ((cur & kStateMask) == from) {
    const std::uint32_t next = keep_sleeper ? to | (cur & kSleeper) : to;
    if (x.state.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      if (!keep_sleeper && (cur & kSleeper) != 0) wake_sleeper(x.state);
      return true;
    }
  }
  return false;
}

// Clears claim if it names a dead process; true if claim is (then) 0.
bool claim_free(ExpressLine& x) noexcept {
  std::uint64_t c = x.claim.load(std::memory_order_acquire);
  if (c == 0) return true;
  if (identity_alive(c)) return false;
  return x.claim.compare_exchange_strong(c, 0, std::memory_order_acq_rel) || c == 0;
}

void give_back_claim(ExpressLine& x, std::uint64_t me) noexcept {
  x.claim.compare_exchange_strong(me, 0, std::memory_order_acq_rel);
}

// Read without the lock (lock holders store the masks and flags atomically): whether a waiter
// of kind k is queued in a slot; whether the channel is closed.
bool queued(Region& r, SlotKind k) noexcept {
  for (std::uint32_t w = 0; w < r.geo().mask_words; ++w) {
    if (__atomic_load_n(&r.mask(k, w), __ATOMIC_RELAXED) != 0) return true;
  }
  return false;
}
bool none_queued(Region& r) noexcept { return !queued(r, kRecvKind) && !queued(r, kSendKind); }
bool closed_now(Region& r) noexcept {
  return (__atomic_load_n(&r.hdr().l.flags, __ATOMIC_ACQUIRE) & kClosedFlag) != 0;
}

// Nothing that keeps a receiver from waiting on the line without the lock: the lock free, no
// waiter queued in a slot, not closed. Read after the parker's fence: see express.hpp.
bool quiet(Region& r) noexcept {
  if (r.hdr().l.lock.load(std::memory_order_acquire) != 0) return false;  // pairs with the unlock
  return !closed_now(r) && none_queued(r);
}

// The receiver, holding claim, with the line empty: waits there. The park count goes up
// before the state (a select that read the count unchanged read it before the state moved).
bool park(ExpressLine& x, std::uint64_t me) noexcept {
  if (state_of(x) != kXEmpty) {
    x.claim.store(0, std::memory_order_release);
    return false;
  }
  x.owner.store(me, std::memory_order_relaxed);
  x.parks.store(x.parks.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  x.state.store(kXWaiting, std::memory_order_release);
  x.claim.store(0, std::memory_order_release);
  return true;
}

// The receiver leaves the line it waited on: kXDone (a claimer's value was taken; its claim,
// `claimer`, is released, and only that one: a dead claimer's may have been cleared already)
// or kXClosed. By CAS from the state it saw: the line is the receiver's until it is empty.
void leave(ExpressLine& x, std::uint32_t seen, std::uint64_t claimer = 0) noexcept {
  if (seen == kXDone && claimer != 0) {
    x.claim.compare_exchange_strong(claimer, 0, std::memory_order_acq_rel);
  }
  move_if(x, seen, kXEmpty, true);
}

// Under the lock, the line waiting: while another process holds claim it is between two
// stores (a parker that found the line taken gives it back; a sender writes its value and
// completes or gives back), never blocked. Waits for that, so that a lock
// holder does not take a waiting receiver for a claimed one and queue past it: up to
// kSettleClaimNs, and `d` (the clock is read only once there is a claim to wait for). A dead
// claimer's claim is cleared. True if the line is (still) waiting with claim free.
bool settle_claim_locked(ExpressLine& x, Deadline d) noexcept {
  std::optional<Deadline> until;
  for (unsigned i = 1;; ++i) {
    if (state_of(x) != kXWaiting) return false;
    if (x.claim.load(std::memory_order_seq_cst) == 0) return true;
    if (claim_free(x)) continue;  // its claimer was dead
    if (!until) until = std::min(d, now_ns() + kSettleClaimNs);
    if ((i & 63) == 0) {
      if (now_ns() >= *until) return false;
      sched_yield();  // the claimer may be waiting for our core
    }
    _mm_pause();
  }
}

// A receiver waiting on the line that no one will complete there: the channel was closed by
// a closer that died before releasing it, or a sender queued in a slot past it (it found the
// line claimed for a moment). It leaves and meets them under the lock.
bool stranded(void* region) noexcept {
  Region& r = *static_cast<Region*>(region);
  return closed_now(r) || queued(r, kSendKind);
}

}  // namespace

bool express_channel(const Geometry& g) noexcept {
  return g.capacity == 0 && g.max_value <= kExpressBytes;
}

bool express_send(Region& r, const void* data, std::size_t len, pid_t* peer) noexcept {
  ExpressLine& x = r.hdr().x;
  if (len > kExpressBytes || state_of(x) != kXWaiting) return false;
  // The waiter's liveness is judged before the line is written: the receiver spins reading
  // the line, and whatever the sender does between its claim and its completing CAS is time
  // in which the receiver can take the line back, which costs the sender another transfer.
  const std::uint64_t owner = x.owner.load(std::memory_order_relaxed);
  if (!identity_alive(owner)) return false;  // tidied under the lock
  const std::uint64_t me = self_identity();
  std::uint64_t expected = 0;
  // seq_cst: a lock holder's reads of the line (state, then claim) pair with a lock-free
  // parker's fence (express.hpp, "Parking").
  if (!x.claim.compare_exchange_strong(expected, me, std::memory_order_seq_cst)) return false;
  // With claim held, no receiver parks: the waiter we complete is the one there now, if any,
  // and no one else writes the value bytes (the receiver reads them only in kXDone). It must
  // be alive: another may have parked between our read of the owner and our claim.
  const std::uint64_t target = x.owner.load(std::memory_order_relaxed);
  if (target != owner && !identity_alive(target)) {
    give_back_claim(x, me);
    return false;
  }
  x.len.store(static_cast<std::uint32_t>(len), std::memory_order_relaxed);
  std::memcpy(x.data, data, len);
  // A CAS: the receiver may withdraw at its deadline, or close take it, at the same moment.
  if (!move_if(x, kXWaiting, kXDone, false)) {
    give_back_claim(x, me);
    return false;
  }
  if (peer != nullptr) *peer = identity_pid(target);
  return true;
}

bool express_send_locked(Region& r, const void* data, std::size_t len, Deadline d,
                         pid_t* peer) noexcept {
  for (;;) {
    if (express_send(r, data, len, peer)) return true;
    if (!settle_claim_locked(r.hdr().x, d)) return false;
  }
}

bool express_await_receiver(Region& r, Deadline d) noexcept {
  const Geometry& g = r.geo();
  if (!express_channel(g) || d == 0 || !spinning_pays() || !none_queued(r)) return false;
  ExpressLine& x = r.hdr().x;
  // The lock's part of the change count: a receiver parking here moves only the park count.
  auto locked_changes = [&r] { return __atomic_load_n(&r.hdr().l.flags, __ATOMIC_ACQUIRE); };
  const std::uint32_t flags = locked_changes();
  if ((flags & kClosedFlag) != 0) return false;  // closed_now, and the count to watch
  const std::int64_t stop = std::min(now_ns() + kAwaitReceiverNs, d);
  for (unsigned i = 1;; ++i) {
    const std::uint32_t st = state_of(x);
    if (st == kXWaiting) return true;
    if (st == kXClosed) return false;
    if (locked_changes() != flags) return state_of(x) == kXWaiting;
    _mm_pause();
    if ((i & 31) == 0 && now_ns() >= stop) return false;
  }
}

bool express_ready_locked(Region& r) noexcept {
  ExpressLine& x = r.hdr().x;
  if (state_of(x) != kXWaiting) return false;
  if (!identity_alive(x.owner.load(std::memory_order_relaxed))) return false;
  return settle_claim_locked(x, kNoDeadline);
}

void tidy_express_locked(Region& r) noexcept {
  ExpressLine& x = r.hdr().x;
  // A dead claimer's claim: it will not move the line again. Not in kXDone: that claim is
  // the receiver's to release when it leaves (cleared now, another process could claim the
  // line while the receiver still reads it).
  if (state_of(x) != kXDone) claim_free(x);
  const std::uint32_t st = state_of(x);
  if (st == kXEmpty) return;
  if (identity_alive(x.owner.load(std::memory_order_relaxed))) return;
  // The receiver died. Waiting: a claimer's CAS may race ours (one wins; a sender that wins
  // has delivered to the dead, as a sender that completed a slot just before its owner died).
  // Done: its claimer is finished, so the claim is void. All by CAS from the state seen: a
  // lock-free parker may be taking the line at the same moment.
  if (st == kXWaiting) {
    move_if(x, kXWaiting, kXEmpty, true);
  } else if (st == kXDone || st == kXClosed) {
    leave(x, st, st == kXDone ? x.claim.load(std::memory_order_acquire) : 0);
  }
}

bool park_express_locked(Region& r) noexcept {
  const Geometry& g = r.geo();
  if (!express_channel(g)) return false;
  for (std::uint32_t w = 0; w < g.mask_words; ++w) {
    if (r.mask(kRecvKind, w) != 0) return false;  // FIFO: receivers queued before us go first
  }
  ExpressLine& x = r.hdr().x;
  tidy_express_locked(r);
  const std::uint64_t me = self_identity();
  std::uint64_t expected = 0;
  if (state_of(x) != kXEmpty ||
      !x.claim.compare_exchange_strong(expected, me, std::memory_order_seq_cst)) {
    return false;
  }
  return park(x, me);  // the park count tells a select looking for ready cases
}

bool try_park_express(Region& r, Deadline d) noexcept {
  if (d == 0 || !express_channel(r.geo())) return false;
  ExpressLine& x = r.hdr().x;
  if (state_of(x, std::memory_order_relaxed) != kXEmpty ||
      x.claim.load(std::memory_order_relaxed) != 0 || !quiet(r)) {
    return false;
  }
  const std::uint64_t me = self_identity();
  std::uint64_t expected = 0;
  if (!x.claim.compare_exchange_strong(expected, me, std::memory_order_seq_cst)) return false;
  if (!park(x, me)) return false;
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the state before the lock word
  if (quiet(r)) return true;
  // A lock holder (or a waiter it queued, or close) may not have seen us: leave as if we had
  // not come, unless a sender or close has already moved us on (wait_express takes that).
  return !move_if(x, kXWaiting, kXEmpty, true);
}

void close_express_locked(Region& r) noexcept { move_if(r.hdr().x, kXWaiting, kXClosed, false); }

End wait_express(Region& r, Deadline d, Sink sink, pid_t* peer) {
  ExpressLine& x = r.hdr().x;
  const Geometry& geo = r.geo();
  // A sender that claimed us and died before completing us (its claim stays): we then leave,
  // and start again under the lock (a sender that found us claimed may have queued meanwhile,
  // and would never meet us here).
  // And a receiver stranded here (stranded()) is told so after a sleep slice, the same way.
  const Partner claimer{&x.claim, nullptr, 0, true, &stranded, &r};
  for (;;) {
    switch (state_of(x)) {
      case kXWaiting: {
        const WaitEnd we = wait_state(x.state, kXWaiting, d, &claimer);
        if (we == WaitEnd::changed) continue;
        if (we == WaitEnd::partner_died) {
          claim_free(x);
          if (move_if(x, kXWaiting, kXEmpty, true)) return End::retry;
          continue;  // completed or closed first
        }
        if (move_if(x, kXWaiting, kXEmpty, true)) return End::timeout;
        continue;  // completed or closed first
      }
      case kXDone: {
        const std::uint32_t len = x.len.load(std::memory_order_relaxed);
        const std::uint64_t by = x.claim.load(std::memory_order_acquire);
        if (peer != nullptr) *peer = identity_pid(by);
        if (len > kExpressBytes || len_problem(len, geo, false) != nullptr) {
          leave(x, kXDone, by);
          corrupt("express value length out of range");
        }
        try {
          std::memcpy(prepare(sink, len), x.data, len);
        } catch (...) {
          leave(x, kXDone, by);
          throw;
        }
        leave(x, kXDone, by);
        return End::ok;
      }
      case kXClosed:
        leave(x, kXClosed);
        return End::closed;
      default:
        corrupt("express line in an unexpected state");
    }
  }
}

}  // namespace ceramic::detail
