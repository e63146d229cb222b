// ceramic — the trace file: the shared memory every process of a traced program writes into.
//
// `ceramic-run` (or anyone) sets CERAMIC_TRACE=<file>; each process linked against ceramic
// maps that file MAP_SHARED when it starts (children inherit the mapping across fork) and
// records what it does. The file survives a crash: `ceramic-trace` and the detector read it
// live or after the fact. This header is the whole contract between the writer (core) and the
// readers (detector, ceramic-trace): they read this format and nothing else.
//
// THREAT MODEL. Writers are the traced program's processes: any of them may die at any
// instruction, and a buggy one may scribble anywhere. Readers copy what they read, validate
// every index, count and string offset against the header's geometry, and treat the rest as
// data. A corrupt, truncated or foreign file is an error message, never a crash.
//
// LAYOUT (all offsets from the start of the file, each section 64-byte aligned)
//   [FileHeader][ThreadEntry x max_threads][ChannelEntry x max_channels]
//   [Event x ring_capacity][string bytes x string_bytes]
//
// WHO WRITES WHAT
//   FileHeader      the creator, before publishing magic (release); afterwards only the atomic
//                   allocation counters, by fetch_add.
//   ThreadEntry     one per thread that ever used ceramic, claimed by fetch_add on
//                   threads_used, then written only by that thread (a seqlock: `seq` is odd
//                   while the entry changes; readers retry or use the last even copy).
//   ChannelEntry    claimed by the creating process (fetch_add on channels_used), immutable
//                   after `id` is published (release); holders[] slots are claimed and freed by
//                   CAS (0 <-> pid) by each process that holds a handle.
//   Event           claimed by fetch_add on ring_head (a sequence number); written, then
//                   published by storing that sequence into Event::seq (release). A reader
//                   takes an event only if its seq is the one it expects.
//   strings         bump-allocated (fetch_add on strings_used), written before the offset is
//                   published; NUL-terminated; offset 0 is the empty string.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ceramic::trace {

inline constexpr std::uint64_t kMagic = 0x4543415254524543ull;  // "CERTRACE" in memory
inline constexpr std::uint32_t kVersion = 1;
inline constexpr const char* kEnvVar = "CERAMIC_TRACE";

inline constexpr std::uint32_t kMaxWaits = 8;     // channels of one blocked operation
inline constexpr std::uint32_t kMaxHolders = 24;  // processes listed per channel
inline constexpr std::uint32_t kMaxFormer = 5;    // former holders remembered per channel

// exited: the process exited (recorded on its thread); finished: this thread ended, its
// process may live on.
enum class ThreadState : std::uint32_t { running = 0, blocked = 1, exited = 2, finished = 3 };

// What a blocked thread waits for (ThreadEntry::op).
enum class WaitOp : std::uint8_t { none = 0, send = 1, recv = 2, select = 3, join = 4 };

enum class EventKind : std::uint8_t {
  spawn = 1,       // peer: the child's pid
  start = 2,       // a process started (value: parent pid)
  exit = 3,        // value: exit code
  block = 4,       // op on channel (select: one event per case)
  unblock = 5,     // value: ceramic::Status
  rendezvous = 6,  // op on channel met peer (0: a buffer)
  close = 7,
  timeout = 8,
  join_begin = 9,  // peer: the child
  join_end = 10,   // peer: the child, value: its exit code
  channel = 11,    // a channel was created (value: capacity)
  kill = 12,       // peer: a child the program ended on purpose (Proc::kill), value: signal
};

struct FileHeader {
  std::atomic<std::uint64_t> magic;  // published last by the creator (release)
  std::uint32_t version;
  std::uint32_t header_bytes;
  std::uint32_t max_threads;
  std::uint32_t max_channels;
  std::uint32_t ring_capacity;  // events; a power of two
  std::uint32_t string_bytes;
  std::uint64_t threads_off;
  std::uint64_t channels_off;
  std::uint64_t ring_off;
  std::uint64_t strings_off;
  std::uint64_t file_bytes;
  std::int64_t created_mono_ns;  // CLOCK_MONOTONIC at creation: the zero of every timestamp
  std::int64_t created_real_ns;  // CLOCK_REALTIME at the same moment
  std::int32_t root_pid;         // the process that created the file
  std::uint32_t pad0;
  alignas(64) std::atomic<std::uint32_t> threads_used;
  std::atomic<std::uint32_t> channels_used;
  std::atomic<std::uint32_t> strings_used;
  std::atomic<std::uint32_t> dropped_threads;   // threads that found the table full
  std::atomic<std::uint32_t> dropped_channels;  // channels that found the table full
  std::atomic<std::uint32_t> dropped_strings;
  alignas(64) std::atomic<std::uint64_t> ring_head;  // next event sequence number (from 1)
};

