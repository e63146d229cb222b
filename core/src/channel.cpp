// ceramic — the channel protocol: Go's hchan, adapted to shared memory between processes.
//
// Locking contract: the channel lock (LockLine::lock, owner_lock.hpp) protects
// the queues (mask words), the ring, the closed flag, tickets, and every transition of a slot
// that another thread can observe through a queue. Functions named *_locked require it held.
// Wake-ups (futex_wake) happen after the lock is dropped, but the state they announce is stored
// under the lock, so a thread that dies between the two only delays its partner by one wait
// slice (wait_state re-checks the state every kWaitSliceNs).
//
// The direct hand-off (Go's sudog): a waiter reserves a slot, queues it and waits on its state
// word. The partner that finds it copies the value straight into / out of that slot (small
// values) and stores kDone; or, for values longer than a slot, the receiver pulls the bytes
// from the sender's memory while the sender waits (kPulling), so large values cost one copy.
//
// Select (select.cpp, "SELECT" in layout.hpp): a selecting thread reserves one slot per case, in
// each case's channel, flagged as a select slot, and sleeps on all their state words at once
// (futex_waitv). A partner
// that dequeues a select slot cannot complete it on its own, since another case may be
// completing at the same moment in a channel it cannot lock: it proposes instead (kOffered,
// with its value or its request), and the selecting thread accepts exactly one proposal and
// declines the rest, which go back to waiting with their values intact. Plain operations keep
// the one-step hand-off; only meeting a select costs the extra step.
//
// A slot's liveness is its owner word: the identity (pid and start time) of the process that
// holds it, judged by the kernel's process table (identity.hpp), so a dead waiter, a dead lock
// holder and a dead partner of a large transfer are all detected (within 20 us of the death).

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <utility>

#include "ceramic/control.hpp"
#include "ceramic/detail/channel.hpp"
#include "ceramic/detail/futex.hpp"
#include "hooks_internal.hpp"
#include "offers.hpp"
#include "identity.hpp"
#include "layout.hpp"
#include "region.hpp"
#include "slots.hpp"
#include "value_file.hpp"
#include "values.hpp"
#include "waiters.hpp"
#include "wait.hpp"

