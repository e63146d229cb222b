// ceramic detector — a validated, self-contained copy of a trace file's state.
//
// Reading never trusts the file: every offset, count and string is checked against the
// header's geometry and the bytes actually present; a corrupt, truncated or foreign file
// throws TraceError with a precise message. Thread entries are read under their seqlock, so a
// snapshot of a live trace never shows a half-written entry.
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
  bool is_dead(pid_t pid) const;
  int threads_of(pid_t pid) const;  // 0: unknown
  const ChannelInfo* channel(std::uint64_t id) const;
};

// A trace file, opened for reading: mapped (live, while the program runs) or loaded.
class TraceFile {
 public:
  // Maps path read-only (for watching a live program). Throws TraceError.
  static TraceFile map(const std::string& path);
  // Reads the whole file into memory (offline analysis). Throws TraceError.
  static TraceFile load(const std::string& path);
  // Parses bytes already in memory (tests, fuzzing). Throws TraceError.
  static TraceFile from_bytes(std::vector<unsigned char> bytes);

  TraceFile(TraceFile&&) noexcept;
  TraceFile& operator=(TraceFile&&) noexcept;
  ~TraceFile();

  // The current state. check_liveness: ask the OS which processes are still alive (live
  // watching); otherwise only exits recorded in the file count (a saved trace).
  Snapshot snapshot(bool check_liveness) const;
  // The events still in the ring, oldest first.
  std::vector<EventInfo> events() const;

 private:
  TraceFile() = default;
  void validate();
  std::string string_at(std::uint32_t off) const;
  const unsigned char* base_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  struct alignas(64) Line {
    unsigned char b[64];
  };
  std::vector<Line> bytes_;  // a loaded file, 64-byte aligned (its structs need it)
  struct Layout {  // validated copy of the header's immutable fields
    std::uint32_t max_threads, max_channels, ring_capacity, string_bytes;
    std::uint64_t threads_off, channels_off, ring_off, strings_off;
    std::int64_t created_mono_ns;
    pid_t root_pid;
  } header_{};
};

}  // namespace ceramic::detector
