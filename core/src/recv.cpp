// ceramic — Channel::recv: Go's chanrecv, between processes (the protocol: channel.cpp and
// layout.hpp). Under the channel lock a receive tries, in order: take the buffer's head (and
// move a queued sender's value into the room it leaves), take a queued sender's value, report
// the channel closed, queue itself (on the express line if it is alone: express.hpp) and wait.
// First, without the lock, a receiver that finds nothing going on parks on the express line.

#include <cstring>
#include <utility>

#include "ceramic/detail/channel.hpp"
#include "express.hpp"
#include "hooks_internal.hpp"
#include "identity.hpp"
#include "layout.hpp"
#include "operation.hpp"
#include "region.hpp"
#include "slots.hpp"
#include "values.hpp"
#include "waiters.hpp"

namespace ceramic::detail {
namespace {

struct RecvOp {
  Region& r;
  Sink sink;
  Deadline d;        // the operation's deadline (0: a select's poll)
  Deadline lock_by;  // how long the lock and a partner may hold us (a poll: the select's deadline)
  bool traced;
  pid_t peer = 0;
};

// A queued sender whose slot a peer scribbled on (a length out of range, a long value without
// a source) is sent back (kDeclined, as a select declines a proposal): it retries with its
// own copy of the value and length, and the channel goes on. Returns whether to wake.
bool turn_away_locked(SlotHead& s) noexcept { return set_state_locked(s, kDeclined); }

// After the buffer's head was taken: moves the longest-waiting plain sender's value into the
// ring (at its tail, position head + count) and returns its slot, or kNone. Selects met on
// the way are told there is room (kNudged): they must choose for themselves.
std::uint32_t refill_locked(RecvOp& op, std::uint32_t head, std::uint32_t& count) {
  Region& r = op.r;
  const Geometry& geo = r.geo();
  for (std::uint32_t si; (si = dequeue_locked(r, kSendKind)) != kNone;) {
    SlotHead& ss = r.slot(si);
    if (ss.kind & kSelectFlag) {
      bool w = false;  // a CAS: the select may have withdrawn it without the lock
      if (set_state_if_locked(ss, kWaiting, kNudged, &w) && w) wake(ss);
      continue;
    }
    const std::uint64_t slen = ss.len;
    const std::uint64_t sspill = slen > geo.inline_bytes ? r.tail(si).ref.spill : 0;
    if (len_problem(slen, geo, true) != nullptr || (slen > geo.inline_bytes && sspill == 0)) {
      if (turn_away_locked(ss)) wake(ss);  // scribbled on: it retries from its own copy
      continue;
    }
    const std::uint32_t idx = (head + count) % geo.capacity;
    RingEntry& ne = r.entry(idx);
    ne.len = slen;
    ne.spill = sspill;
    if (ne.spill == 0) std::memcpy(r.entry_data(idx), r.slot_data(si), slen);
    ++count;
    if (op.traced) {
      op.peer = r.tail(si).pid;
      r.tail(si).ref.peer_pid = self_pid();
    }
    return si;
  }
  return kNone;
}

// 1. A buffered value: take the head, then move a queued sender's value into the ring.
Step from_buffer(RecvOp& op, Guard& g) {
  Region& r = op.r;
  const Geometry& geo = r.geo();
  if (geo.capacity == 0) return {Step::not_here};
  const std::uint64_t rs = r.hdr().r.ring_state;
  auto head = static_cast<std::uint32_t>(rs);
  auto count = static_cast<std::uint32_t>(rs >> 32);
  if (count == 0) return {Step::not_here};
  if (head >= geo.capacity || count > geo.capacity) corrupt("ring position out of range");
  RingEntry& e = r.entry(head);
  const std::uint64_t spill = e.spill;
  const std::uint64_t len = e.len;
  if (const char* bad = len_problem(len, geo, spill != 0)) {
    // A peer scribbled on the entry: drop it, so that the values behind it still flow.
    // (Its parked bytes, if it had any, stay in the value file until the channel goes.)
    r.hdr().r.ring_state =
        (static_cast<std::uint64_t>(count - 1) << 32) | ((head + 1) % geo.capacity);
    corrupt(bad);
  }
  std::uint32_t holder = kNone;  // a parked value is held by a transfer slot of ours (below)
  if (spill == 0) {
    std::memcpy(prepare(op.sink, len), r.entry_data(head), len);
  } else if ((holder = reserve_or_wait(r, g, kRecvKind, Pool::transfer, op.d)) == kNone) {
    return past(op.d) ? Step::finished(Status::timeout) : Step{Step::again};
  }
  head = (head + 1) % geo.capacity;
  --count;
  const std::uint32_t moved = refill_locked(op, head, count);
  const std::uint64_t new_state = (static_cast<std::uint64_t>(count) << 32) | head;
  RingLine& rl = r.hdr().r;
  bool w = false;
  if (moved == kNone) {
    rl.ring_state = new_state;
  } else {
    // The move is logged first, so that a repair after our death finishes it (layout.hpp).
    rl.move_ticket = r.tail(moved).ticket;
    rl.move_ring_state = new_state;
    __atomic_store_n(&rl.move_slot, moved + 1, __ATOMIC_RELEASE);  // commit the log
    __atomic_store_n(&rl.ring_state, new_state, __ATOMIC_RELEASE);
    w = set_state_locked(r.slot(moved), kDone);
    __atomic_store_n(&rl.move_slot, 0u, __ATOMIC_RELEASE);
  }
  if (holder != kNone) hold_parked_locked(r, holder, spill, len);  // ours from here on
  changed_locked(r);  // room for a sender, unless a queued one took it
  g.release();
  if (w) wake(r.slot(moved));
  if (holder != kNone) unpark_held(r, holder, spill, len, op.sink);
  return Step::finished(Status::ok);
}

// 2. A sender is waiting: take its value (inline or parked: here; in its memory: pulled;
// a select's: proposed to).
Step from_sender(RecvOp& op, Guard& g) {
  Region& r = op.r;
  const Geometry& geo = r.geo();
  const std::uint32_t si = dequeue_locked(r, kSendKind);
  if (si == kNone) return {Step::not_here};
  SlotHead& ss = r.slot(si);
  if (op.traced) op.peer = r.tail(si).pid;
  pid_t* peer = op.traced ? &op.peer : nullptr;
  if (ss.kind & kSelectFlag) {
    return after_wait(op.d, propose_to_select(r, g, si, op.d, op.lock_by, op.sink, peer));
  }
  const std::uint64_t len = ss.len;
  const bool long_value = len > geo.inline_bytes;
  const ValueRef ref = long_value ? r.tail(si).ref : ValueRef{};
  const char* bad = len_problem(len, geo, true);
  if (bad == nullptr && long_value && ref.addr == 0 && ref.spill == 0) {
    bad = "long value without a source";
  }
  if (bad != nullptr) {
    bool w = turn_away_locked(ss);  // scribbled on: it retries from its own copy
    g.release();
    if (w) wake(ss);
    corrupt(bad);
  }
  if (ref.addr != 0) {
    return after_wait(op.d, pull_from_sender(r, g, si, ref, len, op.d, op.lock_by, op.sink));
  }
  std::uint32_t holder = kNone;  // a parked value is held by a transfer slot of ours (below)
  if (long_value) {
    holder = reserve_or_wait(r, g, kRecvKind, Pool::transfer, op.d, kSendKind, si);
    if (holder == kNone) return past(op.d) ? Step::finished(Status::timeout) : Step{Step::again};
  } else {
    void* dst;
    try {
      dst = prepare(op.sink, len);
    } catch (...) {
      set_bit(r, kSendKind, si);  // no room for its value here: the sender stays queued
      throw;
    }
    std::memcpy(dst, r.slot_data(si), len);
  }
  if (op.traced) r.tail(si).ref.peer_pid = self_pid();
  bool w = set_state_locked(ss, kDone);
  if (holder != kNone) hold_parked_locked(r, holder, ref.spill, len);  // ours from here on
  g.release();
  if (w) wake(ss);
  if (holder != kNone) unpark_held(r, holder, ref.spill, len, op.sink);
  return Step::finished(Status::ok);
}

// 4. Queue in the receive queue, then wait for a sender (wait_receiver).
Step queue_and_wait(RecvOp& op, Guard& g, bool& blocked, std::uint64_t ch, Site site) {
  Region& r = op.r;
  if (past(op.d)) return Step::finished(Status::timeout);
  pid_t* peer = op.traced ? &op.peer : nullptr;
  if (park_express_locked(r)) {  // alone, on the express line: a sender needs no lock
    g.release();
    if (op.traced && !blocked) emit_block(hooks::Op::recv, ch, site, op.d);
    blocked = true;
    return after_wait(op.d, wait_express(r, op.d, op.sink, peer));
  }
  const std::uint32_t me = reserve_or_wait(r, g, kRecvKind, Pool::queue, op.d);
  if (me == kNone) return {Step::again};  // the deadline is checked before queueing again
  r.slot(me).state.store(kWaiting, std::memory_order_relaxed);
  set_bit(r, kRecvKind, me);
  g.release();
  if (op.traced && !blocked) emit_block(hooks::Op::recv, ch, site, op.d);
  blocked = true;
  return after_wait(op.d, wait_receiver(r, me, op.d, op.sink, peer));
}

}  // namespace

Status Channel::recv(Sink sink, Deadline d, Site site, PollLock pl) {
  Region& r = *region_;
  bool held = pl.held;
  RecvOp op{r, sink, d, d == 0 ? pl.by : d, observed()};
  bool blocked = false;
  auto finish = [&](Status st) {
    if (op.traced) emit_outcome(st, hooks::Op::recv, id(), site, op.peer, blocked, d);
    return st;
  };
  // Nothing going on and no one on the express line: wait there without taking the lock.
  if (!held && try_park_express(r, d)) {
    if (op.traced) emit_block(hooks::Op::recv, id(), site, d);
    blocked = true;
    const Step s = after_wait(d, wait_express(r, d, sink, op.traced ? &op.peer : nullptr));
    if (s.kind == Step::done) return finish(s.st);
  }
  for (;;) {
    Guard g(r, op.lock_by, std::exchange(held, false));
    if (!g.held()) return finish(Status::timeout);
    Step s = from_buffer(op, g);
    if (s.kind == Step::not_here) s = from_sender(op, g);
    if (s.kind == Step::not_here && closed_locked(r)) s = Step::finished(Status::closed);  // 3.
    if (s.kind == Step::not_here) s = queue_and_wait(op, g, blocked, id(), site);
    if (s.kind == Step::done) {
      g.release();  // observers are called outside the lock
      return finish(s.st);
    }
  }
}

}  // namespace ceramic::detail
