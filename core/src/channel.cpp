// ceramic — the channel protocol: Go's hchan, adapted to shared memory between processes.
//
// Locking contract: the channel lock (LockLine::lock, a robust process-shared mutex) protects
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
// Select (next): a selecting thread will reserve one slot per case, in each case's channel,
// flagged as a select slot, and sleep on all their state words at once (futex_waitv). A partner
// that dequeues a select slot cannot complete it on its own, since another case may be
// completing at the same moment in a channel it cannot lock: it proposes instead (kOffered,
// with its value or its request), and the selecting thread accepts exactly one proposal and
// declines the rest, which go back to waiting with their values intact. Plain operations keep
// the one-step hand-off; only meeting a select costs the extra step.
//
// A slot's liveness is its owner mutex: the kernel marks a robust mutex FUTEX_OWNER_DIED when
// its owner dies, so dequeuing a dead waiter, a dead lock holder and a dead partner of a large
// transfer are all detected exactly, with no polling of pids.

#include <immintrin.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "ceramic/detail/channel.hpp"
#include "futex.hpp"
#include "hooks_internal.hpp"
#include "large_value.hpp"
#include "layout.hpp"
#include "region.hpp"
#include "wait.hpp"

namespace ceramic::detail {
namespace {

[[noreturn]] void corrupt(const char* what) {
  throw ChannelError(std::string("ceramic: channel state corrupt: ") + what);
}

constexpr std::uint32_t kClosedFlag = 1;
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

// ---- lock ---------------------------------------------------------------------------------

void repair_locked(Region& r) noexcept;
void drop_parked(Region& r, std::uint64_t ref, std::size_t len) noexcept;

void lock(Region& r) {
  pthread_mutex_t& m = r.hdr().l.lock;
  int rc = EBUSY;
  // Critical sections are a few hundred nanoseconds: spin briefly before sleeping in the kernel.
  for (int i = 0; i < 64 && rc == EBUSY; ++i) {
    rc = pthread_mutex_trylock(&m);
    if (rc == EBUSY) _mm_pause();
  }
  if (rc == EBUSY) rc = pthread_mutex_lock(&m);
  if (rc == EOWNERDEAD) {
    repair_locked(r);
    pthread_mutex_consistent(&m);
    rc = 0;
  }
  if (rc != 0) {
    throw ChannelError(std::string("ceramic: channel lock unusable: ") + std::strerror(rc));
  }
}

void unlock(Region& r) noexcept { pthread_mutex_unlock(&r.hdr().l.lock); }

class Guard {
 public:
  explicit Guard(Region& r) : r_(r) { lock(r_); }
  ~Guard() {
    if (held_) unlock(r_);
  }
  void release() noexcept {
    unlock(r_);
    held_ = false;
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  Region& r_;
  bool held_ = true;
};

// ---- queues (lock) ------------------------------------------------------------------------

void set_bit(Region& r, SlotKind k, std::uint32_t i) noexcept {
  r.mask(k, i / 64) |= std::uint64_t{1} << (i % 64);
}
void clear_bit(Region& r, SlotKind k, std::uint32_t i) noexcept {
  r.mask(k, i / 64) &= ~(std::uint64_t{1} << (i % 64));
}

bool closed_locked(Region& r) noexcept { return (r.hdr().l.flags & kClosedFlag) != 0; }

// Frees slot i if its owner is dead (or it has none). Returns false if the owner is alive.
bool reclaim_locked(Region& r, std::uint32_t i) noexcept {
  SlotHead& s = r.slot(i);
  int rc = pthread_mutex_trylock(&s.owner);
  if (rc == EBUSY) return false;
  if (rc == EOWNERDEAD) pthread_mutex_consistent(&s.owner);
  if (rc != 0 && rc != EOWNERDEAD) return false;
  // A dead sender's parked value was never sent: release it.
  std::uint32_t st = s.state.load(std::memory_order_relaxed) & kStateMask;
  if (s.kind == kSendKind && st != kDone && r.geo().capacity > 0 && s.len > r.geo().inline_bytes) {
    drop_parked(r, r.tail(i).ref.spill, s.len);
  }
  clear_bit(r, kSendKind, i);
  clear_bit(r, kRecvKind, i);
  s.state.store(kFree, std::memory_order_release);
  pthread_mutex_unlock(&s.owner);
  return true;
}

// The previous lock holder died inside a critical section. Every update it could have left
// half-done is recomputed from the slots (invariant I1) or was a single store (ring_state).
void repair_locked(Region& r) noexcept {
  const Geometry& g = r.geo();
  for (std::uint32_t w = 0; w < g.mask_words; ++w) {
    r.mask(kSendKind, w) = 0;
    r.mask(kRecvKind, w) = 0;
  }
  for (std::uint32_t i = 0; i < g.slot_count; ++i) {
    SlotHead& s = r.slot(i);
    std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
    if (st == kFree) continue;
    if (!owner_alive(s.owner) && reclaim_locked(r, i)) continue;
    if (st == kWaiting && (s.kind == kSendKind || s.kind == kRecvKind)) {
      set_bit(r, static_cast<SlotKind>(s.kind), i);
    }
  }
  std::uint64_t rs = r.hdr().r.ring_state;
  auto head = static_cast<std::uint32_t>(rs);
  auto count = static_cast<std::uint32_t>(rs >> 32);
  if (g.capacity == 0 ? rs != 0 : (head >= g.capacity || count > g.capacity)) {
    r.hdr().r.ring_state = 0;  // corrupt beyond repair: the buffered values are lost
  }
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
    if ((s.state.load(std::memory_order_relaxed) & kStateMask) == kWaiting && s.kind == k &&
        owner_alive(s.owner)) {
      return best;
    }
    reclaim_locked(r, best);
  }
}

thread_local std::uint32_t t_slot_hint = 0;

// Reserves a slot for the calling thread (state kReserved, owner mutex held), or kNone if all
// are in use by live threads.
std::uint32_t reserve_locked(Region& r, SlotKind k) noexcept {
  const Geometry& g = r.geo();
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t j = 0; j < g.slot_count; ++j) {
      std::uint32_t i = (t_slot_hint + j) % g.slot_count;
      SlotHead& s = r.slot(i);
      if ((s.state.load(std::memory_order_acquire) & kStateMask) != kFree) {
        // Second pass: slots left behind by threads that died outside the lock.
        if (pass == 0 || owner_alive(s.owner) || !reclaim_locked(r, i)) continue;
      }
      int rc = pthread_mutex_trylock(&s.owner);
      if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&s.owner);
      } else if (rc != 0) {
        continue;  // its previous owner is between storing kFree and unlocking
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
      t_slot_hint = i;
      return i;
    }
  }
  return kNone;
}

