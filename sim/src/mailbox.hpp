// ceramic::sim — the shared memory between the explorer and the processes of a simulated tree.
//
// One MAP_SHARED anonymous region, made by the explorer before it forks the tree's root and
// inherited by every process of the tree. It is a set of mailboxes, one per task (process):
// a task writes its pending operation into its own mailbox and parks; the explorer reads it,
// decides, writes the reply and releases the task. The model of the channels (buffers, closed
// flags, who holds what) lives only in the explorer's own memory.
//
// Threat model: the simulated program is the user's code under test, and may scribble on this
// region. The explorer copies every field it reads to a local and checks it (indices, lengths,
// counts) before use; nonsense ends the schedule as a failure, never a crash of the explorer.
//
// Who writes what, and the handshake (Box::state is the futex word):
//
//   task:     fill request, nlog, log[]         state: kRunning -> kParked (seq_cst)
//             header.epoch += 1 (seq_cst); if header.sleeping: write(header.eventfd)
//             wait while state == kParked (spin, then futex with Box::sleeping)
//   explorer: read request (acquire: pairs with the kParked store), fill reply
//             state: kParked -> kReleased (seq_cst); if Box::sleeping: futex_wake
//   task:     read reply (acquire: pairs with kReleased), state = kRunning
//
// A schedule's root starts before all this: it waits (futex) for Header::start_gen to move, then
// takes box 0 as its own.
//
// The exit is the one exception: the task reads exit_gen, parks, and waits for exit_gen to move
// (the explorer increments it, seq_cst, and wakes every waiter); it then leaves without writing
// to the box again.
//
// Both "sleeping" flags and the words they guard are seq_cst on both sides (Dekker): either
// the waker sees the flag, or the sleeper sees the new state before it sleeps (futex_wait
// re-checks the word; poll() sees the eventfd counter).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace ceramic::sim::detail {

inline constexpr std::uint32_t kMagic = 0x4d495343;  // "CSIM"
inline constexpr std::uint32_t kVersion = 2;
inline constexpr std::size_t kMaxCases = 64;         // as core's select
inline constexpr std::size_t kLogEntries = 16;
inline constexpr std::size_t kFileBytes = 120;
inline constexpr std::size_t kTextBytes = 1024;

enum class OpKind : std::uint8_t {
  none,
  send,      // cases[0], value in the box's value area
  recv,      // cases[0]
  select,    // cases[0..ncases)
  close,     // channel
  closed,    // closed() query on channel
  named,     // before creating or opening a named channel
  spawn,     // text: the child's name
  exit,      // code; text: why (uncaught exception), if any
  join,      // target pid, timeout_ns
  running,   // target pid
  kill,      // target pid, code = signal
  discard,   // target pid: its Proc is destroyed (ended if still running)
  sync,      // nothing: the channel log was full
  thread,    // a second thread tried an operation (misuse; never released)
};

// inert: a select's timeout case that cannot fire (a shorter one exists); never chosen.
enum class CaseKind : std::uint8_t { recv, send, fallback, timeout, inert };

struct CaseRec {
  std::uint64_t channel;
  std::uint64_t capacity;   // the channel's real capacity (for channels the log has not shown)
  std::uint32_t value_off;  // send: the value's bytes in the value area
  std::uint32_t value_len;
  std::int64_t timeout_ns;  // timeout case
  CaseKind kind;
  std::uint8_t fixed_size;  // the channel carries fixed-size values (not strings)
  std::uint8_t pad[6];
};

enum class LogKind : std::uint8_t { created, opened, released };

struct LogRec {
  std::uint64_t channel;
  std::uint64_t capacity;
  std::int32_t line;
  LogKind kind;
  char file[kFileBytes];
  char name[64];  // a named channel's name
};

enum : std::uint32_t { kIdle = 0, kRunning = 1, kParked = 2, kReleased = 3 };

