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
// The commonest case, one receiver waiting alone for a short value, skips the slots and the
// sender's lock: the receiver waits on the channel's express line (express.hpp).
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
//
// Where each part lives: this file, a channel's life (create, open, close) and what send and
// recv share (operation.hpp); send.cpp and recv.cpp, the operations' steps under the lock;
// express.cpp, the lock-free hand-off to a lone waiting receiver;
// waiters.cpp, what a waiter does on its own slot once queued or offered; values.cpp, a value's
// way across (lengths, parking, the large-value pull); slots.cpp, the lock, queues and slots;
// wait.cpp, spinning and sleeping on a state word; identity.cpp, who is alive.

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "ceramic/control.hpp"
#include "ceramic/detail/channel.hpp"
#include "ceramic/detail/futex.hpp"
#include "express.hpp"
#include "hooks_internal.hpp"
#include "identity.hpp"
#include "layout.hpp"
#include "operation.hpp"
#include "region.hpp"
#include "slots.hpp"
#include "value_file.hpp"
#include "values.hpp"
#include "waiters.hpp"
#include "wait.hpp"

namespace ceramic::detail {

// ---- what send and recv share (operation.hpp) ----------------------------------------------

hooks::Record record(hooks::Event e, hooks::Op op, std::uint64_t ch, Site site) noexcept {
  hooks::Record rec{};
  rec.event = e;
  rec.op = op;
  rec.channel = ch;
  rec.site = site;
  return rec;
}

void emit_outcome(Status st, hooks::Op op, std::uint64_t ch, Site site, pid_t peer, bool blocked,
                  Deadline d) noexcept {
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

void emit_block(hooks::Op op, std::uint64_t ch, Site site, Deadline d) noexcept {
  auto rec = record(hooks::Event::block, op, ch, site);
  rec.has_deadline = d != kNoDeadline;
  emit(rec);
}

Step after_wait(Deadline d, End e) noexcept {
  switch (e) {
    case End::ok: return Step::finished(Status::ok);
    case End::closed: return Step::finished(Status::closed);
    case End::timeout: return Step::finished(Status::timeout);
    case End::peer_died:
      if (d != kNoDeadline) return Step::finished(Status::peer_died);
      return {Step::again};
    case End::retry: return {Step::again};
  }
  return {Step::again};
}

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
  close_express_locked(r);
  // Close is rare: wake everyone while holding the lock, so that no waiter can be missed.
  for (SlotKind k : {kSendKind, kRecvKind}) {
    for (std::uint32_t i; (i = dequeue_locked(r, k)) != kNone;) {
      // A CAS: a select may withdraw its slot without the lock (settle, select.cpp).
      bool w = false;
      if (set_state_if_locked(r.slot(i), kWaiting, kClosed, &w) && w) wake(r.slot(i));
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

}  // namespace ceramic::detail
