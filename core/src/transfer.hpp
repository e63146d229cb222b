// ceramic — moving values between the two sides of an operation: length checks, values parked
// in a buffered channel's value file, and the large-value pull (the receiver reads the
// sender's memory while the sender waits in kPulling).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ceramic/detail/channel.hpp"
#include "layout.hpp"
#include "region.hpp"

namespace ceramic::detail {

// A length read from shared memory, checked against the channel's type and slot size.
std::uint64_t checked_len(std::uint64_t len, const Geometry& g, bool may_be_large);
// The sink's memory for exactly len bytes (ChannelError if the type cannot hold them).
void* prepare(Sink sink, std::size_t len);
// Names the next fallback spill object of this process.
std::uint64_t next_spill_id() noexcept;

// Parks a long value in the value file; returns its reference (1 + offset). Takes the lock.
std::uint64_t park(Region& r, const void* data, std::size_t len);
// Reads a parked value into sink and frees its space.
void unpark(Region& r, std::uint64_t ref, std::size_t len, Sink sink);
void drop_parked(Region& r, std::uint64_t ref, std::size_t len) noexcept;

enum class PullEnd { ok, sender_died };
// Copies the large value described by ref (the sender's slot is in kPulling) into sink. The
// caller holds a slot of its own, the sender's proof that the puller lives.
PullEnd pull_large(Region& r, const ValueRef& ref, std::size_t len, Sink sink);

// How a wait on one's own slot ended. retry: a select declined our proposal, or the select we
// proposed to died; nothing was transferred, try the operation again.
enum class End { ok, closed, timeout, peer_died, retry };

// The sender's wait on its own slot `me`: queued (kWaiting), offering a large value or
// proposing to a select (kPulling, kSpillReq, kSpillReady). Releases the slot before returning.
// peer_died: the receiver pulling our value died (not delivered). Never drops a parked value:
// the caller still owns it unless the result is ok. *peer (if not null) gets the
// receiver's pid when the receiver recorded it (tracing).
End wait_sender(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                pid_t* peer = nullptr);

// The receiver's wait on its own slot `me`: queued (kWaiting) or proposing to a select
// (kProposed). Delivers the value into sink; *peer (if not null) gets the sender's pid when known.
End wait_receiver(Region& r, std::uint32_t me, Deadline d, Sink sink, pid_t* peer);

// Answers proposer slot p with state st (kDone, kDeclined, kLargeOffer), if p still holds
// ticket and waits for an answer. Lock held. False if the proposer is gone.
bool answer_locked(Region& r, std::uint32_t p, std::uint32_t ticket, std::uint32_t st);

}  // namespace ceramic::detail