// Owner only, after the slot has left every queue. No lock needed: reserve_locked takes a
// slot only once its state is kFree and its owner mutex is free.
void release_slot(Region& r, std::uint32_t i) noexcept {
  SlotHead& s = r.slot(i);
  s.state.store(kFree, std::memory_order_release);
  pthread_mutex_unlock(&s.owner);
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

// Stores a completing state; returns whether the owner must be woken (after the unlock).
bool set_state_locked(SlotHead& s, std::uint32_t st) noexcept {
  return (s.state.exchange(st, std::memory_order_acq_rel) & kSleeper) != 0;
}
void wake(SlotHead& s) noexcept { futex_wake(s.state, 1); }

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

// Parks a long value in the value file; returns its reference (1 + offset). Takes the lock.
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

hooks::Record record(hooks::Event e, hooks::Op op, std::uint64_t ch, Site site) {
  hooks::Record rec{};
  rec.event = e;
  rec.op = op;
  rec.channel = ch;
  rec.site = site;
  return rec;
}

// ---- large values: the receiver's side ----------------------------------------------------

enum class PullEnd { ok, sender_died };

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

// Copies a large value out of the sender described by ref (whose slot is src, in kPulling)
// into sink. The caller holds its own slot as the sender's proof that we are alive.
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
  // We may not read the sender's memory (ptrace restrictions): ask it to spill the value.
  publish_state(s.state, kSpillReq);
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

Status wait_sender(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                   std::uint64_t spill);

}  // namespace

