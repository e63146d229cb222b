// ceramic — moving values too long for a slot: a single-copy pull from the sender's memory, and
// spill objects (a value parked in its own shared-memory object) for buffered channels and for
// receivers that may not read the sender's memory.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace ceramic::detail {

enum class PullResult { ok, no_permission, source_gone };

// Copies len bytes at addr in process pid into dst: memcpy within this process,
// process_vm_readv across processes (one copy, no staging).
PullResult pull_value(pid_t pid, std::uint64_t addr, std::size_t len, void* dst) noexcept;

// The value file of a buffered std::string channel: long values are parked at an offset the
// channel hands out (ValueRef::spill = 1 + offset) and the receiver punches the hole it read.
void park_write(int fd, std::uint64_t file_off, const void* data, std::size_t len);  // throws
bool park_read(int fd, std::uint64_t file_off, std::size_t len, void* dst) noexcept;
void park_release(int fd, std::uint64_t file_off, std::size_t len) noexcept;
inline constexpr std::uint64_t kParkAlign = 4096;

// Spill objects (unbuffered channels whose receiver may not read the sender's memory) are named "/ceramic-spill.<channel id>.<seq>" and unlinked by their reader.
std::string spill_name(std::uint64_t channel_id, std::uint64_t seq);
// Writes a spill object; throws ChannelError if it cannot (e.g. /dev/shm full).
void spill_write(const std::string& name, const void* data, std::size_t len);
// Reads a spill object of exactly len bytes into dst and unlinks it. False if it is missing or
// has another size (the sender died while writing it, or the region is corrupt).
bool spill_read(const std::string& name, std::size_t len, void* dst) noexcept;
void spill_discard(const std::string& name) noexcept;

}  // namespace ceramic::detail
