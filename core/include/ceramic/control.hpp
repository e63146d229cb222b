// ceramic — the interface through which a controller takes over the core's scheduling.
//
// hooks.hpp lets tools *watch* the core; this header lets one tool *drive* it. When a
// Controller is installed, every channel operation, select, closed() query, named-channel
// creation or opening, and every Proc spawn, exit, join, liveness query and kill is handed to
// the controller instead of running the shared-memory protocol. The simulator (sim/) installs
// one in each process of the tree it runs, parks each operation at a scheduling point and lets
// its own model of the channels decide what completes when; the core knows nothing about it.
//
// The seam has its own small types (below): a controller never sees the core's channel
// objects, only what identifies a channel and what an operation carries.
//
// Contract:
//   - install() is process-wide and inherited by fork(), like all memory. A controller installed
//     in a process governs every operation of every thread of that process; it may refuse
//     threads it cannot schedule (by throwing from the operation).
//   - Arguments are checked by the core before a controller sees them, with the same errors
//     either way: a controller is never handed a value of the wrong size, a select with more
//     than kMaxChannelCases channel cases or two defaults. A select's timeout cases are reduced
//     to the one that can fire (the shortest; Select::timeout).
//   - Durations are passed as given by the caller (timeout_ns < 0: no timeout; 0: try once
//     without blocking), never as wall-clock deadlines, so that a controller can run them on a
//     clock of its own.
//   - A controller's operation has exactly the semantics of the core's (chan.hpp, select.hpp,
//     proc.hpp): Status values, ChannelClosed from sends, std::nullopt-on-closed receives. A
//     controller may throw an exception of status.hpp's ChannelError family when it cannot
//     continue; the core propagates it.
//   - Channels are still created for real (their shared memory exists); the controller is told
//     about each handle a process makes, opens or lets go of, so that it can name channels
//     deterministically and know which processes hold which channel.
//
// Cost when nothing is installed: one relaxed atomic load and a predicted branch per operation.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ceramic/site.hpp"
#include "ceramic/status.hpp"

namespace ceramic::control {

// The most channel cases one select may have (the core's limit; checked before a controller).
inline constexpr std::size_t kMaxChannelCases = 64;

// A channel as a controller sees it. Valid for the duration of the call.
struct ChannelRef {
  std::uint64_t id = 0;        // the same in every handle and process: the channel's identity
  std::size_t capacity = 0;    // 0: unbuffered
  std::string_view name;       // a named channel's name; empty for anonymous channels
};

// Where a received value goes: prepare(ctx, len) returns room for exactly len bytes, or
// nullptr when a value of that length does not fit the receiving type.
struct Receiver {
  void* (*prepare)(void* ctx, std::size_t len) = nullptr;
  void* ctx = nullptr;
};

// One case of a select.
struct Case {
  enum class Kind : std::uint8_t { recv, send, fallback, timeout };
  Kind kind = Kind::recv;
  ChannelRef channel;          // recv, send
  const void* data = nullptr;  // send: the value's bytes
  std::size_t len = 0;
  Receiver into;               // recv: where the value goes
  std::int64_t timeout_ns = 0; // timeout: the duration, >= 0
};

// A checked select: cases in argument order; at most one default (fallback, or -1); timeout:
// the one timeout case that can fire, or -1 (other timeout cases never fire).
struct Select {
  const Case* cases = nullptr;
  std::size_t n = 0;
  int fallback = -1;
  int timeout = -1;
};

enum class Handle : std::uint8_t { created, opened, released };

class Controller {
 public:
  // ---- channels (called by the process doing the operation) ----
  // A handle to channel ch was created or opened in this process (not a scheduling point; the
  // creation site is ch's), or this process's handle went away (possibly at exit).
  virtual void handle(Handle, const ChannelRef& ch, Site) noexcept = 0;
  // A scheduling point before a named channel is created or opened (the names live outside the
  // controller's model, so their order must be decided).
  virtual void named(Site) = 0;
  virtual Status send(const ChannelRef&, const void* data, std::size_t len, std::int64_t timeout_ns,
                      Site) = 0;
  virtual Status recv(const ChannelRef&, Receiver, std::int64_t timeout_ns, Site) = 0;
  virtual void close(const ChannelRef&, Site) = 0;
  virtual bool closed(const ChannelRef&) = 0;
  // As select.hpp's select: returns the index of the case that completed; *closed tells a
  // receive case that completed because its channel is closed. A send case on a closed channel
  // throws ChannelClosed.
  virtual std::size_t select(const Select&, bool* closed, Site) = 0;

  // ---- processes ----
  // In the parent, before fork(): a scheduling point.
  virtual void spawn(const std::string& name, Site) = 0;
  // In the parent, just after fork() (child is its pid), and in the child, first thing.
  virtual void spawned(pid_t child) noexcept = 0;
  virtual void started(const std::string& name) noexcept = 0;
  // In the child, last thing before _exit(code): a scheduling point. why: the uncaught
  // exception's message when code is non-zero because the body threw, else nullptr.
  virtual void exiting(int code, const char* why) noexcept = 0;
  // join/join_for: child's exit code (or 128 + signal) once it has exited; std::nullopt when
  // timeout_ns (>= 0) passed first. The controller reaps its processes itself: Proc does not
  // wait for a child whose exit code came from the controller (waiting for a process to be
  // torn down would put the kernel's exit work on every join's critical path).
  virtual std::optional<int> join(pid_t child, std::int64_t timeout_ns, Site) = 0;
  // Proc::running(): whether child has not exited yet; if it has, its exit code.
  virtual bool running(pid_t child, int* code) = 0;
  // Proc::kill(sig) and a Proc destroyed while its child runs: ends child. A controller has no
  // clock for grace periods and must keep runs deterministic, so it ends the child at once.
  virtual void kill(pid_t child, int sig) = 0;
  // A Proc is destroyed (or assigned over) before its child was joined: the child is ended if
  // it still runs, and reaped. One scheduling point instead of the running(), kill and join
  // that the destructor does without a controller; a controller tells this ending apart from
  // an explicit kill (a child left blocked forever here is a leak).
  virtual void discard(pid_t child) noexcept = 0;

 protected:
  ~Controller() = default;
};

// Installs (or, with nullptr, removes) the process-wide controller; returns the previous one.
Controller* install(Controller*) noexcept;
// The installed controller, or nullptr.
Controller* active() noexcept;

}  // namespace ceramic::control