// ---- Channel ------------------------------------------------------------------------------

Channel::Channel(std::unique_ptr<Region> region, std::string name, pid_t unlink_in)
    : region_(std::move(region)), name_(std::move(name)), unlink_in_(unlink_in) {}

Channel::~Channel() {
  if (!name_.empty() && unlink_in_ == getpid()) shm_unlink(shm_name_for(name_).c_str());
}

std::shared_ptr<Channel> Channel::create_anonymous(Shape shape, const ChanOptions& o, Site site) {
  auto ch = std::shared_ptr<Channel>(new Channel(Region::create_anonymous(shape, o, site), "", 0));
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
  auto ch = std::shared_ptr<Channel>(
      new Channel(Region::create_named(shm, shape, o, site), std::string(name), getpid()));
  if (observed()) {
    auto rec = record(hooks::Event::channel_created, hooks::Op::none, ch->id(), site);
    rec.value = static_cast<std::int64_t>(o.capacity);
    rec.name = ch->name_.c_str();
    emit(rec);
  }
  return ch;
}

std::shared_ptr<Channel> Channel::open_named(std::string_view name, Shape shape, Site) {
  return std::shared_ptr<Channel>(
      new Channel(Region::open_named(shm_name_for(name), shape), std::string(name), 0));
}

bool Channel::closed() const noexcept {
  return (__atomic_load_n(&region_->hdr().l.flags, __ATOMIC_ACQUIRE) & kClosedFlag) != 0;
}
std::uint64_t Channel::id() const noexcept { return region_->id(); }
std::size_t Channel::capacity() const noexcept { return region_->geo().capacity; }

void Channel::close(Site site) {
  Region& r = *region_;
  {
    Guard g(r);
    if (closed_locked(r)) return;
    __atomic_store_n(&r.hdr().l.flags, r.hdr().l.flags | kClosedFlag, __ATOMIC_RELEASE);
    // Close is rare: wake everyone while holding the lock, so that no waiter can be missed.
    for (SlotKind k : {kSendKind, kRecvKind}) {
      for (std::uint32_t i; (i = dequeue_locked(r, k)) != kNone;) {
        if (set_state_locked(r.slot(i), kClosed)) wake(r.slot(i));
      }
    }
  }
  if (observed()) emit(record(hooks::Event::close, hooks::Op::close, id(), site));
}

