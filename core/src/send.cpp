// ceramic — Channel::send: Go's chansend, between processes (the protocol: channel.cpp and
// layout.hpp). First, without the lock: complete a receiver waiting on the express line
// (express.hpp). Then, under the channel lock, in order: hand the value to a waiting receiver,
// put it in the buffer, queue itself and wait.

#include <cstring>
#include <optional>
#include <utility>

#include "ceramic/detail/channel.hpp"
#include "express.hpp"
#include "hooks_internal.hpp"
#include "identity.hpp"
#include "layout.hpp"
#include "offers.hpp"
#include "operation.hpp"
#include "region.hpp"
#include "slots.hpp"
#include "value_file.hpp"
#include "values.hpp"
#include "waiters.hpp"

namespace ceramic::detail {
namespace {

struct SendOp {
  Region& r;
  OutValue v;
  Deadline d;        // the operation's deadline (0: a select's poll)
  Deadline lock_by;  // how long the lock and a partner may hold us (a poll: the select's deadline)
  bool traced;
  pid_t peer = 0;

  bool large() const noexcept { return v.len > r.geo().inline_bytes; }
};

// 1. A receiver is waiting: hand it the value. A small value, or a parked one, to a plain
// receiver completes in one step: it touches only the lock line and the receiver's first slot
// line (the slot's tail, another line, only for long values and tracing).
Step to_receiver(SendOp& op, Guard& g) {
  Region& r = op.r;
  if (express_channel(r.geo())) {  // the receiver on the express line waited first
    tidy_express_locked(r);
    if (express_send_locked(r, op.v.data, op.v.len, op.d, op.traced ? &op.peer : nullptr)) {
      return Step::finished(Status::ok);
    }
  }
  const std::uint32_t ri = dequeue_locked(r, kRecvKind);
  if (ri == kNone) return {Step::not_here};
  SlotHead& rs = r.slot(ri);
  if (op.traced) op.peer = r.tail(ri).pid;
  if ((rs.kind & kSelectFlag) != 0 || (op.large() && op.v.spill == 0)) {
    // A select must choose; a long unbuffered value is pulled by the receiver.
    return after_wait(op.d, offer_to_receiver(r, g, ri, op.v, op.d, op.lock_by,
                                              op.traced ? &op.peer : nullptr));
  }
  rs.len = op.v.len;
  if (op.traced) r.tail(ri).ref.src_pid = self_pid();
  if (op.large()) {
    r.tail(ri).ref.spill = op.v.spill;
  } else {
    std::memcpy(r.slot_data(ri), op.v.data, op.v.len);
  }
  bool w = set_state_locked(rs, kDone);
  g.release();
  if (w) wake(rs);
  return Step::finished(Status::ok);
}

// 2. Room in the buffer.
Step to_buffer(SendOp& op, Guard& g) {
  Region& r = op.r;
  const Geometry& geo = r.geo();
  if (geo.capacity == 0) return {Step::not_here};
  const std::uint64_t rs = r.hdr().r.ring_state;
  const auto head = static_cast<std::uint32_t>(rs);
  const auto count = static_cast<std::uint32_t>(rs >> 32);
  if (count >= geo.capacity) return {Step::not_here};
  const std::uint32_t idx = (head + count) % geo.capacity;
  RingEntry& e = r.entry(idx);
  e.len = op.v.len;
  e.spill = op.v.spill;
  if (!op.large()) std::memcpy(r.entry_data(idx), op.v.data, op.v.len);
  r.hdr().r.ring_state = (static_cast<std::uint64_t>(count + 1) << 32) | head;
  changed_locked(r);
  g.release();
  return Step::finished(Status::ok);
}

// 3. Queue in the send queue, then wait for a receiver (wait_sender).
Step queue_and_wait(SendOp& op, Guard& g, bool& blocked, std::uint64_t ch, Site site) {
  Region& r = op.r;
  if (past(op.d)) return Step::finished(Status::timeout);
  const std::uint32_t me = reserve_or_wait(r, g, kSendKind, Pool::queue, op.d);
  if (me == kNone) return {Step::again};  // the deadline is checked before queueing again
  SlotHead& ms = r.slot(me);
  ms.len = op.v.len;
  std::optional<OwnOffer> own;
  if (!op.large()) {
    std::memcpy(r.slot_data(me), op.v.data, op.v.len);
  } else {
    ValueRef& mref = r.tail(me).ref;
    mref.src_pid = self_pid();
    mref.spill = op.v.spill;
    mref.src_slot = me;
    mref.src_ticket = r.tail(me).ticket;
    if (op.v.spill == 0) {
      mref.addr = reinterpret_cast<std::uint64_t>(op.v.data);
      own.emplace(r.id(), me, mref.src_ticket, op.v.data, op.v.len);  // before it is queued
      mref.proof = own->proof();
    }
  }
  ms.state.store(kWaiting, std::memory_order_relaxed);
  set_bit(r, kSendKind, me);
  g.release();
  if (op.traced && !blocked) emit_block(hooks::Op::send, ch, site, op.d);
  blocked = true;
  return after_wait(op.d, wait_sender(r, me, op.d, op.v.data, op.v.len,
                                      op.traced ? &op.peer : nullptr));
}

}  // namespace

// len was checked against the channel's type by the caller (send_for, select): check_value.
Status Channel::send(const void* data, std::size_t len, Deadline d, Site site, PollLock pl) {
  Region& r = *region_;
  bool held = pl.held;
  SendOp op{r, {data, len, 0}, d, d == 0 ? pl.by : d, observed()};
  // Buffered channels park long values in their value file before queueing them. park takes
  // the lock: a caller's lock is dropped first (the operation then starts afresh).
  if (op.large() && r.geo().capacity > 0) {
    if (std::exchange(held, false)) unlock(r);
    op.v.spill = park(r, data, len, kNone, op.lock_by);
  }
  bool blocked = false;
  auto finish = [&](Status st) {
    if (st != Status::ok) drop_parked(r, op.v.spill, len);
    if (op.traced) emit_outcome(st, hooks::Op::send, id(), site, op.peer, blocked, d);
    return st;
  };
  if (op.large() && r.geo().capacity > 0 && op.v.spill == 0) return finish(Status::timeout);
  // The express hand-off, without the lock: a receiver waiting alone on the express line.
  // A receiver about to park there is waited for briefly (not by a caller holding the lock).
  if (express_channel(r.geo())) {
    pid_t* peer = op.traced ? &op.peer : nullptr;
    if (express_send(r, data, len, peer) ||
        (!held && express_await_receiver(r, d) && express_send(r, data, len, peer))) {
      if (held) unlock(r);
      return finish(Status::ok);
    }
  }
  for (;;) {
    Guard g(r, op.lock_by, std::exchange(held, false));
    if (!g.held()) return finish(Status::timeout);
    if (closed_locked(r)) {
      g.release();
      return finish(Status::closed);
    }
    Step s = to_receiver(op, g);
    if (s.kind == Step::not_here) s = to_buffer(op, g);
    if (s.kind == Step::not_here) s = queue_and_wait(op, g, blocked, id(), site);
    if (s.kind == Step::done) {
      g.release();  // observers are called outside the lock
      return finish(s.st);
    }
  }
}

}  // namespace ceramic::detail
