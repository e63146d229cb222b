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

// The sender's wait on its own slot `me`: queued (kWaiting), or offering a large value
// (kPulling, kSpillReq, kSpillReady). Releases the slot before returning. Returns peer_died if
// the receiver pulling our value died (the value was not delivered; `send` retries).
Status wait_sender(Region& r, std::uint32_t me, Deadline d, const void* data, std::size_t len,
                   std::uint64_t spill);

}  // namespace ceramic::detail