Status Channel::send(const void* data, std::size_t len, Deadline d, Site site) {
  Region& r = *region_;
  const Geometry& geo = r.geo();
  if (geo.elem_size != 0 && len != geo.elem_size) {
    throw std::invalid_argument("ceramic: value size does not match the channel's type");
  }
  const bool large = len > geo.inline_bytes;
  // Buffered channels park long values in their value file before queueing them.
  const std::uint64_t spill = large && geo.capacity > 0 ? park(r, data, len) : 0;
  auto drop_spill = [&] { drop_parked(r, spill, len); };
  const bool traced = observed();
  bool blocked = false;

  for (;;) {
    Guard g(r);
    if (closed_locked(r)) {
      g.release();
      drop_spill();
      return Status::closed;
    }

    // 1. A receiver is waiting: hand the value to it.
    if (std::uint32_t ri = dequeue_locked(r, kRecvKind); ri != kNone) {
      // Hot path: a small value touches only the lock line and the receiver's first slot line;
      // the slot's tail (another line) is read or written only for long values and tracing.
      SlotHead& rs = r.slot(ri);
      ValueRef& rref = r.tail(ri).ref;  // zeroed by reserve_locked
      pid_t peer = traced ? r.tail(ri).pid : 0;
      if (!large || spill != 0) {
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
        if (traced) {
          auto rec = record(hooks::Event::rendezvous, hooks::Op::send, id(), site);
          rec.peer = peer;
          emit(rec);
        }
        return Status::ok;
      }
      // Large and unbuffered: offer it; the receiver pulls it from our memory.
      std::uint32_t me = reserve_locked(r, kSendKind);
      if (me == kNone) {
        set_bit(r, kRecvKind, ri);  // give the receiver back its place
        wait_for_free_slot(r, g, d);
        continue;
      }
      SlotHead& ms = r.slot(me);
      ms.len = len;
      ms.state.store(kPulling, std::memory_order_relaxed);
      ValueRef& mref = r.tail(me).ref;
      mref.puller_slot = ri;
      mref.puller_ticket = r.tail(ri).ticket;
      rs.len = len;
      rref.addr = reinterpret_cast<std::uint64_t>(data);
      rref.src_pid = self_pid();
      rref.src_slot = me;
      rref.src_ticket = r.tail(me).ticket;
      bool w = set_state_locked(rs, kLargeOffer);
      g.release();
      if (w) wake(rs);
      Status st = Status::ok;
      // wait_sender handles kPulling / kSpillReq / kDone exactly as for a queued sender.
      st = wait_sender(r, me, d, data, len, 0);
      if (st == Status::ok && traced) {
        auto rec = record(hooks::Event::rendezvous, hooks::Op::send, id(), site);
        rec.peer = peer;
        emit(rec);
      }
      if (st == Status::peer_died && d == kNoDeadline) continue;
      return st;
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
        g.release();
        if (traced) emit(record(hooks::Event::rendezvous, hooks::Op::send, id(), site));
        return Status::ok;
      }
    }

    // 3. Wait in the send queue.
    if (d != kNoDeadline && now_ns() >= d) {
      g.release();
      drop_spill();
      if (traced) emit(record(hooks::Event::timeout, hooks::Op::send, id(), site));
      return Status::timeout;
    }
    std::uint32_t me = reserve_locked(r, kSendKind);
    if (me == kNone) {
      wait_for_free_slot(r, g, d);
      continue;
    }
    SlotHead& ms = r.slot(me);
    ms.len = len;
    if (!large) {
      std::memcpy(r.slot_data(me), data, len);
    } else {
      ValueRef& mref = r.tail(me).ref;
      mref.src_pid = self_pid();
      mref.spill = spill;
      if (spill == 0) mref.addr = reinterpret_cast<std::uint64_t>(data);
      mref.src_slot = me;
      mref.src_ticket = r.tail(me).ticket;
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
    Status st = wait_sender(r, me, d, data, len, spill);
    if (traced) {
      auto rec = record(st == Status::ok ? hooks::Event::rendezvous : hooks::Event::unblock,
                        hooks::Op::send, id(), site);
      rec.value = static_cast<std::int64_t>(st);
      emit(rec);
    }
    if (st == Status::peer_died && d == kNoDeadline) continue;
    return st;
  }
}

