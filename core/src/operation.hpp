// ceramic — what Channel::send and Channel::recv share: the steps an operation tries under the
// channel lock, and the events it reports to the observer.
#pragma once

#include <sys/types.h>

#include <optional>

#include "ceramic/detail/channel.hpp"
#include "ceramic/hooks.hpp"
#include "ceramic/status.hpp"
#include "waiters.hpp"

namespace ceramic::detail {

// What one step of an operation did. not_here: it does not apply (the lock is still held, the
// next step is tried); again: the lock was dropped, start the operation over; done: the
// operation ended with st.
struct Step {
  enum Kind { not_here, again, done } kind;
  Status st = Status::ok;
  static Step finished(Status s) noexcept { return {done, s}; }
};

// After a wait on our own slot: the operation's result, or again (a declined proposal; a
// partner that died mid-transfer, when there is no deadline to report it to).
Step after_wait(Deadline d, End e) noexcept;

hooks::Record record(hooks::Event e, hooks::Op op, std::uint64_t ch, Site site) noexcept;

// The end of an operation, for the observer. A select's poll (d == 0) that finds nothing is
// not an event; closed and peer_died only end a wait if there was one.
void emit_outcome(Status st, hooks::Op op, std::uint64_t ch, Site site, pid_t peer, bool blocked,
                  Deadline d) noexcept;

// The operation is about to wait in its queue: the block event (once per operation).
void emit_block(hooks::Op op, std::uint64_t ch, Site site, Deadline d) noexcept;

}  // namespace ceramic::detail
