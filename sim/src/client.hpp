// ceramic::sim — the task side: the control::Controller installed in every process of a
// simulated tree. It turns each operation into a request in the process's mailbox, parks, and
// carries out the explorer's reply (mailbox.hpp has the handshake).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string_view>

#include "ceramic/sim/sim.hpp"
#include "ceramic/site.hpp"
#include "mailbox.hpp"

namespace ceramic::sim::detail {

// In the freshly forked root of a tree (a child of explorer): waits until header->start_gen
// moves from start_gen (the explorer starts the schedule), then becomes task 0, runs body and
// reports its exit. Never returns.
[[noreturn]] void run_root(Header* header, const Layout& layout, const std::function<void()>& body,
                           std::uint32_t start_gen, pid_t explorer) noexcept;

// Whether this process is a task of a simulated tree.
bool in_tree() noexcept;

// Reports a failure to the explorer and ends this process (the schedule is over).
[[noreturn]] void fail_now(Failure kind, std::string_view text, Site site) noexcept;

}  // namespace ceramic::sim::detail