namespace {

// The sender's wait on its own slot `me`: queued (kWaiting), or offering a large value
// (kPulling, kSpillReq, kSpillReady). Releases the slot before returning. Returns peer_died if
// the receiver pulling our value died (the value was not delivered; `send` retries).
Status wait_sender(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                   std::uint64_t spill) {
  SlotHead& s = r.slot(me);
  std::uint64_t fallback_spill = 0;
  auto cleanup = [&] {
    if (fallback_spill != 0) spill_discard(spill_name(r.id(), fallback_spill));
  };
  for (;;) {
    std::uint32_t st = s.state.load(std::memory_order_acquire) & kStateMask;
    switch (st) {
      case kWaiting: {
        if (wait_state(s.state, kWaiting, d) != WaitEnd::deadline) continue;
        Guard g(r);
        if ((s.state.load(std::memory_order_acquire) & kStateMask) != kWaiting) continue;
        clear_bit(r, kSendKind, me);
        g.release();
        release_slot(r, me);
        drop_parked(r, spill, len);
        return Status::timeout;
      }
      case kDone:
        release_slot(r, me);
        cleanup();
        return Status::ok;
      case kClosed:
        release_slot(r, me);
        drop_parked(r, spill, len);
        return Status::closed;
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
        // The receiver died while reading our value: it was not delivered.
        Guard g(r);
        std::uint32_t now = s.state.load(std::memory_order_acquire) & kStateMask;
        if (now == kDone) continue;
        if (!owner_alive(r.slot(ref.puller_slot).owner)) reclaim_locked(r, ref.puller_slot);
        cleanup();
        fallback_spill = 0;
        if (d == kNoDeadline && spill == 0 && ref.addr != 0) {
          // Queue again and wait for another receiver.
          ValueRef& mref = r.tail(me).ref;
          mref.puller_slot = 0;
          mref.puller_ticket = 0;
          mref.spill = 0;
          move_state(s.state, kWaiting);
          set_bit(r, kSendKind, me);
          continue;
        }
        g.release();
        release_slot(r, me);
        return Status::peer_died;
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

}  // namespace

Status Channel::recv(Sink sink, Deadline d, Site site) {
  Region& r = *region_;
  const Geometry& geo = r.geo();
  const bool traced = observed();
  bool blocked = false;
  auto done = [&](Status st, pid_t peer) {
    if (traced) {
      auto rec = record(st == Status::ok ? hooks::Event::rendezvous : hooks::Event::unblock,
                        hooks::Op::recv, id(), site);
      rec.peer = peer;
      rec.value = static_cast<std::int64_t>(st);
      emit(rec);
    }
    return st;
  };

  for (;;) {
    Guard g(r);

    // 1. A buffered value: take the head, then move a queued sender's value into the ring.
    if (geo.capacity > 0) {
      std::uint64_t rs = r.hdr().r.ring_state;
      auto head = static_cast<std::uint32_t>(rs);
      auto count = static_cast<std::uint32_t>(rs >> 32);
      if (count > 0) {
        if (head >= geo.capacity || count > geo.capacity) corrupt("ring position out of range");
        RingEntry& e = r.entry(head);
        std::uint64_t spill = e.spill;
        std::size_t len = checked_len(e.len, geo, spill != 0);
        if (spill == 0) std::memcpy(prepare(sink, len), r.entry_data(head), len);
        head = (head + 1) % geo.capacity;
        --count;
        pid_t peer = 0;
        std::uint32_t si = dequeue_locked(r, kSendKind);
        bool w = false;
        if (si != kNone) {
          SlotHead& ss = r.slot(si);
          std::uint32_t idx = (head + count) % geo.capacity;
          RingEntry& ne = r.entry(idx);
          ne.len = checked_len(ss.len, geo, true);
          ne.spill = ne.len > geo.inline_bytes ? r.tail(si).ref.spill : 0;
          if (ne.len > geo.inline_bytes && ne.spill == 0) corrupt("long buffered value not spilled");
          if (ne.spill == 0) std::memcpy(r.entry_data(idx), r.slot_data(si), ne.len);
          ++count;
          if (traced) peer = r.tail(si).pid;
          w = set_state_locked(ss, kDone);
        }
        r.hdr().r.ring_state = (static_cast<std::uint64_t>(count) << 32) | head;
        g.release();
        if (w) wake(r.slot(si));
        if (spill != 0) unpark(r, spill, len, sink);
        return done(Status::ok, peer);
      }
    }

    // 2. A sender is waiting: take its value.
    if (std::uint32_t si = dequeue_locked(r, kSendKind); si != kNone) {
      SlotHead& ss = r.slot(si);
      std::size_t len = checked_len(ss.len, geo, true);
      const bool long_value = len > geo.inline_bytes;
      const ValueRef ref = long_value ? r.tail(si).ref : ValueRef{};
      pid_t peer = traced ? r.tail(si).pid : 0;
      if (long_value && ref.addr == 0 && ref.spill == 0) corrupt("long value without a source");
      if (ref.addr == 0) {  // inline or spilled
        if (!long_value) std::memcpy(prepare(sink, len), r.slot_data(si), len);
        bool w = set_state_locked(ss, kDone);
        g.release();
        if (w) wake(ss);
        if (ref.spill != 0) unpark(r, ref.spill, len, sink);
        return done(Status::ok, peer);
      }
      // Large: pull it from the sender's memory. Our own slot proves to the sender that we live.
      std::uint32_t me = reserve_locked(r, kRecvKind);
      if (me == kNone) {
        set_bit(r, kSendKind, si);
        wait_for_free_slot(r, g, d);
        continue;
      }
      ValueRef& sref = r.tail(si).ref;
      sref.puller_slot = me;
      sref.puller_ticket = r.tail(me).ticket;
      move_state(ss.state, kPulling);
      g.release();
      PullEnd pe = pull_large(r, ref, len, sink);
      release_slot(r, me);
      if (pe == PullEnd::ok) return done(Status::ok, peer);
      if (d != kNoDeadline) return done(Status::peer_died, peer);
      continue;
    }

    if (closed_locked(r)) {
      g.release();
      return done(Status::closed, 0);
    }

    // 3. Wait in the receive queue.
    if (d != kNoDeadline && now_ns() >= d) {
      g.release();
      if (traced) emit(record(hooks::Event::timeout, hooks::Op::recv, id(), site));
      return Status::timeout;
    }
    std::uint32_t me = reserve_locked(r, kRecvKind);
    if (me == kNone) {
      wait_for_free_slot(r, g, d);
      continue;
    }
    SlotHead& ms = r.slot(me);
    ms.state.store(kWaiting, std::memory_order_relaxed);
    set_bit(r, kRecvKind, me);
    g.release();
    if (traced && !blocked) {
      auto rec = record(hooks::Event::block, hooks::Op::recv, id(), site);
      rec.has_deadline = d != kNoDeadline;
      emit(rec);
    }
    blocked = true;

    for (;;) {
      std::uint32_t st = ms.state.load(std::memory_order_acquire) & kStateMask;
      if (st == kWaiting) {
        if (wait_state(ms.state, kWaiting, d) != WaitEnd::deadline) continue;
        Guard g2(r);
        if ((ms.state.load(std::memory_order_acquire) & kStateMask) != kWaiting) continue;
        clear_bit(r, kRecvKind, me);
        g2.release();
        release_slot(r, me);
        if (traced) emit(record(hooks::Event::timeout, hooks::Op::recv, id(), site));
        return Status::timeout;
      }
      const bool long_value = st == kLargeOffer || (st == kDone && ms.len > geo.inline_bytes);
      const ValueRef ref = long_value || traced ? r.tail(me).ref : ValueRef{};
      if (st == kDone) {
        std::size_t len = checked_len(ms.len, geo, ref.spill != 0);
        if (ref.spill == 0) {
          std::memcpy(prepare(sink, len), r.slot_data(me), len);
          release_slot(r, me);
        } else {
          release_slot(r, me);
          unpark(r, ref.spill, len, sink);
        }
        return done(Status::ok, ref.src_pid);
      }
      if (st == kClosed) {
        release_slot(r, me);
        return done(Status::closed, 0);
      }
      if (st == kLargeOffer) {
        std::size_t len = checked_len(ms.len, geo, true);
        PullEnd pe = pull_large(r, ref, len, sink);
        if (pe == PullEnd::ok) {
          release_slot(r, me);
          return done(Status::ok, ref.src_pid);
        }
        // The sender died mid-transfer: nothing was received.
        if (d != kNoDeadline) {
          release_slot(r, me);
          return done(Status::peer_died, ref.src_pid);
        }
        Guard g2(r);
        r.tail(me).ref = ValueRef{};
        if (closed_locked(r)) {
          g2.release();
          release_slot(r, me);
          return done(Status::closed, 0);
        }
        move_state(ms.state, kWaiting);
        set_bit(r, kRecvKind, me);
        continue;
      }
      corrupt("unexpected receiver slot state");
    }
  }
}

}  // namespace ceramic::detail
