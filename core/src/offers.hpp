// ceramic — a long value's offer as its sender registers it, and reading it from another
// process: what a peer cannot forge about it.
//
// A long value reaches its receiver in one of two ways (layout.hpp, "LARGE VALUES"):
//   - pulled: the receiver copies it out of the sender's memory while the sender waits:
//     process_vm_readv from another process, memcpy from the address the sender registered
//     here (OwnOffer) when both are threads of one process. Never memcpy from an address read
//     in shared memory: any process that maps the channel can write one there.
//   - parked: the sender writes it into the channel's value file, past the region, and the
//     receiver reads it and punches it out. Buffered channels park every long value; an
//     unbuffered sender parks its value when its receiver may not read its memory (Yama
//     ptrace_scope, other credentials) or does not find it registered here.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace ceramic::detail {

// not_offered: process pid holds no record of such an offer (a forged one, or a process that
// took the sender's pid).
enum class PullResult { ok, no_permission, source_gone, not_offered };

// Copies len bytes at addr in process pid into dst with process_vm_readv: one copy, and only
// memory that is really mapped in pid and that this process may read (no_permission: ptrace
// rules forbid it; source_gone: no such process, or no such memory).
PullResult read_remote(pid_t pid, std::uint64_t addr, std::size_t len, void* dst) noexcept;

// As read_remote, for a value that the sender in process pid offers from slot `slot` with
// `ticket` on channel `channel`: reads, in the same call, the sender's record of the offer at
// address `proof` in pid (OwnOffer::proof, published in the sender's slot), and succeeds only
// if the record names exactly this offer (not_offered otherwise; dst then holds nothing of
// use). pid, proof and addr come from shared memory: this makes sure they name a value that
// process really offers here, and the caller must still check afterwards that pid was the
// sender all along (complete_sender, values.cpp).
PullResult read_offer(pid_t pid, std::uint64_t proof, std::uint64_t channel, std::uint32_t slot,
                      std::uint32_t ticket, std::uint64_t addr, std::size_t len,
                      void* dst) noexcept;

// ---- this process's own offers ------------------------------------------------------------

// Registers, for as long as it lives, a long value this thread offers from its slot (channel
// id, slot, ticket), so that a receiver in the same process copies it from the registered
// address, and a receiver in another process can check that the offer is real (read_offer).
// A value of 4 MiB or more that this thread offers from the same address again and again, the
// offers not copied by a receiver in this process, has its whole 2 MiB stretches collapsed
// into huge pages by every third such offer's destructor (offers.cpp says why and what it
// costs: up to tens of milliseconds the first time, never under a lock). The value's bytes,
// and everything a receiver may check, stay as they are.
// Register an offer once (wait_sender does so only if its slot has no record yet). Does
// nothing if the registry is full: the receiver then asks for the value to be parked. The
// destructor waits until no receiver is copying from the value. Thread-safe; a forked child
// starts with an empty registry.
class OwnOffer {
 public:
  OwnOffer(std::uint64_t channel, std::uint32_t slot, std::uint32_t ticket, const void* data,
           std::size_t len) noexcept;
  ~OwnOffer();
  OwnOffer(const OwnOffer&) = delete;
  OwnOffer& operator=(const OwnOffer&) = delete;
  // Where this object's record is in this process (for ValueRef::proof), or 0 if it registered
  // nothing.
  std::uint64_t proof() const noexcept;

 private:
  int entry_ = -1;          // the registry entry this object owns, or -1
  std::uint64_t forks_ = 0;  // forks seen by the registry when entry_ was taken
};

// Copies the offer registered for (channel, slot, ticket) into dst if it is exactly len bytes
// long. False if there is none: the offer is not this process's (whatever the shared memory
// claims), or its sender has not registered it yet.
bool copy_own_offer(std::uint64_t channel, std::uint32_t slot, std::uint32_t ticket,
                    std::size_t len, void* dst) noexcept;

// ---- forcing the parked path (tests) ------------------------------------------------------

// True when receivers must never read a sender's memory and always ask for an unbuffered long
// value to be parked, as they must under Yama ptrace_scope >= 1: set by CERAMIC_FORCE_SPILL=1
// in the environment (read at the first call) or by force_spill(). Process-wide, inherited
// by fork. For testing that path on machines where reading is permitted.
bool spill_forced() noexcept;
void force_spill(bool on) noexcept;

}  // namespace ceramic::detail
