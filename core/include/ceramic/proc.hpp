// ceramic — Proc: run a function in a forked child process.
//
//   ceramic::Chan<int> c;
//   ceramic::Proc worker("worker", [&] { c.send(42); });
//   int v = *c.recv();
//   int code = worker.join();   // 0
//
// The child runs the body and exits: 0 when it returns, 1 with "ceramic: <name>: uncaught
// exception: <what()>" on stderr when it throws, or whatever code it passes to exit(). A child
// never outlives its parent by accident: it gets SIGKILL if the parent dies.
//
// Thread safety: a Proc object is not thread-safe; call its methods from one thread at a time.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "ceramic/site.hpp"

namespace ceramic {

class Proc {
 public:
  template <class F>
  explicit Proc(F&& body, Site site = Site::current())
      : Proc(std::string(), std::function<void()>(std::forward<F>(body)), site) {}
  template <class F>
  Proc(std::string name, F&& body, Site site = Site::current())
      : Proc(std::move(name), std::function<void()>(std::forward<F>(body)), site) {}
  Proc(std::string name, std::function<void()> body, Site site);

  Proc(Proc&&) noexcept;
  Proc& operator=(Proc&&) noexcept;  // kills and reaps the process this one held, if any
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  // Still running: SIGTERM, a short grace period (kill_grace()), then SIGKILL. Always reaps.
  ~Proc();

  pid_t pid() const noexcept { return pid_; }
  const std::string& name() const noexcept { return name_; }

  // Waits for the child and returns its exit code, or 128 + the signal that killed it.
  // Calling join again returns the same code.
  int join(Site site = Site::current());
  // As join, giving up after timeout; std::nullopt if the child is still running.
  std::optional<int> join_for(std::chrono::nanoseconds timeout, Site site = Site::current());
  // Sends a signal to the child (no-op once it has been reaped).
  void kill(int sig) noexcept;
  // True while the child has not been reaped and has not exited.
  bool running();

  static std::chrono::milliseconds kill_grace() noexcept { return std::chrono::milliseconds(200); }

 private:
  void reap_or_kill() noexcept;
  int reap(Site);               // waits for the child to exit and records its code
  int settle(int code) noexcept;  // records a code a controller reported (control.hpp)
  std::string name_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int lifeline_ = -1;  // the write end of the child's lifeline (core/src/lifeline.hpp)
  std::optional<int> status_;  // exit code once reaped
};

}  // namespace ceramic
