// ceramic — a string channel's value file: where long values are parked (ValueRef::spill,
// RingEntry::spill: 1 + an offset past the region). The offsets are handed out under the
// channel lock (park, values.hpp); writing, reading and punching out a parked value need no lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "region.hpp"

namespace ceramic::detail {

// Every std::string channel keeps a value file (a memfd, or the named channel's shm object):
// long values are parked at an offset the channel hands out (ValueRef::spill = 1 + offset) and
// the receiver punches the hole it read. The kernel frees whatever is left with the channel,
// however its processes end.
void park_write(int fd, std::uint64_t file_off, const void* data, std::size_t len);  // throws
bool park_read(int fd, std::uint64_t file_off, std::size_t len, void* dst) noexcept;
void park_release(int fd, std::uint64_t file_off, std::size_t len) noexcept;
inline constexpr std::uint64_t kParkAlign = 4096;

// The highest offset a parked value may have in the value file (2^60).
inline constexpr std::uint64_t kMaxParkOffset = std::uint64_t{1} << 60;
// The file offset of the parked value `ref` (1 + offset), checked (ChannelError if a peer
// wrote a reference out of range).
std::uint64_t parked_offset(Region& r, std::uint64_t ref, std::size_t len);
// Punches out the parked value `ref` (nothing for 0, or a corrupt reference).
void drop_parked(Region& r, std::uint64_t ref, std::size_t len) noexcept;

}  // namespace ceramic::detail
