#include "waiters.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

#include "ceramic/detail/futex.hpp"
#include "identity.hpp"
#include "offers.hpp"
#include "slots.hpp"
#include "value_file.hpp"
#include "values.hpp"
#include "wait.hpp"

namespace ceramic::detail {

bool answer_locked(Region& r, std::uint32_t p, std::uint32_t ticket, std::uint32_t st) {
  if (p >= r.geo().slot_count) corrupt("proposer slot out of range");
  SlotHead& s = r.slot(p);
  std::uint32_t cur = s.state.load(std::memory_order_acquire) & kStateMask;
  if (r.tail(p).ticket != ticket || (cur != kPulling && cur != kProposed) || !owner_alive(s.owner)) {
    return false;
  }
  // A CAS: a timed sender proposing to a select (kPulling) may withdraw at the same moment.
  bool w = false;
  if (!set_state_if_locked(s, cur, st, &w)) return false;
  if (w) wake(s);
  return true;
}

namespace {


// A timed wait that could not withdraw its slot: the slot stays queued and ours (a holder that
// resumes may still complete it; freeing it would let that completion land on the slot's next
// user). It is lost to the channel until this process ends.
struct WithdrawFailed : ChannelError {
  WithdrawFailed()
      : ChannelError(
            "ceramic: the channel's lock was still held a second past the operation's deadline "
            "(a process holding the channel is stopped, or writes into its memory): the "
            "operation gave up, and whether its partner completed it is unknown") {}
};

// Runs a wait on slot `me`; if it throws (no memory for the value, no room for a spill), frees
// the slot first: a partner watching it then sees us gone and recovers, as if we had died.
template <class F>
End releasing_on_throw(Region& r, std::uint32_t me, F&& f) {
  try {
    return f();
  } catch (const WithdrawFailed&) {
    throw;  // the slot stays queued: see WithdrawFailed
  } catch (...) {
    if (owned_by_me(r.slot(me).owner)) release_slot(r, me);
    throw;
  }
}

End wait_sender_impl(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                     pid_t* peer);

// Frees slot i if its owner is dead and the channel lock is free at once; otherwise leaves it
// to whoever passes it next (reserve_locked and dequeue_locked reclaim dead owners' slots).
void reclaim_if_dead(Region& r, std::uint32_t i) {
  if (owner_alive(r.slot(i).owner)) return;
  Guard g(r, now_ns());
  if (g.held() && !owner_alive(r.slot(i).owner)) reclaim_locked(r, i);
}

// A timed sender whose offer a partner holds (its slot in kPulling, kSpillReq or kSpillReady:
// a receiver is pulling its value, or a select has its proposal) takes the offer back at its
// deadline plus the grace, without the lock: one CAS to kReserved. Every transition a partner
// makes out of those states is a CAS too (complete_sender, pull_parked, answer_locked), so
// exactly one side wins: the partner completed it (the send is ok), or the offer is withdrawn
// and the partner finds it gone, as if the sender had died (it discards what it copied; a
// receiver retries, or reports peer_died if timed). True if withdrawn.
bool withdraw_offer(SlotHead& s) noexcept {
  bool unused = false;
  for (std::uint32_t st : {kPulling, kSpillReq, kSpillReady}) {
    if (set_state_if_locked(s, st, kReserved, &unused)) return true;
  }
  return false;  // moved on (kDone, kDeclined, ...): the caller looks again
}

// Waits while slot `me` sits in queue k. At the deadline, withdraws it if it is still queued
// and releases it: true. False when a partner (or close) changed its state first.
bool wait_queued(Region& r, std::uint32_t me, SlotKind k, Deadline d) {
  SlotHead& s = r.slot(me);
  if (wait_state(s.state, kWaiting, d) != WaitEnd::deadline) return false;
  Guard g(r, with_grace(std::max(d, now_ns())));
  if (!g.held()) throw WithdrawFailed();
  if ((s.state.load(std::memory_order_acquire) & kStateMask) != kWaiting) return false;
  clear_bit(r, k, me);
  // Not kWaiting any more before the lock drops: a repair must not queue it again.
  s.state.store(kReserved, std::memory_order_relaxed);
  g.release();
  release_slot(r, me);
  return true;
}
End wait_receiver_impl(Region& r, std::uint32_t me, Deadline d, Sink sink, pid_t* peer);

}  // namespace

End wait_sender(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                pid_t* peer) {
  return releasing_on_throw(r, me, [&] { return wait_sender_impl(r, me, d, data, len, peer); });
}

End wait_receiver(Region& r, std::uint32_t me, Deadline d, Sink sink, pid_t* peer) {
  return releasing_on_throw(r, me, [&] { return wait_receiver_impl(r, me, d, sink, peer); });
}

namespace {

End wait_sender_impl(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                     pid_t* peer) {
  SlotHead& s = r.slot(me);
  // A receiver in this process copies a long unbuffered value from the address registered
  // here, and one in another process checks the record registered here. Channel::send
  // registers before it offers (and has published the record: proof != 0, nothing to do); a
  // select offers first and registers here, and a receiver that comes too early asks us to
  // park the value. (proof is only a hint here: if a peer scribbled it, receivers park.)
  std::optional<OwnOffer> own;
  if (len > r.geo().inline_bytes && r.geo().capacity == 0 &&
      __atomic_load_n(&r.tail(me).ref.proof, __ATOMIC_RELAXED) == 0) {
    own.emplace(r.id(), me, r.tail(me).ticket, data, len);
    if (std::uint64_t proof = own->proof(); proof != 0) {
      // Pairs with the puller's acquire load in pull_into.
      __atomic_store_n(&r.tail(me).ref.proof, proof, __ATOMIC_RELEASE);
    }
  }
  std::uint64_t parked = 0;  // where we parked our value for the receiver, once asked to
  for (;;) {
    std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
    switch (st) {
      case kWaiting:
        if (wait_queued(r, me, kSendKind, d)) return End::timeout;
        continue;
      case kDone:
        if (peer != nullptr && r.tail(me).ref.peer_pid != 0) *peer = r.tail(me).ref.peer_pid;
        release_slot(r, me);  // a parked value was punched out by the receiver
        return End::ok;
      case kClosed:
        release_slot(r, me);
        return End::closed;
      case kDeclined:
        release_slot(r, me);
        return End::retry;
      case kPulling:
      case kSpillReady: {
        const ValueRef ref = r.tail(me).ref;
        if (ref.puller_slot >= r.geo().slot_count) corrupt("puller slot out of range");
        Partner puller{&r.slot(ref.puller_slot).owner, &r.tail(ref.puller_slot).ticket,
                       ref.puller_ticket};
        // The receiver copies at several GB/s: spin through the copy (len / 4 GB/s, at most
        // 2 ms) rather than pay a wake-up at its end, unless spinning has not been paying.
        std::int64_t copy_ns = std::min<std::int64_t>(static_cast<std::int64_t>(len / 4), 2'000'000);
        // Timed: the partner has until the deadline plus the grace to finish (a receiver that
        // started a long copy just before the deadline is not cheated of it); a partner that is
        // stopped, or cannot take the lock to complete us, does not hold us past that.
        const WaitEnd we = wait_state(s.state, st, with_grace(d), &puller, copy_ns);
        if (we == WaitEnd::changed) continue;
        if (we == WaitEnd::deadline) {
          if (!withdraw_offer(s)) continue;  // completed (or declined) first: look again
          // Not delivered. A value we parked for the receiver may be being read right now:
          // punching it out is harmless (its completion fails, and it discards the copy).
          drop_parked(r, parked, len);
          release_slot(r, me);
          return End::timeout;
        }
        // The receiver (or the select we proposed to) died before taking our value. Withdraw
        // the offer as at a deadline (one CAS, no lock: a stopped lock holder cannot hold us
        // here), and free the dead partner's slot if the lock is free now (else the next one
        // to pass it does: reserve_locked).
        if (!withdraw_offer(s)) continue;  // it completed us before it died: look again
        reclaim_if_dead(r, ref.puller_slot);
        drop_parked(r, parked, len);
        // Not delivered. Do not re-queue from here: a receiver may have queued itself while
        // we were busy, and both queues must never hold waiters at once (I2). The caller
        // starts the operation again, or reports peer_died if it has a deadline.
        release_slot(r, me);
        return End::peer_died;
      }
      case kSpillReq:
        // The receiver may not read our memory: park the value for it. Its place is recorded
        // in our slot before it is written, so a death while writing leaks nothing.
        // Timed: the lock by the deadline plus the grace, else the offer is withdrawn.
        parked = park(r, data, len, me, with_grace(d));
        if (parked == 0) {
          if (!withdraw_offer(s)) continue;  // the receiver gave up first: look again
          release_slot(r, me);
          return End::timeout;
        }
        publish_state(s.state, kSpillReady);  // pairs with the puller's acquire of the state
        continue;
      default:
        corrupt("unexpected sender slot state");
    }
  }
}

End wait_receiver_impl(Region& r, std::uint32_t me, Deadline d, Sink sink, pid_t* peer) {
  const Geometry& geo = r.geo();
  SlotHead& ms = r.slot(me);
  for (;;) {
    std::uint32_t st = ms.state.load(std::memory_order_acquire) & kStateMask;
    switch (st) {
      case kWaiting:
        if (wait_queued(r, me, kRecvKind, d)) return End::timeout;
        continue;
      case kDone: {
        std::size_t len = checked_len(ms.len, geo, true);
        if (len <= geo.inline_bytes) {
          std::memcpy(prepare(sink, len), r.slot_data(me), len);
          if (peer != nullptr) *peer = r.tail(me).ref.src_pid;  // another line: only if asked
          release_slot(r, me);
        } else {
          // Parked: our slot (kDone, ValueRef::spill) owns the value until we have read it.
          const ValueRef ref = r.tail(me).ref;
          if (peer != nullptr) *peer = ref.src_pid;
          unpark_held(r, me, ref.spill, len, sink);
        }
        return End::ok;
      }
      case kClosed:
        release_slot(r, me);
        return End::closed;
      case kDeclined:
        release_slot(r, me);
        return End::retry;
      case kProposed: {
        // We proposed to a select's send slot: wait for its answer while it lives. Only the
        // two fields we wrote are read here; the select writes the others when it answers.
        const std::uint32_t src_slot = r.tail(me).ref.src_slot;
        const std::uint32_t src_ticket = r.tail(me).ref.src_ticket;
        if (src_slot >= geo.slot_count) corrupt("select slot out of range");
        Partner select{&r.slot(src_slot).owner, &r.tail(src_slot).ticket, src_ticket};
        // Timed: the select has until our deadline plus the grace to answer; a select that is
        // stopped does not hold us past that. We withdraw by one CAS; the select answers by a
        // CAS too (answer_locked), so exactly one side wins: answered, or withdrawn and the
        // select finds us gone (nothing was delivered).
        const WaitEnd we = wait_state(ms.state, kProposed, with_grace(d), &select);
        if (we == WaitEnd::changed) continue;
        if (we == WaitEnd::deadline) {
          bool unused = false;
          if (!set_state_if_locked(ms, kProposed, kReserved, &unused)) continue;  // answered
          release_slot(r, me);
          return End::timeout;
        }
        // The select died: withdraw (a CAS, as at a deadline) and free its slot if we can now.
        bool unused = false;
        if (!set_state_if_locked(ms, kProposed, kReserved, &unused)) continue;  // answered
        reclaim_if_dead(r, src_slot);
        release_slot(r, me);
        return End::retry;
      }
      case kLargeOffer: {
        const ValueRef ref = r.tail(me).ref;
        if (peer != nullptr) *peer = ref.src_pid;
        std::size_t len = checked_len(ms.len, geo, true);
        const PullEnd pe = pull_large(r, ref, len, sink, with_grace(d));
        if (pe != PullEnd::sender_died) {
          release_slot(r, me);  // gave_up: the sender, seeing us gone, withdraws its offer
          return pe == PullEnd::ok ? End::ok : End::timeout;
        }
        // The sender died mid-transfer: nothing was received. As in wait_sender, never
        // re-queue from here (a sender may be queued by now): the caller starts again.
        release_slot(r, me);
        return d != kNoDeadline ? End::peer_died : End::retry;
      }
      default:
        corrupt("unexpected receiver slot state");
    }
  }
}

}  // namespace

// ---- meeting a queued partner that cannot be completed in one step ------------------------

End offer_to_receiver(Region& r, Guard& g, std::uint32_t ri, const OutValue& v, Deadline d,
                      Deadline lock_by, pid_t* peer) {
  const std::uint32_t me = reserve_or_wait(r, g, kSendKind, Pool::transfer, d, kRecvKind, ri);
  if (me == kNone) return past(d) ? End::timeout : End::retry;
  SlotHead& rs = r.slot(ri);
  ValueRef& rref = r.tail(ri).ref;  // zeroed by reserve_locked
  const bool to_select = (rs.kind & kSelectFlag) != 0;
  SlotHead& ms = r.slot(me);
  ms.len = v.len;
  ms.state.store(kPulling, std::memory_order_relaxed);
  ValueRef& mref = r.tail(me).ref;
  mref.puller_slot = ri;
  mref.puller_ticket = r.tail(ri).ticket;
  rs.len = v.len;
  rref.src_pid = self_pid();
  rref.src_slot = me;
  rref.src_ticket = r.tail(me).ticket;
  std::optional<OwnOffer> own;
  if (v.len <= r.geo().inline_bytes) {
    std::memcpy(r.slot_data(ri), v.data, v.len);
  } else if (v.spill != 0) {
    rref.spill = v.spill;
  } else {
    rref.addr = reinterpret_cast<std::uint64_t>(v.data);
    own.emplace(r.id(), me, rref.src_ticket, v.data, v.len);  // before the offer is visible
    mref.proof = own->proof();
  }
  bool w = false;
  if (!to_select) {
    w = set_state_locked(rs, kLargeOffer);
  } else if (!set_state_if_locked(rs, kWaiting, kOffered, &w)) {
    // The select withdrew its slot without the lock (settle, select.cpp): nothing offered.
    g.release();
    release_slot(r, me);
    return End::retry;
  }
  g.release();
  if (w) wake(rs);
  // Our slot is never queued: the wait is for the partner's outcome.
  return wait_sender(r, me, lock_by, v.data, v.len, peer);
}

End propose_to_select(Region& r, Guard& g, std::uint32_t si, Deadline d, Deadline lock_by,
                      Sink sink, pid_t* peer) {
  const std::uint32_t me = reserve_or_wait(r, g, kRecvKind, Pool::transfer, d, kSendKind, si);
  if (me == kNone) return past(d) ? End::timeout : End::retry;
  SlotHead& ss = r.slot(si);
  SlotHead& ms = r.slot(me);
  ValueRef& mref = r.tail(me).ref;
  mref.src_slot = si;
  mref.src_ticket = r.tail(si).ticket;
  ms.state.store(kProposed, std::memory_order_relaxed);
  ValueRef& sref = r.tail(si).ref;
  sref.puller_slot = me;
  sref.puller_ticket = r.tail(me).ticket;
  bool w = false;
  if (!set_state_if_locked(ss, kWaiting, kOffered, &w)) {
    // The select withdrew its slot without the lock (settle, select.cpp): nothing proposed.
    g.release();
    release_slot(r, me);
    return End::retry;
  }
  g.release();
  if (w) wake(ss);
  // Never queued: the wait is for the select's answer (and a pull).
  return wait_receiver(r, me, lock_by, sink, peer);
}

End pull_from_sender(Region& r, Guard& g, std::uint32_t si, const ValueRef& ref, std::size_t len,
                     Deadline d, Deadline lock_by, Sink sink) {
  // Our own slot proves to the sender that we live.
  const std::uint32_t me = reserve_or_wait(r, g, kRecvKind, Pool::transfer, d, kSendKind, si);
  if (me == kNone) return past(d) ? End::timeout : End::retry;
  ValueRef& sref = r.tail(si).ref;
  sref.puller_slot = me;
  sref.puller_ticket = r.tail(me).ticket;
  move_state(r.slot(si).state, kPulling);
  g.release();
  PullEnd pe;
  try {
    pe = pull_large(r, ref, len, sink, with_grace(lock_by));  // a poll: by the select's deadline
  } catch (...) {
    release_slot(r, me);  // the sender sees its puller gone and recovers
    throw;
  }
  release_slot(r, me);
  switch (pe) {
    case PullEnd::ok: return End::ok;
    case PullEnd::gave_up: return End::timeout;
    case PullEnd::sender_died: return End::peer_died;
  }
  return End::peer_died;
}

}  // namespace ceramic::detail
