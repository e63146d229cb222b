// ceramic — the waiters' state machines: what a sender or a receiver does, on its own slot,
// from the moment it is queued or has made an offer until the operation ends (the slot states
// and their transitions: layout.hpp). Channel::send/recv and select reach here once they wait.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "ceramic/detail/channel.hpp"
#include "layout.hpp"
#include "region.hpp"
#include "slots.hpp"

namespace ceramic::detail {

// How a wait on one's own slot ended. retry: a select declined our proposal, or the select we
// proposed to died; nothing was transferred, try the operation again.
enum class End { ok, closed, timeout, peer_died, retry };

// The sender's wait on its own slot `me`: queued (kWaiting), offering a large value or
// proposing to a select (kPulling, kSpillReq, kSpillReady). Releases the slot before returning.
// Bound (d != kNoDeadline): returns by d + kWithdrawGrace (1 s). Queued, it withdraws at d
// under the lock taken by d + 1 s (else WithdrawFailed, a ChannelError); while a partner holds
// its offer, it gives the partner until d + 1 s, then withdraws by one CAS without the lock
// (timeout: not delivered). Not bounded: parking the value for a receiver that asked
// (kSpillReq) takes the lock without a deadline.
// peer_died: the receiver pulling our value died (not delivered). Never drops a value the
// caller parked (buffered channels): the caller still owns it unless the result is ok. A value
// it parks itself for a receiver that may not read our memory (kSpillReq), it frees if that
// receiver dies. *peer (if not null) gets the receiver's pid when the receiver recorded it
// (tracing).
End wait_sender(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                pid_t* peer = nullptr);

// The receiver's wait on its own slot `me`: queued (kWaiting) or proposing to a select
// (kProposed). Delivers the value into sink; *peer (if not null) gets the sender's pid when known.
// Bound (d != kNoDeadline): queued, as wait_sender; pulling a long value, and waiting for a
// select's answer to our proposal (kProposed, withdrawn by CAS), d + kWithdrawGrace.
End wait_receiver(Region& r, std::uint32_t me, Deadline d, Sink sink, pid_t* peer);

// Answers proposer slot p with state st (kDone, kDeclined, kLargeOffer), if p still holds
// ticket and waits for an answer. Lock held. False if the proposer is gone.
bool answer_locked(Region& r, std::uint32_t p, std::uint32_t ticket, std::uint32_t st);

// ---- meeting a queued partner that cannot be completed in one step ------------------------

// A sender's value, as its operation holds it: data and len are the caller's; spill is where a
// buffered channel parked it (0: not parked).
struct OutValue {
  const void* data;
  std::size_t len;
  std::uint64_t spill;
};

// The sender dequeued receiver ri and cannot complete it alone: ri is a select's slot (which
// must choose: kOffered), or the value is long and not parked (ri pulls it from our memory:
// kLargeOffer). Offers it from a transfer slot of our own, drops the lock and waits for the
// outcome (wait_sender; a timed send, or a select's poll by the select's deadline lock_by,
// until the deadline plus the grace). No transfer slot free: ri keeps its place, and the result
// is End::retry after a wait for one, or End::timeout once d has passed. Lock held on entry.
End offer_to_receiver(Region& r, Guard& g, std::uint32_t ri, const OutValue& v, Deadline d,
                      Deadline lock_by, pid_t* peer);

// The receiver dequeued sender si, a select's slot: proposes to it (kOffered) from a transfer
// slot of our own and waits for its answer, then for the value (wait_receiver). No transfer
// slot free: as offer_to_receiver. Lock held on entry.
End propose_to_select(Region& r, Guard& g, std::uint32_t si, Deadline d, Deadline lock_by,
                      Sink sink, pid_t* peer);

// The receiver dequeued sender si, whose long value is in its memory (ref, len: read and
// checked under the lock): moves it to kPulling, drops the lock and copies the value
// (pull_large) while a transfer slot of ours proves to the sender that we live. peer_died: the
// sender died and nothing was received. No transfer slot free: as offer_to_receiver.
End pull_from_sender(Region& r, Guard& g, std::uint32_t si, const ValueRef& ref, std::size_t len,
                     Deadline d, Deadline lock_by, Sink sink);

}  // namespace ceramic::detail
