// ceramic — the express hand-off: the common case of one waiting receiver and one arriving
// sender, completed without the channel lock, on one cache line (ExpressLine, layout.hpp).
//
// Who may use it. A receiver of an unbuffered channel whose values all fit in the line
// (kExpressBytes: fixed-size types and short strings) that would otherwise queue, when no
// other receiver is queued, waits on the express line instead of a slot. It parks under the
// channel lock, so the checks that make waiting right (no sender queued, not closed, FIFO among
// receivers) are the lock's. A sender then completes it without the lock: a CAS on `claim`
// makes it the only sender that may, a CAS on `state` takes the receiver, it writes the value
// and a CAS publishes kXDone. The locked path (a sender that found the line busy, a select's
// poll) completes it the same way, and prefers it to the slot queue: it waited first.
//
// Transitions (state; claim in brackets):
//   kXEmpty   -> kXWaiting   receiver, under the lock, with claim 0        (park_express_locked)
//   kXWaiting -> kXClaimed   the sender holding claim, CAS                   (express_send)
//   kXClaimed -> kXDone      the same sender, CAS, after writing len and data
//   kXWaiting -> kXClosed    close(), under the lock, CAS
//   kXWaiting, kXClaimed -> kXEmpty
//                            the receiver, CAS, giving up (its deadline; its claimer died)
//   kXDone, kXClosed -> kXEmpty   the receiver, once it took the outcome
//   any       -> kXEmpty     under the lock, for a receiver that died (tidy_express_locked)
// claim: 0 -> S by the sender S's CAS; back to 0 by S itself when it did not complete the
// receiver, by the receiver once it took S's value (S touches nothing after kXDone), or by
// anyone, by CAS, once S is dead. While S holds claim no receiver can park, so the state S
// moves from kXWaiting is the waiter's S saw or none: no ABA.
//
// Why a select stays atomic (#14: one consistent view of its channels). A select looks at its
// channels holding all their locks. Without a lock, the express line can only lose its waiter
// (a claim, a withdrawal): nothing becomes ready without the lock. So a case the select saw not
// ready stays not ready until it lets go, and the view it took is the view at its last look.
//
// Memory ordering: the receiver writes owner before its release store of kXWaiting; a sender
// reads it after an acquire load of the state. The claimer's len and data precede its
// release CAS to kXDone, which the receiver's acquire load pairs with; the receiver's reads
// precede its release stores of claim 0 and kXEmpty, which the next claimer's acquire CAS on
// claim pairs with.
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

// Under the lock: whether a receiver waits on the express line that a sender could complete
// now (a select's readiness check).
bool express_ready_locked(Region& r) noexcept;

// Under the lock: empties the line of a receiver that died, and clears a dead sender's claim.
void tidy_express_locked(Region& r) noexcept;

// Under the lock, for a receiver about to queue: parks it on the express line if the line is
// free and no other receiver is queued. False: queue in a slot as usual.
bool park_express_locked(Region& r) noexcept;

// The parked receiver's wait, after the lock is dropped: until a sender delivers (ok), close
// (closed), the deadline (timeout: withdrawn), or a claimer that died (retry; peer_died when
// timed). A claimer holds the receiver for microseconds; a timed receiver gives it until the
// deadline plus kWithdrawGrace, then withdraws. Always leaves the line (kXEmpty) before it
// returns or throws.
End wait_express(Region& r, Deadline d, Sink sink, pid_t* peer);

// Under the lock, close(): releases the waiting receiver with kXClosed.
void close_express_locked(Region& r) noexcept;

}  // namespace ceramic::detail