namespace ceramic::detail {
namespace {

hooks::Record record(hooks::Event e, hooks::Op op, std::uint64_t ch, Site site) {
  hooks::Record rec{};
  rec.event = e;
  rec.op = op;
  rec.channel = ch;
  rec.site = site;
  return rec;
}

// The end of an operation, for the observer. A select's poll (d == 0) that finds nothing is
// not an event; closed and peer_died only end a wait if there was one.
void emit_outcome(Status st, hooks::Op op, std::uint64_t ch, Site site, pid_t peer, bool blocked,
                  Deadline d) {
  if ((st == Status::timeout && d == 0) ||
      (!blocked && (st == Status::closed || st == Status::peer_died))) {
    return;
  }
  hooks::Event e = st == Status::ok        ? hooks::Event::rendezvous
                   : st == Status::timeout ? hooks::Event::timeout
                                           : hooks::Event::unblock;
  auto rec = record(e, op, ch, site);
  rec.peer = peer;
  rec.value = static_cast<std::int64_t>(st);
  emit(rec);
}

// A queued sender whose slot a peer scribbled on (a length out of range, a long value without
// a source) is sent back (kDeclined, as a select declines a proposal): it retries with its
// own copy of the value and length, and the channel goes on. Lock held; returns whether to wake.
bool turn_away_locked(SlotHead& s) noexcept { return set_state_locked(s, kDeclined); }

// After a wait on our own slot: the operation's result, or nothing to go round again (a
// declined proposal; a partner that died mid-transfer, when there is no deadline to report to).
std::optional<Status> after_wait(Deadline d, End e) {
  switch (e) {
    case End::ok: return Status::ok;
    case End::closed: return Status::closed;
    case End::timeout: return Status::timeout;
    case End::peer_died:
      if (d != kNoDeadline) return Status::peer_died;
      return std::nullopt;
    case End::retry: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

// ---- Channel ------------------------------------------------------------------------------

Channel::Channel(std::unique_ptr<Region> region, std::string name, pid_t unlink_in)
    : region_(std::move(region)), name_(std::move(name)), unlink_in_(unlink_in) {}

Channel::~Channel() {
  if (auto* c = controller()) c->handle(control::Handle::released, ref(), Site{});
  if (observed()) emit(record(hooks::Event::channel_released, hooks::Op::none, id(), Site{}));
  if (!name_.empty() && unlink_in_ == getpid()) shm_unlink(shm_name_for(name_).c_str());
}

std::shared_ptr<Channel> Channel::create_anonymous(Shape shape, const ChanOptions& o, Site site) {
  auto ch = std::shared_ptr<Channel>(new Channel(Region::create_anonymous(shape, o, site), "", 0));
  if (auto* c = controller()) c->handle(control::Handle::created, ch->ref(), site);
  if (observed()) {
    auto rec = record(hooks::Event::channel_created, hooks::Op::none, ch->id(), site);
    rec.value = static_cast<std::int64_t>(o.capacity);
    emit(rec);
  }
  return ch;
}

std::shared_ptr<Channel> Channel::create_named(std::string_view name, Shape shape,
                                               const ChanOptions& o, Site site) {
  std::string shm = shm_name_for(name);
  if (auto* c = controller()) c->named(site);
  auto ch = std::shared_ptr<Channel>(
      new Channel(Region::create_named(shm, shape, o, site), std::string(name), getpid()));
  if (auto* c = controller()) c->handle(control::Handle::created, ch->ref(), site);
  if (observed()) {
    auto rec = record(hooks::Event::channel_created, hooks::Op::none, ch->id(), site);
    rec.value = static_cast<std::int64_t>(o.capacity);
    rec.name = ch->name_.c_str();
    emit(rec);
  }
  return ch;
}

std::shared_ptr<Channel> Channel::open_named(std::string_view name, Shape shape,
                                             const OpenOptions& o, Site site) {
  std::string shm = shm_name_for(name);
  if (auto* c = controller()) c->named(site);
  auto ch = std::shared_ptr<Channel>(
      new Channel(Region::open_named(shm, shape, o), std::string(name), 0));
  if (auto* c = controller()) c->handle(control::Handle::opened, ch->ref(), site);
  if (observed()) {
    auto rec = record(hooks::Event::channel_opened, hooks::Op::none, ch->id(), site);
    rec.value = static_cast<std::int64_t>(ch->capacity());
    rec.name = ch->name_.c_str();
    emit(rec);
  }
  return ch;
}

bool Channel::closed() const noexcept {
  if (auto* c = controller()) return c->closed(ref());
  return (__atomic_load_n(&region_->hdr().l.flags, __ATOMIC_ACQUIRE) & kClosedFlag) != 0;
}
std::uint64_t Channel::id() const noexcept { return region_->id(); }
std::size_t Channel::capacity() const noexcept { return region_->geo().capacity; }

void Channel::close(Site site) {
  if (auto* c = controller()) return c->close(ref(), site);
  Region& r = *region_;
  // The close is recorded before anyone can see it. A waiter it releases may end this process
  // before this thread runs again (a released parent that returns ends its children), and a
  // trace without the close would show that waiter blocked forever: a leak that never was.
  // The price, both rare and both on the side of silence: a closer killed between the record
  // and the close leaves a close on record that did not happen, and two closers racing may
  // both record one. (Observers are called outside the channel lock: hooks.hpp.)
  if (observed() && !closed()) emit(record(hooks::Event::close, hooks::Op::close, id(), site));
  Guard g(r);
  if (closed_locked(r)) return;
  __atomic_store_n(&r.hdr().l.flags, r.hdr().l.flags | kClosedFlag, __ATOMIC_RELEASE);
  changed_locked(r);
  // Close is rare: wake everyone while holding the lock, so that no waiter can be missed.
  for (SlotKind k : {kSendKind, kRecvKind}) {
    for (std::uint32_t i; (i = dequeue_locked(r, k)) != kNone;) {
      if (set_state_locked(r.slot(i), kClosed)) wake(r.slot(i));
    }
  }
}

void Channel::check_value(std::size_t len, const char* who) const {
  const Geometry& g = region_->geo();
  if (g.elem_size != 0 && len != g.elem_size) {
    throw std::invalid_argument(std::string(who) + ": value size does not match the channel's type");
  }
  if (len > g.max_value) {
    throw std::invalid_argument(std::string(who) + ": a " + std::to_string(len) +
                                "-byte value is longer than the channel's max_value_bytes (" +
                                std::to_string(g.max_value) + ")");
  }
}

Status Channel::send_for(const void* data, std::size_t len, std::int64_t timeout_ns, Site site) {
  check_value(len, "ceramic");
  if (auto* c = controller()) return c->send(ref(), data, len, timeout_ns, site);
  return send(data, len, timeout_ns < 0 ? kNoDeadline : deadline_after(timeout_ns), site);
}

Status Channel::recv_for(Sink sink, std::int64_t timeout_ns, Site site) {
  if (auto* c = controller()) return c->recv(ref(), sink, timeout_ns, site);
  return recv(sink, timeout_ns < 0 ? kNoDeadline : deadline_after(timeout_ns), site);
}

// len was checked against the channel's type by the caller (send_for, select): check_value.
Status Channel::send(const void* data, std::size_t len, Deadline d, Site site, PollLock pl) {
  bool held = pl.held;
  const Deadline lock_by = d == 0 ? pl.by : d;
  Region& r = *region_;
  const Geometry& geo = r.geo();
  const bool large = len > geo.inline_bytes;
  // Buffered channels park long values in their value file before queueing them. park takes
  // the lock: a caller's lock is dropped first (the operation then starts afresh).
  if (large && geo.capacity > 0 && held) {
    unlock(r);
    held = false;
  }
  const std::uint64_t spill = large && geo.capacity > 0 ? park(r, data, len) : 0;
  const bool traced = observed();
  bool blocked = false;
  pid_t peer = 0;
  auto finish = [&](Status st) {
    if (st != Status::ok) drop_parked(r, spill, len);
    if (traced) emit_outcome(st, hooks::Op::send, id(), site, peer, blocked, d);
    return st;
  };

  for (;;) {
    Guard g(r, lock_by, std::exchange(held, false));
    if (!g.held()) return finish(Status::timeout);
    if (closed_locked(r)) {
      g.release();
      return finish(Status::closed);
    }

    // 1. A receiver is waiting: hand the value to it.
    if (std::uint32_t ri = dequeue_locked(r, kRecvKind); ri != kNone) {
      // Hot path: a small value touches only the lock line and the receiver's first slot line;
      // the slot's tail (another line) is read or written only for long values, selects and
      // tracing.
      SlotHead& rs = r.slot(ri);
      ValueRef& rref = r.tail(ri).ref;  // zeroed by reserve_locked
      if (traced) peer = r.tail(ri).pid;
      const bool to_select = (rs.kind & kSelectFlag) != 0;
      if (!to_select && (!large || spill != 0)) {
        rs.len = len;
        if (traced) rref.src_pid = self_pid();
        if (large) {
          rref.spill = spill;
        } else {
          std::memcpy(r.slot_data(ri), data, len);
        }
        bool w = set_state_locked(rs, kDone);
        g.release();
        if (w) wake(rs);
        return finish(Status::ok);
      }
      // A select (which must choose), or a large unbuffered value (which the receiver pulls):
      // we wait on a slot of our own for the outcome.
      std::uint32_t me = reserve_locked(r, kSendKind, Pool::transfer);
      if (me == kNone) {
        set_bit(r, kRecvKind, ri);  // give the receiver back its place
        wait_for_free_slot(r, g, d);
        if (d != kNoDeadline && now_ns() >= d) return finish(Status::timeout);
        continue;
      }
      SlotHead& ms = r.slot(me);
      ms.len = len;
      ms.state.store(kPulling, std::memory_order_relaxed);
      ValueRef& mref = r.tail(me).ref;
      mref.puller_slot = ri;
      mref.puller_ticket = r.tail(ri).ticket;
      rs.len = len;
      rref.src_pid = self_pid();
      rref.src_slot = me;
      rref.src_ticket = r.tail(me).ticket;
      std::optional<OwnOffer> own;
      if (!large) {
        std::memcpy(r.slot_data(ri), data, len);
      } else if (spill != 0) {
        rref.spill = spill;
      } else {
        rref.addr = reinterpret_cast<std::uint64_t>(data);
        own.emplace(r.id(), me, rref.src_ticket, data, len);  // before the offer is visible
        mref.proof = own->proof();
      }
      bool w = set_state_locked(rs, to_select ? kOffered : kLargeOffer);
      g.release();
      if (w) wake(rs);
      // Our slot is never queued: the wait is for the partner's outcome, which a timed send
      // (or a select's poll, by the select's deadline) awaits until its deadline plus the
      // grace, then withdraws the offer (wait_sender).
      if (auto st = after_wait(d, wait_sender(r, me, lock_by, data, len, traced ? &peer : nullptr))) {
        return finish(*st);
      }
      continue;
    }

    // 2. Room in the buffer.
    if (geo.capacity > 0) {
      std::uint64_t rs = r.hdr().r.ring_state;
      auto head = static_cast<std::uint32_t>(rs);
      auto count = static_cast<std::uint32_t>(rs >> 32);
      if (count < geo.capacity) {
        std::uint32_t idx = (head + count) % geo.capacity;
        RingEntry& e = r.entry(idx);
        e.len = len;
        e.spill = spill;
        if (!large) std::memcpy(r.entry_data(idx), data, len);
        r.hdr().r.ring_state = (static_cast<std::uint64_t>(count + 1) << 32) | head;
        changed_locked(r);
        g.release();
        return finish(Status::ok);
      }
    }

    // 3. Wait in the send queue.
    if (d != kNoDeadline && now_ns() >= d) {
      g.release();
      return finish(Status::timeout);
    }
    std::uint32_t me = reserve_locked(r, kSendKind, Pool::queue);
    if (me == kNone) {
      wait_for_free_slot(r, g, d);
      continue;  // the deadline is checked before queueing again
    }
    SlotHead& ms = r.slot(me);
    ms.len = len;
    std::optional<OwnOffer> own;
    if (!large) {
      std::memcpy(r.slot_data(me), data, len);
    } else {
      ValueRef& mref = r.tail(me).ref;
      mref.src_pid = self_pid();
      mref.spill = spill;
      mref.src_slot = me;
      mref.src_ticket = r.tail(me).ticket;
      if (spill == 0) {
        mref.addr = reinterpret_cast<std::uint64_t>(data);
        own.emplace(r.id(), me, mref.src_ticket, data, len);  // before it is queued
        mref.proof = own->proof();
      }
    }
    ms.state.store(kWaiting, std::memory_order_relaxed);
    set_bit(r, kSendKind, me);
    g.release();
    if (traced && !blocked) {
      auto rec = record(hooks::Event::block, hooks::Op::send, id(), site);
      rec.has_deadline = d != kNoDeadline;
      emit(rec);
    }
    blocked = true;
    if (auto st = after_wait(d, wait_sender(r, me, d, data, len, traced ? &peer : nullptr))) {
        return finish(*st);
      }
  }
}

Status Channel::recv(Sink sink, Deadline d, Site site, PollLock pl) {
  bool held = pl.held;
  const Deadline lock_by = d == 0 ? pl.by : d;
  Region& r = *region_;
  const Geometry& geo = r.geo();
  const bool traced = observed();
  bool blocked = false;
  pid_t peer = 0;
  auto finish = [&](Status st) {
    if (traced) emit_outcome(st, hooks::Op::recv, id(), site, peer, blocked, d);
    return st;
  };

  for (;;) {
    Guard g(r, lock_by, std::exchange(held, false));
    if (!g.held()) return finish(Status::timeout);

    // 1. A buffered value: take the head, then move a queued sender's value into the ring.
    if (geo.capacity > 0) {
      std::uint64_t rs = r.hdr().r.ring_state;
      auto head = static_cast<std::uint32_t>(rs);
      auto count = static_cast<std::uint32_t>(rs >> 32);
      if (count > 0) {
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
        std::uint32_t holder = kNone;
        if (spill == 0) {
          std::memcpy(prepare(sink, len), r.entry_data(head), len);
        } else {
          holder = reserve_locked(r, kRecvKind, Pool::transfer);  // to hold the value (below)
          if (holder == kNone) {  // every transfer slot is in use: wait for one
            wait_for_free_slot(r, g, d);
            if (d != kNoDeadline && now_ns() >= d) return finish(Status::timeout);
            continue;
          }
        }
        head = (head + 1) % geo.capacity;
        --count;
        std::uint32_t moved = kNone;
        for (std::uint32_t si; (si = dequeue_locked(r, kSendKind)) != kNone;) {
          SlotHead& ss = r.slot(si);
          if (ss.kind & kSelectFlag) {
            // A select must choose for itself: tell it there is room now.
            if (set_state_locked(ss, kNudged)) wake(ss);
            continue;
          }
          const std::uint64_t slen = ss.len;
          const std::uint64_t sspill = slen > geo.inline_bytes ? r.tail(si).ref.spill : 0;
          if (len_problem(slen, geo, true) != nullptr || (slen > geo.inline_bytes && sspill == 0)) {
            if (turn_away_locked(ss)) wake(ss);  // scribbled on: it retries from its own copy
            continue;
          }
          std::uint32_t idx = (head + count) % geo.capacity;
          RingEntry& ne = r.entry(idx);
          ne.len = slen;
          ne.spill = sspill;
          if (ne.spill == 0) std::memcpy(r.entry_data(idx), r.slot_data(si), slen);
          ++count;
          if (traced) {
            peer = r.tail(si).pid;
            r.tail(si).ref.peer_pid = self_pid();
          }
          moved = si;
          break;
        }
        const std::uint64_t new_state = (static_cast<std::uint64_t>(count) << 32) | head;
        RingLine& rl = r.hdr().r;
        bool w = false;
        if (moved == kNone) {
          rl.ring_state = new_state;
        } else {
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
        if (holder != kNone) unpark_held(r, holder, spill, len, sink);
        return finish(Status::ok);
      }
    }

    // 2. A sender is waiting: take its value.
    if (std::uint32_t si = dequeue_locked(r, kSendKind); si != kNone) {
      SlotHead& ss = r.slot(si);
      if (traced) peer = r.tail(si).pid;
      if (ss.kind & kSelectFlag) {
        // Propose to the select and wait on a slot of our own for its answer.
        std::uint32_t me = reserve_locked(r, kRecvKind, Pool::transfer);
        if (me == kNone) {
          set_bit(r, kSendKind, si);
          wait_for_free_slot(r, g, d);
          if (d != kNoDeadline && now_ns() >= d) return finish(Status::timeout);
          continue;
        }
        SlotHead& ms = r.slot(me);
        ValueRef& mref = r.tail(me).ref;
        mref.src_slot = si;
        mref.src_ticket = r.tail(si).ticket;
        ms.state.store(kProposed, std::memory_order_relaxed);
        ValueRef& sref = r.tail(si).ref;
        sref.puller_slot = me;
        sref.puller_ticket = r.tail(me).ticket;
        bool w = set_state_locked(ss, kOffered);
        g.release();
        if (w) wake(ss);
        // Never queued: the wait is for the select's answer (and a pull), bounded by our
        // deadline, or for a select's poll by the select's.
        if (auto st = after_wait(d, wait_receiver(r, me, lock_by, sink, traced ? &peer : nullptr))) {
          return finish(*st);
        }
        continue;
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
      if (ref.addr == 0) {  // inline or parked
        std::uint32_t holder = kNone;
        if (long_value) {
          holder = reserve_locked(r, kRecvKind, Pool::transfer);  // to hold the value (below)
          if (holder == kNone) {
            set_bit(r, kSendKind, si);
            wait_for_free_slot(r, g, d);
            if (d != kNoDeadline && now_ns() >= d) return finish(Status::timeout);
            continue;
          }
        } else {
          void* dst;
          try {
            dst = prepare(sink, len);
          } catch (...) {
            set_bit(r, kSendKind, si);  // no room for its value here: the sender stays queued
            throw;
          }
          std::memcpy(dst, r.slot_data(si), len);
        }
        if (traced) r.tail(si).ref.peer_pid = self_pid();
        bool w = set_state_locked(ss, kDone);
        if (holder != kNone) hold_parked_locked(r, holder, ref.spill, len);  // ours from here on
        g.release();
        if (w) wake(ss);
        if (holder != kNone) unpark_held(r, holder, ref.spill, len, sink);
        return finish(Status::ok);
      }
      // Large: pull it from the sender's memory. Our own slot proves to the sender that we live.
      std::uint32_t me = reserve_locked(r, kRecvKind, Pool::transfer);
      if (me == kNone) {
        set_bit(r, kSendKind, si);
        wait_for_free_slot(r, g, d);
        if (d != kNoDeadline && now_ns() >= d) return finish(Status::timeout);
        continue;
      }
      ValueRef& sref = r.tail(si).ref;
      sref.puller_slot = me;
      sref.puller_ticket = r.tail(me).ticket;
      move_state(ss.state, kPulling);
      g.release();
      PullEnd pe;
      try {
        pe = pull_large(r, ref, len, sink, with_grace(lock_by));  // a poll: the select's
      } catch (...) {
        release_slot(r, me);  // the sender sees its puller gone and recovers
        throw;
      }
      release_slot(r, me);
      if (pe == PullEnd::ok) return finish(Status::ok);
      if (pe == PullEnd::gave_up) return finish(Status::timeout);
      if (d != kNoDeadline) return finish(Status::peer_died);
      continue;
    }

    if (closed_locked(r)) {
      g.release();
      return finish(Status::closed);
    }

    // 3. Wait in the receive queue.
    if (d != kNoDeadline && now_ns() >= d) {
      g.release();
      return finish(Status::timeout);
    }
    std::uint32_t me = reserve_locked(r, kRecvKind, Pool::queue);
    if (me == kNone) {
      wait_for_free_slot(r, g, d);
      continue;  // the deadline is checked before queueing again
    }
    r.slot(me).state.store(kWaiting, std::memory_order_relaxed);
    set_bit(r, kRecvKind, me);
    g.release();
    if (traced && !blocked) {
      auto rec = record(hooks::Event::block, hooks::Op::recv, id(), site);
      rec.has_deadline = d != kNoDeadline;
      emit(rec);
    }
    blocked = true;
    if (auto st = after_wait(d, wait_receiver(r, me, d, sink, traced ? &peer : nullptr))) {
      return finish(*st);
    }
  }
}

}  // namespace ceramic::detail
