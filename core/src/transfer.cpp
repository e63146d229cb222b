#include "transfer.hpp"

#include <atomic>
#include <cstring>

#include "large_value.hpp"
#include "slots.hpp"
#include "wait.hpp"

namespace ceramic::detail {

std::uint64_t checked_len(std::uint64_t len, const Geometry& g, bool may_be_large) {
  if (g.elem_size != 0 && len != g.elem_size) corrupt("value length does not match the type");
  if (len > kMaxValueBytes) corrupt("value length out of range");
  if (!may_be_large && len > g.inline_bytes) corrupt("inline value longer than its slot");
  return len;
}

void* prepare(Sink sink, std::size_t len) {
  void* p = sink.prepare(sink.ctx, len);
  if (p == nullptr && len != 0) corrupt("value of unexpected length");
  return p;
}

std::uint64_t next_spill_id() noexcept {
  static std::atomic<std::uint32_t> counter{0};
  return (static_cast<std::uint64_t>(self_pid()) << 32) |
         counter.fetch_add(1, std::memory_order_relaxed);
}

// ---- parked values (buffered std::string channels) ----------------------------------------

std::uint64_t parked_offset(Region& r, std::uint64_t ref, std::size_t len) {
  if (r.value_fd() < 0) corrupt("parked value in a channel without a value file");
  std::uint64_t off = ref - 1;
  if (ref == 0 || off > (std::uint64_t{1} << 60) || len > kMaxValueBytes) {
    corrupt("parked value reference out of range");
  }
  return r.geo().total + off;
}

std::uint64_t park(Region& r, const void* data, std::size_t len) {
  std::uint64_t off;
  {
    Guard g(r);
    off = r.hdr().r.heap_top;
    r.hdr().r.heap_top = off + (len + kParkAlign - 1) / kParkAlign * kParkAlign;
  }
  park_write(r.value_fd(), r.geo().total + off, data, len);
  return off + 1;
}

void unpark(Region& r, std::uint64_t ref, std::size_t len, Sink sink) {
  std::uint64_t at = parked_offset(r, ref, len);
  bool ok = park_read(r.value_fd(), at, len, prepare(sink, len));
  park_release(r.value_fd(), at, len);
  if (!ok) corrupt("parked value missing");
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

// Marks the sender's slot kDone if it is still the slot we pulled from.
void complete_sender(Region& r, std::uint32_t src, std::uint32_t src_ticket) {
  Guard g(r);
  SlotHead& s = r.slot(src);
  std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
  if (r.tail(src).ticket != src_ticket || (st != kPulling && st != kSpillReady)) return;
  bool w = set_state_locked(s, kDone);
  g.release();
  if (w) wake(s);
}

void forget_sender(Region& r, std::uint32_t src) {
  Guard g(r);
  if (!owner_alive(r.slot(src).owner)) reclaim_locked(r, src);
}

}  // namespace

PullEnd pull_large(Region& r, const ValueRef& ref, std::size_t len, Sink sink) {
  const std::uint32_t src = ref.src_slot;
  if (src >= r.geo().slot_count) corrupt("sender slot out of range");
  SlotHead& s = r.slot(src);
  Partner sender{&s.owner, &r.tail(src).ticket, ref.src_ticket};
  void* dst = prepare(sink, len);
  PullResult res = pull_value(ref.src_pid, ref.addr, len, dst);
  if (res == PullResult::ok) {
    complete_sender(r, src, ref.src_ticket);
    return PullEnd::ok;
  }
  if (!sender.alive()) {
    forget_sender(r, src);
    return PullEnd::sender_died;
  }
  // We may not read the sender's memory (ptrace restrictions): ask it to spill the value, if
  // its slot is still the one we pulled from (it may have died and been reused meanwhile).
  {
    Guard g(r);
    if (r.tail(src).ticket != ref.src_ticket ||
        (s.state.load(std::memory_order_acquire) & kStateMask) != kPulling) {
      g.release();
      forget_sender(r, src);
      return PullEnd::sender_died;
    }
    if (set_state_locked(s, kSpillReq)) wake(s);
  }
  if (wait_state(s.state, kSpillReq, kNoDeadline, &sender) != WaitEnd::changed ||
      (s.state.load(std::memory_order_acquire) & kStateMask) != kSpillReady) {
    forget_sender(r, src);
    return PullEnd::sender_died;
  }
  std::uint64_t spill = r.tail(src).ref.spill;
  if (!spill_read(spill_name(r.id(), spill), len, dst)) {
    if (!sender.alive()) {
      forget_sender(r, src);
      return PullEnd::sender_died;
    }
    corrupt("spilled value missing");
  }
  complete_sender(r, src, ref.src_ticket);
  return PullEnd::ok;
}


bool answer_locked(Region& r, std::uint32_t p, std::uint32_t ticket, std::uint32_t st) {
  if (p >= r.geo().slot_count) corrupt("proposer slot out of range");
  SlotHead& s = r.slot(p);
  std::uint32_t cur = s.state.load(std::memory_order_acquire) & kStateMask;
  if (r.tail(p).ticket != ticket || (cur != kPulling && cur != kProposed) || !owner_alive(s.owner)) {
    return false;
  }
  if (set_state_locked(s, st)) wake(s);
  return true;
}

namespace {

// Runs a wait on slot `me`; if it throws (no memory for the value, no room for a spill), frees
// the slot first: a partner watching it then sees us gone and recovers, as if we had died.
template <class F>
End releasing_on_throw(Region& r, std::uint32_t me, F&& f) {
  try {
    return f();
  } catch (...) {
    if (owned_by_me(r.slot(me).owner)) release_slot(r, me);
    throw;
  }
}

End wait_sender_impl(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                     pid_t* peer);

// Waits while slot `me` sits in queue k. At the deadline, withdraws it if it is still queued
// and releases it: true. False when a partner (or close) changed its state first.
bool wait_queued(Region& r, std::uint32_t me, SlotKind k, Deadline d) {
  SlotHead& s = r.slot(me);
  if (wait_state(s.state, kWaiting, d) != WaitEnd::deadline) return false;
  Guard g(r);
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
  std::uint64_t fallback_spill = 0;
  auto cleanup = [&] {
    if (fallback_spill != 0) spill_discard(spill_name(r.id(), fallback_spill));
  };
  for (;;) {
    std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
    switch (st) {
      case kWaiting:
        if (wait_queued(r, me, kSendKind, d)) return End::timeout;
        continue;
      case kDone:
        if (peer != nullptr && r.tail(me).ref.peer_pid != 0) *peer = r.tail(me).ref.peer_pid;
        release_slot(r, me);
        cleanup();
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
        if (wait_state(s.state, st, kNoDeadline, &puller, copy_ns) != WaitEnd::partner_died) {
          continue;
        }
        // The receiver (or the select we proposed to) died before taking our value.
        Guard g(r);
        std::uint32_t now = s.state.load(std::memory_order_acquire) & kStateMask;
        if (now != kPulling && now != kSpillReady) continue;
        if (!owner_alive(r.slot(ref.puller_slot).owner)) reclaim_locked(r, ref.puller_slot);
        cleanup();
        fallback_spill = 0;
        // Not delivered. Do not re-queue from here: a receiver may have queued itself while
        // we were busy, and both queues must never hold waiters at once (I2). The caller
        // starts the operation again, or reports peer_died if it has a deadline.
        g.release();
        release_slot(r, me);
        return End::peer_died;
      }
      case kSpillReq: {
        fallback_spill = next_spill_id();
        spill_write(spill_name(r.id(), fallback_spill), data, len);
        r.tail(me).ref.spill = fallback_spill;
        publish_state(s.state, kSpillReady);  // pairs with the puller's acquire of the state
        continue;
      }
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
          const ValueRef ref = r.tail(me).ref;
          if (peer != nullptr) *peer = ref.src_pid;
          release_slot(r, me);
          unpark(r, ref.spill, len, sink);
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
        if (pull_large(r, ref, len, sink) == PullEnd::ok) {
          release_slot(r, me);
          return End::ok;
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
