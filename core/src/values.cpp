#include "values.hpp"

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
#include "offers.hpp"
#include "slots.hpp"
#include "value_file.hpp"
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

std::uint64_t park(Region& r, const void* data, std::size_t len, std::uint32_t owner,
                   Deadline lock_by) {
  if (r.value_fd() < 0) corrupt("long value in a channel without a value file");
  std::uint64_t off;
  {
    Guard g(r, lock_by);
    if (!g.held()) return 0;
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

}  // namespace ceramic::detail