// One thread of a traced process: a node of the wait-for graph.
struct alignas(64) ThreadEntry {
  std::atomic<std::uint32_t> seq;  // seqlock; also moves whenever the thread makes progress
  std::int32_t pid;
  std::int32_t tid;
  std::int32_t ppid;
  std::uint32_t name;         // string offset: the Proc's name ("" for the root)
  std::uint32_t state;        // ThreadState
  std::uint8_t op;            // WaitOp while blocked
  std::uint8_t has_deadline;  // a wait with a deadline is never a deadlock
  std::uint8_t n_waits;       // channels in waits[] (select: one per case)
  std::uint8_t pad;
  std::int32_t join_pid;      // op == join: the child
  std::uint64_t waits[kMaxWaits];
  std::uint8_t wait_ops[kMaxWaits];  // WaitOp::send / recv per channel
  std::uint32_t file;         // string offset: source file of the blocking call
  std::int32_t line;
  std::int64_t since_ns;      // when it blocked (relative to created_mono_ns)
  std::int32_t exit_code;     // state == exited
  std::int32_t last_peer;     // the last rendezvous: with whom, on which channel, where
  std::uint64_t last_channel;
  std::uint32_t last_file;
  std::int32_t last_line;
  std::uint64_t ops;          // operations completed
};

struct alignas(64) ChannelEntry {
  std::atomic<std::uint64_t> id;  // 0 until published
  std::uint32_t capacity;
  std::int32_t creator_pid;
  std::uint32_t file;             // string offset: where it was created
  std::int32_t line;
  std::uint32_t name;             // string offset: a named channel's name
  std::atomic<std::uint32_t> closed;
  std::atomic<std::uint32_t> overflow;  // more holders than holders[] can list
  std::atomic<std::int32_t> holders[kMaxHolders];  // pids holding a handle; 0 = free
  // The last processes that let go of the channel (exited, or dropped their handle): a
  // report names them as the peers that could have answered and why they cannot any more.
  std::atomic<std::uint32_t> former_next;
  std::atomic<std::int32_t> former[kMaxFormer];
};

struct alignas(32) Event {
  std::atomic<std::uint64_t> seq;  // the event's sequence number once written (release)
  std::int64_t t_ns;               // relative to created_mono_ns
  std::int32_t pid;
  std::int32_t tid;
  std::int32_t peer;
  std::uint8_t kind;               // EventKind
  std::uint8_t op;                 // WaitOp
  std::uint16_t pad;
  std::uint64_t channel;
  std::int64_t value;
  std::uint32_t file;              // string offset
  std::int32_t line;
};

static_assert(sizeof(Event) == 64);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// Geometry of a file with the given capacities (used by the writer, checked by readers).
struct Geometry {
  std::uint64_t threads_off, channels_off, ring_off, strings_off, file_bytes;
};
constexpr std::uint64_t align64(std::uint64_t v) { return (v + 63) / 64 * 64; }
constexpr Geometry geometry(std::uint32_t threads, std::uint32_t channels, std::uint32_t ring,
                            std::uint32_t strings) {
  Geometry g{};
  g.threads_off = align64(sizeof(FileHeader));
  g.channels_off = align64(g.threads_off + std::uint64_t{threads} * sizeof(ThreadEntry));
  g.ring_off = align64(g.channels_off + std::uint64_t{channels} * sizeof(ChannelEntry));
  g.strings_off = align64(g.ring_off + std::uint64_t{ring} * sizeof(Event));
  g.file_bytes = align64(g.strings_off + strings);
  return g;
}

// The largest trace file, in bytes, that the writer makes and readers accept (1 GiB; the
// default capacities make about 9 MiB). A header that declares a bigger layout is refused
// before anything beyond it is read.
inline constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 30;

struct Capacities {
  std::uint32_t threads = 4096;
  std::uint32_t channels = 16384;
  std::uint32_t events = 1u << 16;  // rounded up to a power of two
  std::uint32_t string_bytes = 1u << 20;
};

// Creates an initialised, empty trace file at path (O_EXCL, mode 0600). Throws
// std::system_error if it cannot (it exists, the disk is full, or the capacities make a file
// bigger than kMaxFileBytes: EFBIG, and nothing is created).
void create_file(const std::string& path, Capacities = {});

// Starts tracing this process (and the children it forks from now on) into path, creating the
// file if it does not exist: what CERAMIC_TRACE does when the library loads. Returns false,
// with the reason on stderr, if path is not a usable trace file. stop() uninstalls the tracer;
// its mapping stays, so a thread still in the middle of an event is safe.
bool start(const std::string& path);
void stop();

}  // namespace ceramic::trace
