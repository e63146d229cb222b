// ceramic — waiting for a slot's state to change: adaptive spin, then a shared futex.
//
// Spinning is a bet that the partner is running on another core and answers within the
// budget. The budget adapts per thread: it grows after this thread woke a sleeper (its answer
// cannot come sooner than a wake-up later), and spinning stops altogether after a run of
// failed spins (partner asleep, or sharing our core, where spinning only delays it), with an
// occasional probe to notice when spinning pays again.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>

#include "ceramic/detail/channel.hpp"

namespace ceramic::detail {

// Who could end a wait by dying: a slot's owner word and the ticket the slot must still hold.
struct Partner {
  const std::atomic<std::uint64_t>* owner = nullptr;
  const std::uint32_t* ticket = nullptr;
  std::uint32_t expected_ticket = 0;
  bool none_is_alive = false;  // an owner word of 0 (no partner yet) counts as alive
  // Also gone if this says so (asked after each sleep slice, as the owner is), with `context`.
  bool (*given_up)(void* context) noexcept = nullptr;
  void* context = nullptr;
  bool alive() const noexcept;
};

enum class WaitEnd { changed, deadline, partner_died };

// Waits while (word & kStateMask) == state, until the deadline, or until partner (if given)
// dies. Futex sleeps are sliced (kWaitSliceNs) so that a dead partner, or a waker that died
// between publishing a state and waking us, is noticed.
// expected_ns: how long the partner is known to need (e.g. to copy a large value); the spin
// covers it unless this thread has learnt that spinning does not pay.
WaitEnd wait_state(std::atomic<std::uint32_t>& word, std::uint32_t state, Deadline deadline,
                   const Partner* partner = nullptr, std::int64_t expected_ns = 0) noexcept;

// Waits while every word is in `state`, until one changes or the deadline passes (a select's
// slots). Same spin, yield and sleep policy as wait_state.
WaitEnd wait_any_state(std::atomic<std::uint32_t>* const* words, std::size_t n,
                       std::uint32_t state, Deadline deadline) noexcept;

// Sets word to new_state and wakes its waiter if it announced it was going to sleep.
// Returns the previous state (without the sleeper bit).
std::uint32_t publish_state(std::atomic<std::uint32_t>& word, std::uint32_t new_state) noexcept;

// Wakes the waiter of word, whose sleeper bit the caller took out of it by its own CAS (the
// wake-up half of publish_state).
void wake_sleeper(std::atomic<std::uint32_t>& word) noexcept;

// Changes the state but keeps the sleeper bit and does not wake (intermediate states).
void move_state(std::atomic<std::uint32_t>& word, std::uint32_t new_state) noexcept;

// Whether this thread's recent waits were ended by a spin rather than a sleep: spinning for a
// partner pays (it runs on another core and answers soon).
bool spinning_pays() noexcept;

inline constexpr std::int64_t kWaitSliceNs = 50'000'000;

}  // namespace ceramic::detail
