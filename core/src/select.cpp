// ceramic — select across processes: the selecting side of the protocol described under
// "SELECT" in layout.hpp.
//
//   pass 1  poll every case in a random order (a plain operation that cannot block); the first
//           that completes wins, so among ready cases each is equally likely.
//   give up a select with a default, or whose deadline has passed, runs the default (or the
//           timeout) only on one consistent view of its channels: see "Giving up" below.
//   pass 2  queue a select slot in every case's channel, unless one of them has become ready
//           meanwhile (then settle and poll again), and sleep on all the slots at once.
//   settle  withdraw every slot; of the slots a partner reached (an offer, a close), keep the
//           first in the random order and decline the other offers (their proposers retry with
//           their values). Then complete the kept one like a plain partner would. Woken by the
//           deadline with nothing kept, go round: pass 1 polls once more and gives up.
// A partner that dies while we complete its offer, or that we find gone, sends us round again:
// nothing was transferred.
//
// Giving up. Each poll of pass 1 sees its channel at its own instant, so "every poll failed"
// does not mean that no case was ready at any one instant (Go's TestNonblockSelectRace: c2
// becomes ready after its poll, c1 stops being ready before its poll). Two ways to a view at
// one instant, cheap first:
//   recheck  every change that can make an operation ready bumps its channel's change count,
//            under the lock (layout.hpp), or, for a receiver that parks on the express line
//            without it, the line's park count, read with it (express.hpp). Pass 1 reads each count before its poll; if after the
//            last poll no count has moved, each channel stayed unready from its poll on, so at
//            the last poll none was ready. Costs one load per case.
//   lock all otherwise, every case's channel lock is taken at once, in one global order
//            (channel id; a channel in several cases, or mapped twice, is locked once), and the
//            cases are checked under all of them: none ready, give up; else one ready case,
//            chosen at random, is completed under the lock it was seen ready under, the others
//            dropped first. No other code holds two channel locks, so the order cannot be
//            inverted; the locks are only read under, so a holder that dies leaves nothing for
//            the repair to undo (each robust lock it held is repaired on its own).
// A select with one channel case needs neither: its one poll is its view.
//
// Deadlines. A select with a timeout takes every channel lock of its polls, its lock-all look
// and its queueing by its deadline (lock(Region&, Deadline)), as send_for and recv_for do: a
// lock holder that is stopped, or a lock word a peer scribbled on, cannot hold it past the
// deadline; it then times out. A long value it offers a receiver (a kept offer, pulled while
// we wait) is withdrawn at the deadline plus kWithdrawGrace (1 s) if the receiver has not
// completed it (stopped, or unable to take the lock): the select then returns its timeout
// case, nothing sent (wait_sender). Withdrawing slots it queued (settle, decline) and
// completing an offer it kept still take their locks without one: a slot must not stay
// queued behind us, and a select slot left queued would hold every partner that proposes to
// it (they wait for its answer while its owner lives). Not bounded yet.

#include "ceramic/select.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <functional>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "ceramic/control.hpp"
#include "ceramic/detail/futex.hpp"
#include "express.hpp"
#include "hooks_internal.hpp"
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

constexpr std::size_t kMaxCases = 64;
constexpr std::size_t kNoCase = static_cast<std::size_t>(-1);

