// ceramic — moving values between the two sides of an operation: length checks, values parked
// in a string channel's value file, and the large-value pull (the receiver copies the sender's
// value, or has it parked, while the sender waits in kPulling; "LARGE VALUES" in layout.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ceramic/detail/channel.hpp"
#include "layout.hpp"
#include "region.hpp"
#include "slots.hpp"

namespace ceramic::detail {

// A length read from shared memory, checked against the channel's type, its max_value_bytes
// (the private copy in Geometry) and, unless may_be_large, the slot size: what is wrong with
// it, or nullptr. checked_len throws ChannelError (corrupt) instead.
const char* len_problem(std::uint64_t len, const Geometry& g, bool may_be_large) noexcept;
std::uint64_t checked_len(std::uint64_t len, const Geometry& g, bool may_be_large);
// The sink's memory for exactly len bytes. Throws ChannelError, and nothing else, if the type
// cannot hold them or there is no memory for them (len has been checked: checked_len).
void* prepare(Sink sink, std::size_t len);
// Parks a long value in the value file; returns its reference (1 + offset). Takes the lock.
// owner: a slot of the caller's that then owns the parked value (its ValueRef::spill is set
// before the bytes are written), or kNone.
std::uint64_t park(Region& r, const void* data, std::size_t len, std::uint32_t owner = kNone);
// Reads a parked value into sink (into dst) and frees its space. unpark_into: false if the
// file does not hold len bytes there.
void unpark(Region& r, std::uint64_t ref, std::size_t len, Sink sink);
bool unpark_into(Region& r, std::uint64_t ref, std::size_t len, void* dst);
// The highest offset a parked value may have in the value file (2^60).
inline constexpr std::uint64_t kMaxParkOffset = std::uint64_t{1} << 60;
void drop_parked(Region& r, std::uint64_t ref, std::size_t len) noexcept;
// A receiver about to read a parked value outside the lock first reserves a transfer slot of
// its own (reserve_locked, Pool::transfer) and, once the value is its own (the ring position or
// the sender's kDone has been stored), records the value in it: kRecvKind, kReserved, len,
// ValueRef::spill. If it dies while reading, whoever reclaims the slot frees the value
// (reclaim_locked). Recorded any earlier, a death under the lock would have repair_locked free
// a value the ring or the sender still owns; recorded after, a death between the two stores
// leaks the value until the channel goes, and never frees one in use. Lock held.
void hold_parked_locked(Region& r, std::uint32_t holder, std::uint64_t ref,
                        std::size_t len) noexcept;
// Reads the parked value that our slot `holder` owns into sink, frees its space, and releases
// the slot (also when it throws).
void unpark_held(Region& r, std::uint32_t holder, std::uint64_t ref, std::size_t len, Sink sink);

// How long past its deadline a timed operation waits for a partner that holds it (a lock
// holder, a partner mid-transfer) before it gives up. The lock is held for microseconds and a
// copy takes milliseconds; a second means the partner is stopped, or the lock word was
// written by a peer (layout.hpp, THREAT MODEL).
inline constexpr std::int64_t kWithdrawGrace = 1'000'000'000;
// The deadline plus the grace (kNoDeadline stays).
inline Deadline with_grace(Deadline d) noexcept {
  return d > kNoDeadline - kWithdrawGrace ? kNoDeadline : d + kWithdrawGrace;
}

// gave_up: give_up passed (the sender stopped before parking its value, or the lock was not
// had): nothing was received, and the caller frees its own slot, which tells the sender.
enum class PullEnd { ok, sender_died, gave_up };
// Copies the large value described by ref (the sender's slot is in kPulling) into sink. The
// caller holds a slot of its own, the sender's proof that the puller lives. Trusts nothing in
// ref but as a key: see "LARGE VALUES" in layout.hpp. sender_died: nothing was received (the
// sink is emptied: no byte read from a dead sender's pid or a forged address is kept).
// give_up (a timed receiver: its deadline plus kWithdrawGrace) bounds every wait and lock of
// the pull; kNoDeadline: none.
PullEnd pull_large(Region& r, const ValueRef& ref, std::size_t len, Sink sink,
                   Deadline give_up = kNoDeadline);

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
// Bound (d != kNoDeadline): queued, as wait_sender; pulling a long value, d + kWithdrawGrace
// (pull_large). Not bounded: the wait for a select's answer to our proposal (kProposed).
End wait_receiver(Region& r, std::uint32_t me, Deadline d, Sink sink, pid_t* peer);

// Answers proposer slot p with state st (kDone, kDeclined, kLargeOffer), if p still holds
// ticket and waits for an answer. Lock held. False if the proposer is gone.
bool answer_locked(Region& r, std::uint32_t p, std::uint32_t ticket, std::uint32_t st);

}  // namespace ceramic::detail
