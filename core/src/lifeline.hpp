// ceramic — a child's lifeline to its parent process: a child dies with the process that made
// it, whichever of the parent's threads made it and whenever that thread ends.
//
// PR_SET_PDEATHSIG is the obvious tool and the wrong one: it fires when the *thread* that forked
// ends, so a Proc started from a worker thread would die with that thread; and it is armed after
// the fork, so a parent that dies in between is missed unless the child checks getppid(), which
// names the process, not the thread.
//
// Instead, each Proc has a pipe. The parent process keeps the write end; the child keeps the
// read end, owns it for asynchronous I/O and sets SIGKILL as its signal. When the last write end
// closes (the parent process exits or dies, or its Proc lets the child go), the kernel signals
// the read end's owner: the child gets SIGKILL. Invariants:
//
//  - every write end the process holds is in one registry; a forked child closes all of them
//    (its parent's other children must not keep each other alive), so only the parent process
//    holds a child's write end;
//  - the registry's lock is held across the fork, so the child sees a consistent list;
//  - the child arms first, then polls the read end: a parent that died before the arming shows
//    as a hung-up pipe (POLLHUP), one that dies after it sends the signal. No window.
//
// A process that forks by hand (not through Proc) keeps copies of the write ends until it
// exits; its siblings then live as long as it does. The read end survives exec (the lifeline
// holds across it, like the death signal it replaces); the write ends never do.
#pragma once

#include <sys/types.h>

namespace ceramic::detail {

// A lifeline being made around one fork. Construct it, fork, then call exactly one of
// in_child() (in the child, before anything else) or in_parent() (in the parent).
class Lifeline {
 public:
  Lifeline();  // makes the pipe and takes the registry's lock; throws std::system_error
  ~Lifeline();
  Lifeline(const Lifeline&) = delete;
  Lifeline& operator=(const Lifeline&) = delete;

  // In the child: closes every write end the parent held, arms the read end and exits with
  // 128 + SIGKILL when the parent process is already gone.
  void in_child() noexcept;
  // In the parent: registers the write end and returns it (the Proc keeps it and hands it to
  // release() once the child is reaped). fork_failed: the pipe is closed and -1 returned.
  int in_parent(bool fork_failed) noexcept;

 private:
  int read_end_ = -1;
  int write_end_ = -1;
  bool locked_ = false;
};

// Closes a write end the parent holds and drops it from the registry. Closing the last write
// end of a child that still runs kills it: call this only once the child is gone (or must go).
void release_lifeline(int write_end) noexcept;

}  // namespace ceramic::detail