std::uint64_t random_u64() noexcept {
  thread_local std::uint64_t state = 0;
  if (state == 0) {
    state = static_cast<std::uint64_t>(now_ns()) ^
            (static_cast<std::uint64_t>(self_tid()) << 32) ^ 0x9e3779b97f4a7c15ull;
  }
  state ^= state >> 12;  // xorshift64*
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

struct Queued {
  std::size_t index;   // into the caller's cases
  Region* r;
  std::uint32_t slot;
  bool send;
  std::uint64_t parked;  // a long buffered send value parked for this slot, or 0
  std::size_t len;       // send: the value's length
};

bool is_mine(Region& r, std::uint32_t i) noexcept {
  const SlotTail& t = r.tail(i);
  return (r.slot(i).kind & kSelectFlag) != 0 && t.pid == self_pid() && t.tid == self_tid();
}

// Would a `send` (or receive) case on this channel complete now? Lock held. Our own select
// slots do not count: a select never meets itself.
bool ready_locked(Region& r, bool send) {
  if (closed_locked(r)) return true;
  const Geometry& g = r.geo();
  if (g.capacity > 0) {
    auto count = static_cast<std::uint32_t>(r.hdr().r.ring_state >> 32);
    if (send ? count < g.capacity : count > 0) return true;
  }
  if (send && express_ready_locked(r)) return true;
  SlotKind other = send ? kRecvKind : kSendKind;
  for (std::uint32_t w = 0; w < g.mask_words; ++w) {
    for (std::uint64_t m = r.mask(other, w); m != 0; m &= m - 1) {
      std::uint32_t i = w * 64 + static_cast<std::uint32_t>(__builtin_ctzll(m));
      if (i >= g.slot_count) continue;
      SlotHead& s = r.slot(i);
      if ((s.state.load(std::memory_order_acquire) & kStateMask) == kWaiting &&
          owner_alive(s.owner) && !is_mine(r, i)) {
        return true;
      }
    }
  }
  return false;
}

// ---- giving up (see the top of the file) --------------------------------------------------

// The channel locks of a set of cases, taken at once in one global order: by channel id, which
// every process reads from the channel's header, so all agree. A channel met twice (two cases,
// or two mappings of one named channel, which share one lock) is locked once. A forged header
// that copies another channel's id makes this read the forger's channel without its lock: a
// stale view of it, never an out-of-bounds one (every index is checked, layout.hpp).
class AllLocked {
 public:
  // With a deadline (a select with a timeout), a lock not had by then leaves none held:
  // complete() is false.
  AllLocked(const SelectCase* cs, const std::size_t* chans, std::size_t m, Deadline deadline) {
    Region* rs[kMaxCases];
    for (std::size_t k = 0; k < m; ++k) rs[k] = &cs[chans[k]].ch->region();
    std::sort(rs, rs + m, [](Region* a, Region* b) {
      return a->id() != b->id() ? a->id() < b->id() : std::less<Region*>()(a, b);
    });
    try {
      for (std::size_t k = 0; k < m; ++k) {
        if (n_ > 0 && held_[n_ - 1]->id() == rs[k]->id()) continue;
        if (!lock(*rs[k], deadline)) {
          keep_only(nullptr);
          complete_ = false;
          return;
        }
        held_[n_++] = rs[k];
      }
    } catch (...) {
      keep_only(nullptr);
      throw;
    }
  }
  ~AllLocked() { keep_only(nullptr); }
  bool complete() const noexcept { return complete_; }
  AllLocked(const AllLocked&) = delete;
  AllLocked& operator=(const AllLocked&) = delete;

  // Unlocks every channel but r. True if r stays locked: locked through this very mapping
  // (another mapping of the same channel would unlock at another address than it locked).
  bool keep_only(const Region* r) noexcept {
    bool kept = false;
    for (std::size_t k = n_; k-- > 0;) {
      if (held_[k] == r) {
        kept = true;
      } else {
        unlock(*held_[k]);
      }
    }
    n_ = 0;
    return kept;
  }

 private:
  Region* held_[kMaxCases];
  std::size_t n_ = 0;
  bool complete_ = true;
};

// Whether no count read before the polls (seen[k], for case chans[k]) has moved since.
bool unchanged(const SelectCase* cs, const std::size_t* chans, const std::uint64_t* seen,
               std::size_t m) noexcept {
  for (std::size_t k = 0; k < m; ++k) {
    if (change_count(cs[chans[k]].ch->region()) != seen[k]) return false;
  }
  return true;
}

// Lock not had by give_up: answered without it (answer_locked's moves are CASes).
void decline(const Queued& q, Deadline give_up = kNoDeadline) {
  Guard g(*q.r, give_up);
  const ValueRef ref = q.r->tail(q.slot).ref;
  if (q.send) {
    answer_locked(*q.r, ref.puller_slot, ref.puller_ticket, kDeclined);
  } else {
    answer_locked(*q.r, ref.src_slot, ref.src_ticket, kDeclined);
  }
}

// Withdraws every queued slot. Returns the position of the one slot kept (an offer or a close,
// still owned by us), or kNoCase. A timed select (deadline) takes each lock by its deadline plus
// the grace; a lock not had by then (its holder stopped, or the lock word scribbled on), it
// withdraws the slot by one CAS without the lock, which every partner's move of a select slot
// out of kWaiting also is (offer_to_receiver, propose_to_select, close, a nudge): exactly one
// wins. Its queue bit then stays set until the next dequeue drops it (dequeue_locked skips a
// slot that is not waiting).
std::size_t settle(Queued* q, std::size_t n, Deadline deadline = kNoDeadline) {
  std::size_t kept = kNoCase;
  const Deadline give_up = with_grace(deadline);
  for (std::size_t j = 0; j < n; ++j) {
    Region& r = *q[j].r;
    SlotHead& s = r.slot(q[j].slot);
    std::uint32_t st;
    {
      Guard g(r, give_up);
      if (g.held()) {
        st = s.state.load(std::memory_order_acquire) & kStateMask;
        if (st == kWaiting) {
          clear_bit(r, q[j].send ? kSendKind : kRecvKind, q[j].slot);
          s.state.store(kReserved, std::memory_order_relaxed);  // a repair must not re-queue it
        }
      } else {
        bool unused = false;
        st = set_state_if_locked(s, kWaiting, kReserved, &unused)
                 ? kWaiting
                 : s.state.load(std::memory_order_acquire) & kStateMask;
      }
    }
    if ((st == kOffered || st == kClosed) && kept == kNoCase) {
      kept = j;
      continue;
    }
    if (st == kOffered) decline(q[j], give_up);
    if (st != kWaiting && st != kOffered && st != kClosed && st != kNudged) {
      corrupt("unexpected select slot state");
    }
    release_slot(r, q[j].slot);
    drop_parked(r, q[j].parked, q[j].len);
  }
  return kept;
}

// Withdraws everything and declines every offer (unwinding after an error).
void settle_all(Queued* q, std::size_t n) noexcept {
  try {
    std::size_t kept = settle(q, n);
    if (kept != kNoCase) {
      decline(q[kept]);
      release_slot(*q[kept].r, q[kept].slot);
      drop_parked(*q[kept].r, q[kept].parked, q[kept].len);
    }
  } catch (...) {
    // the channel is corrupt: nothing more can be done for it
  }
}

// timed_out: the select's deadline (plus the grace) passed while the partner held our offer;
// it was withdrawn, nothing was transferred.
enum class Completion { fired, closed, retry, timed_out };

// Completes the kept slot (an offer or a close) of case c. Releases the slot. *peer: the
// partner's pid, as the partner records ours (the pid of the slot it acted through), for the
// trace: each side of a rendezvous names the other (detector/src/leaks.cpp counts them).
Completion complete(const SelectCase& c, const Queued& q, Deadline deadline, pid_t* peer) {
  Region& r = *q.r;
  const Geometry& geo = r.geo();
  SlotHead& s = r.slot(q.slot);
  if ((s.state.load(std::memory_order_acquire) & kStateMask) == kClosed) {
    release_slot(r, q.slot);
    drop_parked(r, q.parked, c.len);
    return Completion::closed;
  }
  const ValueRef ref = r.tail(q.slot).ref;

  if (!q.send) {
    *peer = ref.src_pid;
    // A sender proposed: its value is in our slot (inline), parked, or in its memory.
    std::size_t len = checked_len(s.len, geo, true);
    if (len <= geo.inline_bytes || ref.spill != 0) {
      if (len <= geo.inline_bytes) {
        try {
          std::memcpy(prepare(c.sink, len), r.slot_data(q.slot), len);
        } catch (...) {
          decline(q);  // no room for the value here: the sender keeps it
          release_slot(r, q.slot);
          throw;
        }
      }
      bool answered;
      {
        // Answer before reading a parked value: once answered, the value is ours alone.
        Guard g(r);
        answered = answer_locked(r, ref.src_slot, ref.src_ticket, kDone);
      }
      release_slot(r, q.slot);
      if (!answered) {
        // The proposer withdrew its offer (a timed send at its deadline, withdraw_offer in
        // waiters.cpp) or died: its value is not ours to deliver (its send did not return ok).
        c.sink.prepare(c.sink.ctx, 0);
        return Completion::retry;
      }
      if (len > geo.inline_bytes) unpark(r, ref.spill, len, c.sink);
      return Completion::fired;
    }
    PullEnd pe;
    try {
      pe = pull_large(r, ref, len, c.sink, with_grace(deadline));
    } catch (...) {
      release_slot(r, q.slot);  // the sender sees its puller gone and recovers
      throw;
    }
    release_slot(r, q.slot);
    if (pe == PullEnd::gave_up) return Completion::timed_out;
    return pe == PullEnd::ok ? Completion::fired : Completion::retry;
  }

  // A receiver proposed: hand it our value through its own slot p.
  Guard g(r);
  const std::uint32_t p = ref.puller_slot;
  if (p >= geo.slot_count || r.tail(p).ticket != ref.puller_ticket ||
      (r.slot(p).state.load(std::memory_order_acquire) & kStateMask) != kProposed ||
      !owner_alive(r.slot(p).owner)) {
    g.release();
    release_slot(r, q.slot);
    drop_parked(r, q.parked, c.len);
    return Completion::retry;
  }
  SlotHead& ps = r.slot(p);
  *peer = r.tail(p).pid;
  // The proposer wrote src_slot/src_ticket (our slot) and reads them while it waits: write only
  // the other fields.
  ValueRef& pref = r.tail(p).ref;
  ps.len = c.len;
  pref.src_pid = self_pid();
  if (c.len <= geo.inline_bytes || q.parked != 0) {
    if (q.parked != 0) {
      pref.spill = q.parked;             // the receiver unparks (and frees) it;
      r.tail(q.slot).ref.spill = 0;      // our slot no longer owns it, even if we die now
    } else {
      std::memcpy(r.slot_data(p), c.data, c.len);
    }
    if (!answer_locked(r, p, ref.puller_ticket, kDone)) {
      // The receiver withdrew its proposal (a timed recv at its deadline plus the grace) since
      // we looked: nothing was delivered.
      g.release();
      release_slot(r, q.slot);
      drop_parked(r, q.parked, c.len);
      return Completion::retry;
    }
    g.release();
    release_slot(r, q.slot);
    return Completion::fired;
  }
  // Long and unbuffered: the receiver pulls it from our memory while we wait in kPulling.
  pref.addr = reinterpret_cast<std::uint64_t>(c.data);  // src_slot/src_ticket: ours already
  r.tail(q.slot).ref.addr = 0;  // not a queued sender any more: never re-queue this slot
  move_state(s.state, kPulling);
  if (!answer_locked(r, p, ref.puller_ticket, kLargeOffer)) {  // withdrawn since we looked
    g.release();
    release_slot(r, q.slot);
    return Completion::retry;
  }
  g.release();
  // Timed, the receiver has until our deadline plus the grace to pull it (wait_sender).
  End e = wait_sender(r, q.slot, deadline, c.data, c.len);
  if (e == End::timeout) return Completion::timed_out;
  return e == End::ok ? Completion::fired : Completion::retry;
}

// A plain operation that cannot block: the case completes now, or reports why not. Its lock is
// taken by the select's deadline (a lock not had by then: Status::timeout), or is held already.
Status poll(const SelectCase& c, Site site, Deadline deadline, bool held = false) {
  const PollLock pl{deadline, held};
  return c.kind == SelectCase::Kind::send ? c.ch->send(c.data, c.len, 0, site, pl)
                                          : c.ch->recv(c.sink, 0, site, pl);
}

void emit_select(hooks::Event e, const SelectCase& c, Site site, std::int64_t value,
                 pid_t peer = 0) {
  hooks::Record rec{};
  rec.event = e;
  rec.op = hooks::Op::select;
  rec.channel = c.ch->id();
  rec.peer = peer;
  rec.value = value;
  rec.site = site;
  emit(rec);
}

// Go's select {}. Recorded as a select blocked on no channel (channel id 0, which no channel
// has), with no deadline: the detector sees a thread that nothing can ever wake, part of a
// deadlock while the program runs and a leak when it ends.
[[noreturn]] void block_forever(Site site) {
  if (observed()) {
    hooks::Record rec{};
    rec.event = hooks::Event::block;
    rec.op = hooks::Op::select;
    rec.site = site;
    emit(rec);
  }
  std::atomic<std::uint32_t> never{0};
  for (;;) futex_wait(never, 0, kNoDeadline);
}

// Hands a checked select to the installed controller, in the seam's own types; the indices
// stay the caller's.
std::size_t delegate(control::Controller& c, const SelectCase* cs, std::size_t n,
                     std::size_t fallback, std::size_t timeout, bool* closed, Site site) {
  std::vector<control::Case> cases(n);
  for (std::size_t i = 0; i < n; ++i) {
    control::Case& k = cases[i];
    k.kind = cs[i].kind;
    if (cs[i].ch) k.channel = cs[i].ch->ref();
    k.data = cs[i].data;
    k.len = cs[i].len;
    k.into = cs[i].sink;
    k.timeout_ns = cs[i].timeout_ns;
  }
  control::Select sel{cases.data(), n, fallback == kNoCase ? -1 : static_cast<int>(fallback),
                      timeout == kNoCase ? -1 : static_cast<int>(timeout)};
  *closed = false;
  return c.select(sel, closed, site);
}

}  // namespace

