#include "transfer.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>

#include "ceramic/detail/futex.hpp"
#include "identity.hpp"
#include "large_value.hpp"
#include "slots.hpp"
#include "wait.hpp"

namespace ceramic::detail {

const char* len_problem(std::uint64_t len, const Geometry& g, bool may_be_large) noexcept {
  if (g.elem_size != 0 && len != g.elem_size) return "value length does not match the type";
  if (len > g.max_value) return "value length above the channel's max_value_bytes";
  if (!may_be_large && len > g.inline_bytes) return "inline value longer than its slot";
  return nullptr;
}

std::uint64_t checked_len(std::uint64_t len, const Geometry& g, bool may_be_large) {
  if (const char* what = len_problem(len, g, may_be_large)) corrupt(what);
  return len;
}

void* prepare(Sink sink, std::size_t len) {
  void* p;
  try {
    p = sink.prepare(sink.ctx, len);
  } catch (const std::bad_alloc&) {
    throw ChannelError("ceramic: no memory to receive a " + std::to_string(len) + "-byte value");
  } catch (const std::length_error&) {
    throw ChannelError("ceramic: cannot receive a " + std::to_string(len) + "-byte value");
  }
  if (p == nullptr && len != 0) corrupt("value of unexpected length");
  return p;
}

// ---- parked values (buffered std::string channels) ----------------------------------------

std::uint64_t parked_offset(Region& r, std::uint64_t ref, std::size_t len) {
  if (r.value_fd() < 0) corrupt("parked value in a channel without a value file");
  std::uint64_t off = ref - 1;
  if (ref == 0 || off > kMaxParkOffset || len > kMaxValueBytes) {
    corrupt("parked value reference out of range");
  }
  return r.geo().total + off;
}

std::uint64_t park(Region& r, const void* data, std::size_t len, std::uint32_t owner) {
  if (r.value_fd() < 0) corrupt("long value in a channel without a value file");
  std::uint64_t off;
  {
    Guard g(r);
    off = r.hdr().r.heap_top;
    if (off > kMaxParkOffset) corrupt("value file position out of range");
    r.hdr().r.heap_top = off + (len + kParkAlign - 1) / kParkAlign * kParkAlign;
    // Recorded before the bytes are written: if we die while writing them, whoever reclaims
    // our slot frees the space (reclaim_locked).
    if (owner != kNone) r.tail(owner).ref.spill = off + 1;
  }
  park_write(r.value_fd(), r.geo().total + off, data, len);
  return off + 1;
}

bool unpark_into(Region& r, std::uint64_t ref, std::size_t len, void* dst) {
  std::uint64_t at = parked_offset(r, ref, len);
  bool ok = park_read(r.value_fd(), at, len, dst);
  park_release(r.value_fd(), at, len);
  return ok;
}

void unpark(Region& r, std::uint64_t ref, std::size_t len, Sink sink) {
  if (!unpark_into(r, ref, len, prepare(sink, len))) corrupt("parked value missing");
}

void hold_parked_locked(Region& r, std::uint32_t holder, std::uint64_t ref,
                        std::size_t len) noexcept {
  r.slot(holder).len = len;
  r.tail(holder).ref.spill = ref;
}

void unpark_held(Region& r, std::uint32_t holder, std::uint64_t ref, std::size_t len, Sink sink) {
  try {
    unpark(r, ref, len, sink);
  } catch (...) {
    drop_parked(r, ref, len);  // e.g. no memory for it: the value is lost, not its space
    release_slot(r, holder);
    throw;
  }
  release_slot(r, holder);
}

void drop_parked(Region& r, std::uint64_t ref, std::size_t len) noexcept {
  if (ref == 0 || r.value_fd() < 0) return;
  try {
    park_release(r.value_fd(), parked_offset(r, ref, len), len);
  } catch (const ChannelError&) {
    // a corrupt reference: nothing of ours to release
  }
}

// ---- large values: the receiver's side ----------------------------------------------------

namespace {

// After the value was copied: completes the sender (kDone) if its offer is still in place (its
// slot holds the ticket, in kPulling or kSpillReady) and its owner is alive; false if not, and
// the copy must be discarded. The owner's identity carries its start time (identity.hpp), so
// an owner alive after the copy was alive during all of it: the pid we read from named the
// sender's process, never a process that took its pid after it died.
// Lock not had by give_up: false too (we then vanish; the sender, seeing our slot freed,
// withdraws its offer).
bool complete_sender(Region& r, std::uint32_t src, std::uint32_t src_ticket, Deadline give_up) {
  Guard g(r, give_up);
  if (!g.held()) return false;
  SlotHead& s = r.slot(src);
  std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
  if (r.tail(src).ticket != src_ticket || (st != kPulling && st != kSpillReady) ||
      !owner_alive_now(s.owner)) {
    return false;
  }
  // A CAS: a timed sender may withdraw its offer at the same moment, without the lock.
  bool w = false;
  if (!set_state_if_locked(s, st, kDone, &w)) return false;
  g.release();
  if (w) wake(s);
  return true;
}

// Frees a dead sender's slot; left to the next who meets it if the lock is not had by give_up.
void forget_sender(Region& r, std::uint32_t src, Deadline give_up = kNoDeadline) {
  Guard g(r, give_up);
  if (g.held() && !owner_alive(r.slot(src).owner)) reclaim_locked(r, src);
}

PullEnd finish_pull(Region& r, std::uint32_t src, std::uint32_t src_ticket, Deadline give_up) {
  if (complete_sender(r, src, src_ticket, give_up)) return PullEnd::ok;
  if (give_up != kNoDeadline && now_ns() >= give_up) return PullEnd::gave_up;
  forget_sender(r, src, give_up);
  return PullEnd::sender_died;
}

// Asks the sender (its slot in kPulling) to park its value in the value file, and reads it
// from there: the path when we may not read the sender's memory, or find no record there
// that it offers what its slot says.
PullEnd pull_parked(Region& r, std::uint32_t src, std::uint32_t src_ticket, std::size_t len,
                    void* dst, const Partner& sender, Deadline give_up) {
  SlotHead& s = r.slot(src);
  {
    Guard g(r, give_up);
    if (!g.held()) return PullEnd::gave_up;
    // Its slot may have been reclaimed and reused meanwhile (the sender died).
    if (r.tail(src).ticket != src_ticket ||
        (s.state.load(std::memory_order_acquire) & kStateMask) != kPulling) {
      g.release();
      forget_sender(r, src);
      return PullEnd::sender_died;
    }
    bool w = false;
    if (!set_state_if_locked(s, kPulling, kSpillReq, &w)) {  // withdrawn meanwhile (a CAS)
      g.release();
      forget_sender(r, src);
      return PullEnd::sender_died;
    }
    if (w) wake(s);
  }
  // A timed receiver waits for the sender to park until its deadline plus the grace: a sender
  // that is stopped then finds our slot freed when it resumes, and drops what it parked.
  switch (wait_state(s.state, kSpillReq, give_up, &sender)) {
    case WaitEnd::changed: break;
    case WaitEnd::deadline: return PullEnd::gave_up;
    case WaitEnd::partner_died:
      forget_sender(r, src, give_up);
      return PullEnd::sender_died;
  }
  // The sender recorded in its slot where it parked the value (park). Read it under the lock
  // while the slot is still this offer's: once the sender dies, its slot may be reclaimed and
  // reused, and the place recorded then is another value's, which we must not punch out.
  // The place read here is ours for good: the value file never hands out a place twice.
  std::uint64_t at;
  {
    Guard g(r, give_up);
    if (!g.held()) return PullEnd::gave_up;
    if (r.tail(src).ticket != src_ticket ||
        (s.state.load(std::memory_order_acquire) & kStateMask) != kSpillReady) {
      g.release();
      forget_sender(r, src);
      return PullEnd::sender_died;
    }
    at = r.tail(src).ref.spill;
  }
  if (!unpark_into(r, at, len, dst)) {
    if (!sender.alive()) {
      forget_sender(r, src);
      return PullEnd::sender_died;
    }
    corrupt("parked value missing");
  }
  return finish_pull(r, src, src_ticket, give_up);
}

// A select offers its long value first and registers it after (select.cpp answers, then calls
// wait_sender): give it a moment to do so before asking for the value to be parked.
template <class F>
auto within_a_moment(F&& registered) {
  for (int i = 0; i < 3; ++i) {
    if (auto v = registered()) return v;
    sched_yield();
  }
  return registered();
}

PullEnd pull_into(Region& r, const ValueRef& ref, std::size_t len, void* dst, Deadline give_up) {
  const std::uint32_t src = ref.src_slot;
  Partner sender{&r.slot(src).owner, &r.tail(src).ticket, ref.src_ticket};
  // Where the sender keeps its record of the offer (ValueRef::proof), once it has one.
  auto proof = [&] { return __atomic_load_n(&r.tail(src).ref.proof, __ATOMIC_ACQUIRE); };
  if (!spill_forced()) {
    if (ref.src_pid == self_pid()) {
      // A sender in our own process: copy only from where it registered its value, never
      // from ref.addr. Not registered: a select that is slow to register, or a forged offer;
      // either way the sender is asked to park it.
      if (within_a_moment([&] { return copy_own_offer(r.id(), src, ref.src_ticket, len, dst); })) {
        return finish_pull(r, src, ref.src_ticket, give_up);
      }
    } else if (const std::uint64_t record = within_a_moment(proof); record != 0) {
      // Another process: the value, and its sender's record that it offers it.
      PullResult res =
          read_offer(ref.src_pid, record, r.id(), src, ref.src_ticket, ref.addr, len, dst);
      if (res == PullResult::ok) return finish_pull(r, src, ref.src_ticket, give_up);
      if (res != PullResult::no_permission && !sender.alive()) {
        forget_sender(r, src);
        return PullEnd::sender_died;
      }
      // We may not read its memory (ptrace rules), or what we read is not its offer (a forged
      // one): ask for the value to be parked.
    }
  }
  return pull_parked(r, src, ref.src_ticket, len, dst, sender, give_up);
}

}  // namespace

PullEnd pull_large(Region& r, const ValueRef& ref, std::size_t len, Sink sink, Deadline give_up) {
  if (ref.src_slot >= r.geo().slot_count) corrupt("sender slot out of range");
  void* dst = prepare(sink, len);
  PullEnd e;
  try {
    e = pull_into(r, ref, len, dst, give_up);
  } catch (...) {
    sink.prepare(sink.ctx, 0);
    throw;
  }
  // Nothing was received: leave none of the bytes read (they may be another process's).
  if (e != PullEnd::ok) sink.prepare(sink.ctx, 0);
  return e;
}


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
        // The receiver (or the select we proposed to) died before taking our value.
        Guard g(r);
        std::uint32_t now = s.state.load(std::memory_order_acquire) & kStateMask;
        if (now != kPulling && now != kSpillReady) continue;
        if (!owner_alive(r.slot(ref.puller_slot).owner)) reclaim_locked(r, ref.puller_slot);
        drop_parked(r, parked, len);
        parked = 0;
        // Not delivered. Do not re-queue from here: a receiver may have queued itself while
        // we were busy, and both queues must never hold waiters at once (I2). The caller
        // starts the operation again, or reports peer_died if it has a deadline.
        g.release();
        release_slot(r, me);
        return End::peer_died;
      }
      case kSpillReq:
        // The receiver may not read our memory: park the value for it. Its place is recorded
        // in our slot before it is written, so a death while writing leaks nothing.
        parked = park(r, data, len, me);
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
        if (wait_state(ms.state, kProposed, kNoDeadline, &select) != WaitEnd::partner_died) {
          continue;
        }
        Guard g(r);
        if ((ms.state.load(std::memory_order_acquire) & kStateMask) != kProposed) continue;
        if (!owner_alive(r.slot(src_slot).owner)) reclaim_locked(r, src_slot);
        g.release();
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

}  // namespace ceramic::detail
