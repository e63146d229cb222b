// ceramic — the one hook through which tools observe the core.
//
// The core calls an installed observer at each blocking point of every operation: block and
// wake, rendezvous (with whom), close, timeout, spawn, exit and join. The tracer, the detector's
// live watchdog and the simulator plug in here; the core knows nothing about them.
//
// Cost when nothing is installed: one relaxed atomic load and a predicted branch per event.
// The observer is called on the thread doing the operation, outside any channel lock, and must
// not call back into the same channel. It must be async-signal-safe-ish: it may run in a child
// just after fork().
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "ceramic/site.hpp"

namespace ceramic::hooks {

enum class Event : std::uint8_t {
  channel_created,  // a handle to a new channel: channel, value = capacity, name if named
  channel_opened,   // a handle to an existing named channel: channel, name
  channel_released, // this process's handle to channel is gone
  block,            // op on channel is about to wait; deadline = whether it has one
  unblock,          // the wait ended (value = Status as int)
  rendezvous,       // op on channel completed with peer (pid of the other side, 0 if buffered)
  close,            // channel about to be closed: recorded before any waiter can be released
                    // by it (two racing closers may both record one)
  timeout,          // op on channel gave up at its deadline
  spawn,            // peer = child pid, name = child's name (in the parent)
  start,            // (in a new child, first thing) peer = parent pid, name = its name
  exit,             // this process is exiting, value = exit code (in the child)
  join_begin,       // waiting for child peer
  join_end,         // child peer reaped, value = exit code
  kill,             // the program chose to end child peer (Proc::kill): intent, never a leak
};

// select: one block record per channel case (value: 1 send case, 0 receive case), then one
// rendezvous (or timeout) record for the case that fired.
enum class Op : std::uint8_t { none, send, recv, close, join, select };

struct Record {
  Event event;
  Op op = Op::none;
  bool has_deadline = false;
  std::uint64_t channel = 0;
  pid_t peer = 0;
  std::int64_t value = 0;
  const char* name = nullptr;
  Site site{};
};

class Observer {
 public:
  virtual void on_event(const Record&) noexcept = 0;

 protected:
  ~Observer() = default;
};

// Installs (or, with nullptr, removes) the process-wide observer; returns the previous one.
// Inherited by forked children, as all memory is.
Observer* install(Observer*) noexcept;

}  // namespace ceramic::hooks