std::size_t select(SelectCase* cs, std::size_t n, bool* closed, Site site) {
  // Checked once, before either the protocol or a controller sees the cases.
  std::size_t chans[kMaxCases];
  std::size_t m = 0;
  std::size_t fallback = kNoCase;
  std::size_t timeout = kNoCase;
  std::int64_t timeout_ns = INT64_MAX;
  for (std::size_t i = 0; i < n; ++i) {
    switch (cs[i].kind) {
      case SelectCase::Kind::recv:
      case SelectCase::Kind::send:
        if (m == kMaxCases) throw std::invalid_argument("ceramic::select: more than 64 channel cases");
        if (cs[i].kind == SelectCase::Kind::send) cs[i].ch->check_value(cs[i].len, "ceramic::select");
        chans[m++] = i;
        break;
      case SelectCase::Kind::fallback:
        if (fallback != kNoCase) throw std::invalid_argument("ceramic::select: two default cases");
        fallback = i;
        break;
      case SelectCase::Kind::timeout:
        // A negative duration is a zero one; of several timeouts the shortest fires (the
        // first of equals), the others never can.
        cs[i].timeout_ns = std::max<std::int64_t>(cs[i].timeout_ns, 0);
        if (cs[i].timeout_ns < timeout_ns) {
          timeout_ns = cs[i].timeout_ns;
          timeout = i;
        }
        break;
    }
  }
  if (auto* c = controller()) return delegate(*c, cs, n, fallback, timeout, closed, site);
  const Deadline deadline = timeout != kNoCase ? deadline_after(timeout_ns) : kNoDeadline;
  *closed = false;
  if (m == 0) {
    if (fallback != kNoCase) return fallback;
    if (timeout == kNoCase) block_forever(site);  // Go's select {}: nothing can ever fire
    std::atomic<std::uint32_t> never{0};
    while (now_ns() < deadline) futex_wait(never, 0, deadline);
    return timeout;
  }

  const bool traced = observed();
  bool announced = false;
  // The default or the timeout: only on a consistent view (see "Giving up").
  auto give_up = [&] {
    if (fallback != kNoCase) return fallback;
    if (traced && announced) emit_select(hooks::Event::timeout, cs[chans[0]], site, 0);
    return timeout;
  };
  // A poll's outcome: the index to return, or kNoCase to go on.
  auto fired = [&](std::size_t i, Status st) {
    if (st == Status::ok) return i;
    if (st == Status::closed) {
      if (cs[i].kind == SelectCase::Kind::send) throw ChannelClosed();
      *closed = true;
      return i;
    }
    return kNoCase;
  };
  const bool may_give_up = fallback != kNoCase || deadline != kNoDeadline;
  for (;;) {
    // Pass 1: poll in a random order, reading each channel's change count first.
    for (std::size_t k = m; k > 1; --k) std::swap(chans[k - 1], chans[random_u64() % k]);
    std::uint64_t seen[kMaxCases];
    for (std::size_t k = 0; k < m; ++k) {
      if (may_give_up && m > 1) seen[k] = change_count(cs[chans[k]].ch->region());
      if (std::size_t i = fired(chans[k], poll(cs[chans[k]], site, deadline)); i != kNoCase) return i;
    }
    if (fallback != kNoCase || (deadline != kNoDeadline && now_ns() >= deadline)) {
      if (m == 1 || unchanged(cs, chans, seen, m)) return give_up();
      // Lock all: give up, or complete a case seen ready under the lock it still holds.
      std::size_t pick = kNoCase;
      bool held = false;
      {  // (nothing in here waits, emits or takes another lock)
        AllLocked all(cs, chans, m, deadline);
        if (!all.complete()) return give_up();  // a timed select whose deadline has passed
        std::size_t ready[kMaxCases];
        std::size_t n_ready = 0;
        for (std::size_t k = 0; k < m; ++k) {
          const SelectCase& c = cs[chans[k]];
          if (ready_locked(c.ch->region(), c.kind == SelectCase::Kind::send)) {
            ready[n_ready++] = chans[k];
          }
        }
        if (n_ready > 0) {
          pick = ready[random_u64() % n_ready];
          held = all.keep_only(&cs[pick].ch->region());
        }
      }
      if (pick == kNoCase) return give_up();
      if (std::size_t i = fired(pick, poll(cs[pick], site, deadline, held)); i != kNoCase) return i;
      continue;  // its partner was a select that chose another case, or died: look again
    }

    // Pass 2: queue on every channel, then sleep on all slots.
    Queued q[kMaxCases];
    std::size_t queued = 0;
    bool ready = false;
    try {
    for (std::size_t k = 0; k < m && !ready; ++k) {
      const SelectCase& c = cs[chans[k]];
      Region& r = c.ch->region();
      const bool send = c.kind == SelectCase::Kind::send;
      const bool large = send && c.len > r.geo().inline_bytes;
      std::uint64_t parked = large && r.geo().capacity > 0 ? park(r, c.data, c.len) : 0;
      Guard g(r, deadline);
      std::uint32_t slot = kNone;
      if (g.held() && !ready_locked(r, send)) {
        slot = reserve_locked(r, (send ? kSendKind : kRecvKind) | kSelectFlag, Pool::queue);
        if (slot == kNone) wait_for_free_slot(r, g, deadline);
      }
      if (slot == kNone) {
        g.release();
        drop_parked(r, parked, c.len);
        ready = true;  // settle what we queued and poll again
        break;
      }
      SlotHead& s = r.slot(slot);
      if (send) {
        s.len = c.len;
        if (!large) {
          std::memcpy(r.slot_data(slot), c.data, c.len);
        } else {
          ValueRef& ref = r.tail(slot).ref;
          ref.src_pid = self_pid();
          ref.spill = parked;
          if (parked == 0) ref.addr = reinterpret_cast<std::uint64_t>(c.data);
          ref.src_slot = slot;
          ref.src_ticket = r.tail(slot).ticket;
        }
      }
      s.state.store(kWaiting, std::memory_order_relaxed);
      set_bit(r, send ? kSendKind : kRecvKind, slot);
      g.release();
      q[queued++] = Queued{chans[k], &r, slot, send, parked, c.len};
    }
    if (traced && !announced && !ready) {
      for (std::size_t j = 0; j < queued; ++j) {
        emit_select(hooks::Event::block, cs[q[j].index], site, q[j].send ? 1 : 0);
      }
      announced = true;
    }

    if (!ready) {
      std::atomic<std::uint32_t>* words[kMaxCases];
      for (std::size_t j = 0; j < queued; ++j) words[j] = &q[j].r->slot(q[j].slot).state;
      wait_any_state(words, queued, kWaiting, deadline);  // the deadline is pass 1's to judge
    }
    } catch (...) {
      settle_all(q, queued);  // never leave a slot queued behind us (no room to park, ...)
      throw;
    }
    std::size_t kept = settle(q, queued, deadline);
    if (kept != kNoCase) {
      const SelectCase& c = cs[q[kept].index];
      pid_t peer = 0;
      Completion done = complete(c, q[kept], deadline, &peer);
      if (done == Completion::timed_out) return give_up();
      if (done == Completion::closed) {
        if (q[kept].send) throw ChannelClosed();
        *closed = true;
      }
      if (done != Completion::retry) {
        if (traced) {
          emit_select(hooks::Event::rendezvous, c, site, q[kept].send ? 1 : 0,
                      done == Completion::closed ? 0 : peer);
        }
        return q[kept].index;
      }
    }
    // At the deadline with nothing kept, pass 1 polls once more and gives up.
  }
}

}  // namespace ceramic::detail

namespace ceramic {

void select(Site site) {
  bool closed = false;
  detail::select(nullptr, 0, &closed, site);
  // A controller may only end this process; it never returns from a select of no cases.
  std::abort();
}

}  // namespace ceramic
