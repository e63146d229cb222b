// ceramic — the express hand-off: the common case of one waiting receiver and one arriving
// sender, completed without the channel lock, on one cache line (ExpressLine, layout.hpp).
//
// Who may use it. A receiver of an unbuffered channel whose values all fit in the line
// (kExpressBytes: fixed-size types and short strings) that would otherwise queue, when no
// other receiver is queued, waits on the express line instead of a slot. A sender then
// completes it without the lock: a CAS on `claim` makes it the only process that may write the
// line, it writes the value, and one CAS moves the state from kXWaiting to kXDone. The locked
// path (a sender that found the line busy, a select's poll) completes it the same way, and
// prefers it to the slot queue: it waited first.
//
// Parking. A receiver parks holding `claim` too (two parkers, or a parker and a sender, never
// write the line at once), in one of two ways:
//   - under the lock (park_express_locked), after the locked checks: no sender queued, not
//     closed, no other receiver queued (FIFO);
//   - without it (try_park_express), finding nothing going on: the lock free, no waiter queued
//     in a slot, not closed. It stores kXWaiting, makes a seq_cst fence, and reads those
//     again. Every taking of the lock is a seq_cst CAS (owner_lock.hpp) and a holder reads the
//     line's state with seq_cst loads, so (store buffering, forbidden by the fence) either the
//     holder sees the receiver waiting, as if it had parked under the lock before, or the
//     receiver sees the lock taken (or, through the unlock it read, whatever the holder queued
//     or closed) and withdraws by CAS, unless a sender or close has already moved it on, and
//     takes the lock. So a lock holder never misses a waiter that it could have met: the line
//     gains one without the lock only while no holder looks.
// A claim held for a moment. A parker that lost the race for an empty line, or a sender that
// claimed and then found the waiter gone, holds claim between two stores, while the receiver
// that parked before waits on. A lock holder that took "waiting, claimed" for "being completed"
// would queue past that receiver; so under the lock a sender and a select's readiness check
// wait for such a claim to go (settle_claim_locked: the holder never blocks; at most
// kSettleClaimNs, for a claimer that is stopped). And a receiver on the line checks, at the end
// of every wait slice (kWaitSliceNs), whether it is stranded: a sender queued in a slot past it
// (a stopped claimer), or the channel closed by a closer that died before releasing it; it then
// leaves and meets them under the lock.
// Either way the park count (`parks`, bumped before the state) moves: it is part of the
// channel's change count (slots.hpp), by which a select that polled its cases one at a time
// knows that none became ready in between (select.cpp, "Giving up").
//
// Transitions (state; claim in brackets):
//   kXEmpty   -> kXWaiting   receiver, holding claim (park_express_locked, try_park_express)
//   kXWaiting -> kXDone      the sender holding claim, CAS, after writing len and data
//                            (express_send)
//   kXWaiting -> kXClosed    close(), under the lock, CAS
//   kXWaiting -> kXEmpty     the receiver, CAS, giving up (its deadline; a claimer that died)
//   kXDone, kXClosed -> kXEmpty   the receiver, once it took the outcome, by CAS, releasing
//                            the claim of the sender it took the value from (by CAS from it)
//   any       -> kXEmpty     under the lock, for a receiver that died (tidy_express_locked)
// Every move out of kXWaiting is a CAS, so exactly one wins: the sender's (delivered), or a
// withdrawal or close (the sender finds its CAS failed: nothing delivered, it tries the locked
// path). The value bytes are read only in kXDone, and only the claim holder writes them.
// claim: 0 -> S by the sender S's CAS; back to 0 by S itself when it did not complete the
// receiver, by the receiver once it took S's value (S touches nothing after kXDone), or by
// anyone, by CAS, once S is dead, except in kXDone (the receiver's to release: cleared while
// it still reads the value, the line could be claimed and parked on under it). While S holds claim no receiver can park, so the state S
// moves from kXWaiting is the waiter's S saw or none: no ABA. A parking receiver holds claim
// from before it looks at the state until after it stored kXWaiting; a sender that finds the
// line claimed takes the lock (and, the line still claimed, queues in a slot).
//
// Cost. A sender reads the state, CASes claim and the state (one line, which it then holds
// while it writes the value), and the receiver reads it once and empties it: the line crosses
// between the two cores about four times a hand-off, where the minimal one-word hand-off needs
// two, and the channel lock is taken only by the receiver that parks.
//
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "ceramic/detail/channel.hpp"
#include "region.hpp"
#include "waiters.hpp"

namespace ceramic::detail {



// Channels whose every value fits the express line: unbuffered, max_value <= kExpressBytes.
bool express_channel(const Geometry& g) noexcept;

// A sender, with or without the lock: completes the receiver waiting on the express line with
// the value (len <= kExpressBytes). False if there is none that it may complete (none waits,
// another sender holds it, its owner is dead, it gave up meanwhile): nothing was delivered.
// *peer (if not null) gets the receiver's pid.
bool express_send(Region& r, const void* data, std::size_t len, pid_t* peer) noexcept;

// A sender that found no receiver on the express line, before it takes the lock to queue:
// when no one is queued on the channel, it waits a little (kAwaitReceiverNs, by `d`, and only
// while spinning pays for this thread: wait.hpp) for a receiver to park there, as one about to
// receive (a ping-pong partner that has just been handed a value) does within a few hundred
// nanoseconds. True if one is waiting there now; false at once if anything else changes under
// the lock (a receiver or sender queues, close). It only delays the sender's own queueing, as
// if it had arrived later: no one else is waiting for it.
bool express_await_receiver(Region& r, Deadline d) noexcept;
inline constexpr std::int64_t kAwaitReceiverNs = 2'000;

// Under the lock, a sender: express_send, waiting (up to kSettleClaimNs, and `d`) for a
// claim that another process holds for a moment while the receiver still waits, so as not to
// queue past a receiver it could have met.
bool express_send_locked(Region& r, const void* data, std::size_t len, Deadline d,
                         pid_t* peer) noexcept;
inline constexpr std::int64_t kSettleClaimNs = 1'000'000;

// Under the lock: whether a receiver waits on the express line that a sender could complete
// now (a select's readiness check).
bool express_ready_locked(Region& r) noexcept;

// Under the lock: empties the line of a receiver that died, and clears a dead sender's claim.
void tidy_express_locked(Region& r) noexcept;

// Under the lock, for a receiver about to queue: parks it on the express line if the line is
// free and no other receiver is queued. False: queue in a slot as usual.
bool park_express_locked(Region& r) noexcept;

// Without the lock, for a receiver that has not looked at the channel yet (d: its deadline; 0,
// a poll, never parks): parks it on the express line if nothing else is going on (the lock
// free, no waiter queued, not closed, the line empty). True: it is there, or was there and
// has already been completed or closed; wait_express takes it from there. False: take the lock.
bool try_park_express(Region& r, Deadline d) noexcept;

// The parked receiver's wait, after the lock is dropped: until a sender delivers (ok), close
// (closed), the deadline (timeout: withdrawn by CAS, which a claimer's completion races for), or
// a claimer that died holding claim (retry: the receiver leaves and starts again under the
// lock). Always leaves the line (kXEmpty) before it returns or throws.
End wait_express(Region& r, Deadline d, Sink sink, pid_t* peer);

// Under the lock, close(): releases the waiting receiver with kXClosed.
void close_express_locked(Region& r) noexcept;

}  // namespace ceramic::detail