struct alignas(64) Box {
  std::atomic<std::uint32_t> state;     // the handshake above
  std::atomic<std::uint32_t> sleeping;  // the task sleeps in futex_wait(state)
  std::atomic<std::int32_t> pid;        // written by the parent after fork and by the task
  std::int32_t tid;                     // the task's only scheduled thread
  // The exit's release. An exiting task waits for this to change from the value it read before
  // it parked, never for `state`: the box is reset and reused by the next schedule (or task)
  // while a released exiting process may not have looked yet, and a state word would come back
  // round to the value it waits for. Only ever incremented (by the explorer), never reset.
  std::atomic<std::uint32_t> exit_gen;

  // ---- request: written by the task before kParked ----
  OpKind op;
  std::uint8_t pad0[3];
  std::uint32_t ncases;
  std::int32_t code;          // exit code, signal
  std::int32_t target;        // join/running/kill: child pid
  std::int64_t timeout_ns;    // join_for (< 0: none)
  std::uint64_t channel;      // close, closed
  std::int32_t line;
  char file[kFileBytes];
  char text[kTextBytes];
  CaseRec cases[kMaxCases];
  std::uint32_t nlog;
  LogRec log[kLogEntries];

  // ---- reply: written by the explorer before kReleased ----
  std::uint32_t fired;        // the case that completed
  std::uint8_t status;        // ceramic::Status
  std::uint8_t answer;        // closed/running/join: the boolean answer
  std::uint8_t pad1[2];
  std::int32_t exit_code;     // join, running: the child's exit code (128 + signal if killed)
  std::int32_t child_task;    // spawn: the new task's index
  std::uint32_t value_len;    // recv: the value's bytes at the start of the value area
};

struct alignas(64) Header {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t max_tasks;
  std::uint32_t pad;
  std::uint64_t value_bytes;              // per task
  std::int32_t eventfd;                   // the explorer polls it
  std::int32_t output_fd;                 // the schedule's captured stdout and stderr
  alignas(64) std::atomic<std::uint32_t> epoch;     // bumped by every park
  std::atomic<std::uint32_t> sleeping;              // the explorer sleeps in poll()
  // The start of a schedule. The next schedule's root is forked ahead (a standby: run.cpp) and
  // waits for this to move from the value it was forked with, reading nothing else in the
  // region but output_fd (fixed for the region's life) until then. Only ever incremented by the
  // explorer (seq_cst), with a futex_wake.
  alignas(64) std::atomic<std::uint32_t> start_gen;
  // A failure reported by a process that then exits (sim::check, a second thread): the first
  // claims it (0 -> 1), fills it, then publishes 2 (release; the explorer acquires).
  alignas(64) std::atomic<std::uint32_t> fail_state;
  std::int32_t fail_task;
  std::int32_t fail_line;
  std::uint8_t fail_kind;  // Failure
  char fail_file[kFileBytes];
  char fail_text[kTextBytes];
};

static_assert(std::is_trivially_destructible_v<Box> && std::is_trivially_destructible_v<Header>);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// The region: Header, then max_tasks Boxes, then max_tasks value areas of value_bytes each.
struct Layout {
  std::size_t max_tasks = 0;
  std::size_t value_bytes = 0;
  std::size_t boxes_off() const { return (sizeof(Header) + 4095) & ~std::size_t{4095}; }
  std::size_t values_off() const {
    return (boxes_off() + max_tasks * sizeof(Box) + 4095) & ~std::size_t{4095};
  }
  std::size_t size() const { return values_off() + max_tasks * value_bytes; }
};

// Copies a NUL-terminated string into a fixed field, keeping its end (file paths are told apart
// by their last components) and always terminating.
inline void copy_text(char* dst, std::size_t cap, const char* src) noexcept {
  if (!src) src = "";
  std::size_t n = 0;
  while (src[n]) ++n;
  const char* from = n < cap ? src : src + (n - (cap - 1));
  std::size_t len = n < cap ? n : cap - 1;
  for (std::size_t i = 0; i < len; ++i) dst[i] = from[i];
  dst[len] = '\0';
}

}  // namespace ceramic::sim::detail
