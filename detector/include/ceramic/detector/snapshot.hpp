// ceramic detector — a validated, self-contained copy of a trace file's state.
//
// THE READER'S GUARANTEES. A trace file is untrusted input (trace_format.hpp, THREAT MODEL):
// any process of the traced program may scribble on it, die half-way through an update, or
// truncate it. Whatever the file holds, TraceFile either throws TraceError with a message that
// names the file and says what is wrong, or returns copies; it never crashes, hangs, reads out
// of bounds or allocates more than the file's declared layout calls for.
//
//   Opening (map, load, from_bytes) reads the header first, and nothing else until it is
//   valid: magic, version, capacities in range, section offsets equal to the layout those
//   capacities give, a layout no bigger than trace::kMaxFileBytes, and a file at least that
//   long. Bytes beyond the layout are never read, so the size of the file itself costs nothing
//   (a 3 GiB sparse file with a small trace at its start loads that trace).
//
//   Reading copies what it reads: with pread(2) from a file, never through a mapping, so
//   nothing is read in place and no page of the file is touched by the reader. Only the used
//   part of each table and of the string section is read (the counters are clamped to the
//   capacities). Every count, offset and string read from the sections is checked against the
//   header's layout: an offset outside the used strings is the empty string, a string is at
//   most 4096 bytes and ends at the end of the string section, a holder listed twice counts
//   once, an unknown state or operation reads as running / none. The entries of one read may
//   refer to 512 MiB of strings in all (more is refused as corrupt before any is copied: a
//   trace of the default capacities cannot need 440 MiB).
//
//   A live file (map) is checked again at every snapshot() and events(): if it has shrunk
//   below its layout (ftruncate by anyone), or shrinks while it is being read (a short
//   pread), the call throws TraceError ("... shrank to N bytes ..."); the TraceFile stays
//   usable, and reads again once the file is whole.
//
//   Thread entries are read under their seqlock (copied three times: sequence, entry,
//   sequence), so a snapshot never shows a half-written entry. Every published entry is in
//   it: one caught in the middle of an update (its writer at work, preempted or killed there)
//   shows as running, with only its identity (pid, tid, parent, name). A channel entry is taken
//   once its id is published; an event only if its slot holds the sequence number the reader
//   expects before and after the copy.
//
// Costs: snapshot() of a live file reads the used thread and channel entries three times and
// the used strings once (a few hundred KiB for a program of a thousand threads); events()
// reads the whole ring three times. A loaded file is read once, by load().
//
// Thread safety: a TraceFile is immutable once made; its const methods may run concurrently.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ceramic/trace_format.hpp"

namespace ceramic::detector {

struct TraceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Wait {
  std::uint64_t channel = 0;
  trace::WaitOp op = trace::WaitOp::none;  // send or recv (a select lists one per case)
};

struct ThreadInfo {
  pid_t pid = 0, tid = 0, ppid = 0;
  std::string name;
  trace::ThreadState state = trace::ThreadState::running;
  trace::WaitOp op = trace::WaitOp::none;
  bool has_deadline = false;
  std::vector<Wait> waits;
  pid_t join_pid = 0;
  std::string file;
  int line = 0;
  std::int64_t since_ns = 0;
  int exit_code = 0;
  pid_t last_peer = 0;
  std::uint64_t last_channel = 0;
  std::string last_file;
  int last_line = 0;
  std::uint64_t ops = 0;
  std::uint32_t seq = 0;  // moves whenever the thread changes state
  bool blocked() const { return state == trace::ThreadState::blocked; }
};

struct ChannelInfo {
  std::uint64_t id = 0;
  std::uint32_t capacity = 0;
  pid_t creator_pid = 0;
  std::string file;
  int line = 0;
  std::string name;
  bool closed = false;
  bool overflow = false;  // more holders than the file could list: assume others exist
  std::vector<pid_t> holders;
  std::vector<pid_t> former;  // recently let go of it (exited or dropped the handle)
};

struct EventInfo {
  std::uint64_t seq = 0;
  std::int64_t t_ns = 0;
  pid_t pid = 0, tid = 0, peer = 0;
  trace::EventKind kind{};
  trace::WaitOp op = trace::WaitOp::none;
  std::uint64_t channel = 0;
  std::int64_t value = 0;
  std::string file;
  int line = 0;
};

struct Snapshot {
  pid_t root_pid = 0;
  std::int64_t taken_ns = 0;  // relative to the trace's creation
  std::vector<ThreadInfo> threads;
  std::vector<ChannelInfo> channels;
  std::uint32_t dropped_threads = 0, dropped_channels = 0, dropped_strings = 0;
  // Processes known to be gone (exited, killed or zombie) when the snapshot was taken.
  std::vector<pid_t> dead;
  // Live snapshots: how many threads each live process has (sorted by pid). Threads that never
  // used ceramic have no entry in the trace, but may be running, or blocked outside ceramic (a
  // sleep, a read on a pipe): they count as able to act.
  std::vector<std::pair<pid_t, int>> os_threads;
  // The lookups below search sorted vectors. Invariants (what sorted() checks, sort() makes):
  // channels sorted by id, dead and os_threads sorted by pid, dead without repeats, and every
  // exited thread's process in dead. TraceFile's snapshots keep them; a Snapshot built or edited
  // by hand (the simulator's, a test's) calls sort() last. analyze() sorts a copy of one that
  // does not, so a lookup never misses an entry that is there.
  void sort();
  bool sorted() const;
  bool is_dead(pid_t pid) const;
  int threads_of(pid_t pid) const;  // 0: unknown
  const ChannelInfo* channel(std::uint64_t id) const;
};

// A trace file, opened for reading: watched live (map) or copied once (load, from_bytes).
class TraceFile {
 public:
  // Opens path for watching a live program: every snapshot() and events() reads the file
  // again (with pread; the name is historical, nothing is mapped). Throws TraceError.
  static TraceFile map(const std::string& path);
  // Reads the trace in path once (offline analysis): the header, then the used entries, the
  // ring and the strings, never more than the header's layout. Throws TraceError.
  static TraceFile load(const std::string& path);
  // Parses bytes already in memory (tests, fuzzing). Throws TraceError.
  static TraceFile from_bytes(std::vector<unsigned char> bytes);

  TraceFile(TraceFile&&) noexcept;
  TraceFile& operator=(TraceFile&&) noexcept;
  ~TraceFile();

  // The current state. check_liveness: ask the OS which processes are still alive (live
  // watching); otherwise only exits recorded in the file count (a saved trace). Throws
  // TraceError if a live file has shrunk or cannot be read.
  Snapshot snapshot(bool check_liveness) const;
  // The events still in the ring, oldest first. Throws TraceError as snapshot() does.
  std::vector<EventInfo> events() const;

  // The header's immutable fields, validated.
  struct Layout {
    std::uint32_t max_threads, max_channels, ring_capacity, string_bytes;
    std::uint64_t threads_off, channels_off, ring_off, strings_off, file_bytes;
    std::int64_t created_mono_ns;
    pid_t root_pid;
  };
  // What load() and from_bytes() copied out of the file (defined in snapshot.cpp).
  struct Copy;

 private:
  TraceFile();
  std::string path_;  // "" for from_bytes
  int fd_ = -1;       // a live file (map): read again at every call
  std::unique_ptr<const Copy> loaded_;  // a loaded file (load, from_bytes): read once
  Layout layout_{};
};

}  // namespace ceramic::detector
