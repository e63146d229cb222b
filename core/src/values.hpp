// ceramic — a value's way from sender to receiver: length checks, values parked in a string
// channel's value file, and the large-value pull (the receiver copies the sender's value, or
// has it parked, while the sender waits in kPulling; "LARGE VALUES" in layout.hpp). The
// sender's side of a pull is its waiter's state machine (waiters.hpp).
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
// Parks a long value in the value file; returns its reference (1 + offset). Takes the lock by
// lock_by, else returns 0 (nothing parked). owner: a slot of the caller's that then owns the
// parked value (its ValueRef::spill is set before the bytes are written), or kNone.
std::uint64_t park(Region& r, const void* data, std::size_t len, std::uint32_t owner = kNone,
                   Deadline lock_by = kNoDeadline);
// Reads a parked value into sink (into dst) and frees its space. unpark_into: false if the
// file does not hold len bytes there.
void unpark(Region& r, std::uint64_t ref, std::size_t len, Sink sink);
bool unpark_into(Region& r, std::uint64_t ref, std::size_t len, void* dst);
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

}  // namespace ceramic::detail
