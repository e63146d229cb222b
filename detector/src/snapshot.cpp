// ceramic detector — reading a trace file (the guarantees are in snapshot.hpp).
//
// Two layers. A Reader copies byte ranges out of the file (pread) or out of bytes in memory,
// and turns a file that has shrunk into a TraceError; nothing else touches the file. On top of
// it, read_copy() copies the used part of each section into a Copy (entries under their
// seqlock or publication protocol), and the rest of this file turns a Copy into a Snapshot or
// a list of events, checking every value it takes from it.
#include "ceramic/detector/snapshot.hpp"

#include "saturate.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <fstream>
#include <set>

namespace ceramic::detector {

using namespace ceramic::trace;

namespace {

// The bytes of one entry of type T, copied out of the file: storage with T's size and
// alignment, read through T (the format's structs are aggregates of integers and atomics:
// copying bytes into such storage makes a T).
template <class T>
struct Raw {
  alignas(T) unsigned char bytes[sizeof(T)];
  const T& get() const { return *reinterpret_cast<const T*>(bytes); }
  T& get() { return *reinterpret_cast<T*>(bytes); }
};

}  // namespace

// What was copied out of the file for one snapshot() or events() (live), or once (loaded).
struct TraceFile::Copy {
  std::uint32_t threads_used = 0, channels_used = 0, strings_used = 0;
  std::uint32_t dropped_threads = 0, dropped_channels = 0, dropped_strings = 0;
  std::uint64_t ring_head = 0;
  std::vector<Raw<ThreadEntry>> threads;  // stable, published entries, in table order
  std::vector<std::uint32_t> thread_seqs;  // each one's (even) sequence counter
  std::vector<Raw<ChannelEntry>> channels;  // published entries (id != 0), in table order
  std::vector<Raw<Event>> events;  // oldest first, each with the sequence it was expected to have
  std::vector<char> strings;       // the used part of the string section
};

namespace {

using Copy = TraceFile::Copy;
using Layout = TraceFile::Layout;

constexpr std::size_t kMaxString = 4096;  // longest string taken from the file
// The most string bytes one snapshot() or events() copies out. Entries refer to strings by
// offset, so a corrupt file can make every reference point at a 4 KiB string: 64 times the
// size of the entries. No trace of the default capacities can need more than this (its
// thread and channel entries 184 MiB at 4 KiB a string, its ring 256 MiB: 440 MiB).
constexpr std::uint64_t kMaxStringCopies = std::uint64_t{512} << 20;
constexpr int kSeqlockAttempts = 10;      // reads of an entry that keeps changing
constexpr std::uint32_t kChunk = 256;     // entries copied at once

[[noreturn]] void fail(const std::string& what) { throw TraceError("ceramic-trace: " + what); }

// "PATH: " for messages about a file, "" for bytes in memory.
std::string where(const std::string& path) { return path.empty() ? "" : path + ": "; }

// A process is gone when /proc no longer has it, or it is a zombie (exited, not yet reaped).
bool process_gone(pid_t pid) {
  if (pid <= 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= line.size()) return false;
  char state = line[close_paren + 2];
  return state == 'Z' || state == 'X';
}

// Threads of a live process, as the OS counts them (0 if unknown).
int os_thread_count(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return 0;
}

// Copies byte ranges out of a trace: a file (pread at the moment of the call) or bytes in
// memory. A range the file no longer has is a TraceError that says how long the file is now.
class Reader {
 public:
  Reader(int fd, const std::string& path) : fd_(fd), path_(path) {}
  Reader(const unsigned char* bytes, std::size_t size) : bytes_(bytes), size_(size) {}

  bool live() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // The file's size now.
  std::uint64_t size() const {
    if (!live()) return size_;
    struct stat st {};
    if (fstat(fd_, &st) != 0) fail(where(path_) + "cannot stat: " + std::strerror(errno));
    return static_cast<std::uint64_t>(st.st_size);
  }

  // Throws unless the file still holds the whole layout (file_bytes).
  void check_whole(std::uint64_t file_bytes) const {
    if (std::uint64_t now = size(); now < file_bytes) shrank(now, file_bytes, "");
  }

  // Copies n bytes at off into dst. file_bytes: the layout's size, for the message when the
  // file has shrunk under the read. Callers only ask for ranges inside a validated layout.
  void read(std::uint64_t off, void* dst, std::size_t n, std::uint64_t file_bytes) const {
    auto* out = static_cast<unsigned char*>(dst);
    if (!live()) {
      if (off > size_ || n > size_ - off) fail("truncated: a read past the end of the bytes");
      std::memcpy(out, bytes_ + off, n);
      return;
    }
    std::size_t done = 0;
    while (done < n) {
      ssize_t got = pread(fd_, out + done, n - done, static_cast<off_t>(off + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(where(path_) + "cannot read: " + std::strerror(errno));
      if (got == 0) {  // end of file inside the layout: it shrank after check_whole()
        std::uint64_t now = size();
        shrank(now < file_bytes ? now : off + done, file_bytes, " while being read");
      }
      done += static_cast<std::size_t>(got);
    }
  }

 private:
  [[noreturn]] void shrank(std::uint64_t now, std::uint64_t file_bytes, const char* when) const {
    fail(where(path_) + "the file shrank to " + std::to_string(now) + " bytes" + when +
         " (its header says " + std::to_string(file_bytes) + "): not a complete trace any more");
  }

  int fd_ = -1;
  std::string path_;
  const unsigned char* bytes_ = nullptr;
  std::size_t size_ = 0;
};

// Reads and validates the header: nothing else is read before this succeeds.
Layout read_layout(const Reader& in, const std::string& path) {
  const std::uint64_t size = in.size();
  if (size < sizeof(FileHeader)) {
    fail(where(path) + "not a ceramic trace (" + std::to_string(size) +
         " bytes, too short for a header)");
  }
  alignas(FileHeader) unsigned char raw[sizeof(FileHeader)];
  in.read(0, raw, sizeof raw, sizeof raw);
  const auto& h = *reinterpret_cast<const FileHeader*>(raw);
  const std::uint64_t magic = h.magic.load(std::memory_order_relaxed);
  if (magic == 0) fail(where(path) + "trace not initialised yet (no magic)");
  if (magic != kMagic) fail(where(path) + "not a ceramic trace (bad magic)");
  if (h.version != kVersion) {
    fail(where(path) + "trace format version " + std::to_string(h.version) +
         ", this tool reads " + std::to_string(kVersion));
  }
  if (h.ring_capacity == 0 || (h.ring_capacity & (h.ring_capacity - 1)) != 0 ||
      h.max_threads > (1u << 24) || h.max_channels > (1u << 24) || h.ring_capacity > (1u << 26) ||
      h.string_bytes > (1u << 30)) {
    fail(where(path) + "corrupt header (capacities out of range)");
  }
  const Geometry g = geometry(h.max_threads, h.max_channels, h.ring_capacity, h.string_bytes);
  if (g.threads_off != h.threads_off || g.channels_off != h.channels_off ||
      g.ring_off != h.ring_off || g.strings_off != h.strings_off ||
      g.file_bytes != h.file_bytes) {
    fail(where(path) + "corrupt header (layout does not match its capacities)");
  }
  if (g.file_bytes > kMaxFileBytes) {
    fail(where(path) + "too large: the header declares a trace of " + std::to_string(g.file_bytes) +
         " bytes, more than the " + std::to_string(kMaxFileBytes) + " a trace may have");
  }
  if (g.file_bytes > size) {
    fail(where(path) + "truncated: " + std::to_string(size) + " bytes, the header says " +
         std::to_string(g.file_bytes));
  }
  return Layout{h.max_threads, h.max_channels, h.ring_capacity, h.string_bytes,
                h.threads_off,  h.channels_off, h.ring_off,      h.strings_off,
                h.file_bytes,   h.created_mono_ns, h.root_pid};
}

// The header's counters, as they are now.
void read_counters(const Reader& in, const Layout& l, Copy& c) {
  alignas(FileHeader) unsigned char raw[sizeof(FileHeader)];
  in.read(0, raw, sizeof raw, l.file_bytes);
  const auto& h = *reinterpret_cast<const FileHeader*>(raw);
  c.threads_used = std::min(h.threads_used.load(std::memory_order_relaxed), l.max_threads);
  c.channels_used = std::min(h.channels_used.load(std::memory_order_relaxed), l.max_channels);
  c.strings_used = std::min(h.strings_used.load(std::memory_order_relaxed), l.string_bytes);
  c.dropped_threads = h.dropped_threads.load(std::memory_order_relaxed);
  c.dropped_channels = h.dropped_channels.load(std::memory_order_relaxed);
  c.dropped_strings = h.dropped_strings.load(std::memory_order_relaxed);
  c.ring_head = h.ring_head.load(std::memory_order_relaxed);
}

// Copies entries [first, first + count) of the table at off, a chunk at a time, and calls
// take(i, before, entry, after) for each: `before` and `after` are copies made by whole reads
// of the chunk before and after the read that made `entry`, so a field that a writer changes
// first and last (a seqlock's sequence, a slot's published sequence, a published id) brackets
// the copy. Bytes in memory do not change: one copy serves as all three.
template <class T, class Take>
void read_entries(const Reader& in, const Layout& l, std::uint64_t off, std::uint64_t first,
                  std::uint64_t count, Take take) {
  std::vector<Raw<T>> before(std::min<std::uint64_t>(count, kChunk));
  std::vector<Raw<T>> entry(in.live() ? before.size() : 0), after(entry.size());
  for (std::uint64_t at = first; at < first + count; at += kChunk) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, first + count - at));
    const std::uint64_t pos = off + at * sizeof(T);
    in.read(pos, before.data(), n * sizeof(T), l.file_bytes);
    if (in.live()) {
      // Each read's loads (the kernel's, on this thread) come after the previous read's: the
      // writer's release stores are then seen in the order it made them.
      std::atomic_thread_fence(std::memory_order_acquire);
      in.read(pos, entry.data(), n * sizeof(T), l.file_bytes);
      std::atomic_thread_fence(std::memory_order_acquire);
      in.read(pos, after.data(), n * sizeof(T), l.file_bytes);
    }
    const std::vector<Raw<T>>& e = in.live() ? entry : before;
    const std::vector<Raw<T>>& a = in.live() ? after : before;
    for (std::size_t k = 0; k < n; ++k) take(at + k, before[k].get(), e[k].get(), a[k].get());
  }
}

std::uint32_t seq_of(const ThreadEntry& t) { return t.seq.load(std::memory_order_relaxed); }

template <class T>
void keep_copy(std::vector<Raw<T>>& into, const T& e) {
  into.emplace_back();
  std::memcpy(into.back().bytes, static_cast<const void*>(&e), sizeof(T));
}

// A thread entry caught in the middle of an update, as what it shows: a thread at work.
// Only its identity is kept (pid, tid, parent and name, written before it was published).
ThreadEntry& as_running(ThreadEntry& e, std::uint32_t seq) {
  e.state = static_cast<std::uint32_t>(ThreadState::running);
  e.op = static_cast<std::uint8_t>(WaitOp::none);
  e.has_deadline = 0;
  e.n_waits = 0;
  e.join_pid = 0;
  e.file = e.last_file = 0;
  e.line = e.last_line = 0;
  e.since_ns = 0;
  e.exit_code = e.last_peer = 0;
  e.last_channel = 0;
  e.ops = 0;
  e.seq.store(seq, std::memory_order_relaxed);
  return e;
}

// Thread entries under their seqlock: an entry is taken as it is when its sequence is even,
// non-zero and the same before and after the copy. One that is not is read again on its own,
// up to kSeqlockAttempts times (live files only: bytes in memory do not change); one still odd
// or still moving then is shown as running (its writer is in the middle of an update: at work,
// or killed there). An entry never published (sequence 0, or 1 which no writer stores) is left
// out.
void read_threads(const Reader& in, const Layout& l, Copy& c) {
  auto stable = [](const ThreadEntry& before, const ThreadEntry& after) {
    const std::uint32_t s = seq_of(before);
    return s == seq_of(after) && s != 0 && (s & 1) == 0;
  };
  auto keep = [&](const ThreadEntry& e, std::uint32_t seq) {
    keep_copy(c.threads, e);
    c.thread_seqs.push_back(seq);
  };
  auto keep_running = [&](const ThreadEntry& e, std::uint32_t seq) {
    if (seq < 2) return;  // never published
    Raw<ThreadEntry> copy;
    std::memcpy(copy.bytes, static_cast<const void*>(&e), sizeof e);
    keep(as_running(copy.get(), seq & ~1u), seq & ~1u);
  };
  read_entries<ThreadEntry>(in, l, l.threads_off, 0, c.threads_used,
                            [&](std::uint64_t i, const ThreadEntry& before, const ThreadEntry& e,
                                const ThreadEntry& after) {
    if (stable(before, after)) return keep(e, seq_of(before));
    if (seq_of(before) == 0 && seq_of(after) == 0) return;  // not published
    if (!in.live()) return keep_running(e, seq_of(after));
    for (int attempt = 1; attempt <= kSeqlockAttempts; ++attempt) {
      bool done = false;
      read_entries<ThreadEntry>(in, l, l.threads_off, i, 1,
                                [&](std::uint64_t, const ThreadEntry& b, const ThreadEntry& x,
                                    const ThreadEntry& a) {
        if (stable(b, a)) {
          keep(x, seq_of(b));
          done = true;
        } else if (attempt == kSeqlockAttempts) {
          keep_running(x, seq_of(a));
        }
      });
      if (done) return;
    }
  });
}

// Channel entries are immutable once their id is published (after the rest): taken when the
// id was non-zero before the copy and is the same in it.
void read_channels(const Reader& in, const Layout& l, Copy& c) {
  read_entries<ChannelEntry>(in, l, l.channels_off, 0, c.channels_used,
                             [&](std::uint64_t, const ChannelEntry& before, const ChannelEntry& e,
                                 const ChannelEntry&) {
    const std::uint64_t id = before.id.load(std::memory_order_relaxed);
    if (id == 0 || e.id.load(std::memory_order_relaxed) != id) return;
    keep_copy(c.channels, e);
  });
}

// The ring: the last min(head, capacity) sequence numbers. A slot is taken when it holds the
// sequence expected of it before and after the copy (a writer zeroes it while rewriting).
void read_ring(const Reader& in, const Layout& l, Copy& c) {
  const std::uint64_t cap = l.ring_capacity;
  const std::uint64_t count = std::min(c.ring_head, cap);  // a scribbled head cannot loop for ever
  const std::uint64_t first_seq = c.ring_head - count + 1;
  const std::uint64_t first_slot = first_seq & (cap - 1);
  // The window wraps around the end of the ring at most once: two runs of slots.
  const std::uint64_t run1 = std::min(count, cap - first_slot);
  auto take_run = [&](std::uint64_t slot0, std::uint64_t n, std::uint64_t seq0) {
    read_entries<Event>(in, l, l.ring_off, slot0, n,
                        [&](std::uint64_t slot, const Event& before, const Event& e,
                            const Event& after) {
      const std::uint64_t seq = seq0 + (slot - slot0);
      if (before.seq.load(std::memory_order_relaxed) != seq ||
          after.seq.load(std::memory_order_relaxed) != seq) {
        return;  // overwritten, unfinished, or being rewritten
      }
      keep_copy(c.events, e);
      c.events.back().get().seq.store(seq, std::memory_order_relaxed);
    });
  };
  take_run(first_slot, run1, first_seq);
  take_run(0, count - run1, first_seq + run1);
}

// The used part of the string section, read after the entries that refer to it (a writer
// publishes a string's offset only once the string is written).
void read_strings(const Reader& in, const Layout& l, Copy& c) {
  Copy now;
  read_counters(in, l, now);
  c.strings_used = std::max(c.strings_used, now.strings_used);
  c.strings.resize(c.strings_used);
  if (!c.strings.empty()) in.read(l.strings_off, c.strings.data(), c.strings.size(), l.file_bytes);
}

// Strings by offset into the copied string section: offset 0, and any offset outside what was
// used, are the empty string; a string stops at its NUL, at kMaxString bytes, or at the end.
std::size_t string_length(const Copy& c, std::uint32_t off) {
  if (off == 0 || off >= c.strings.size()) return 0;
  return strnlen(c.strings.data() + off, std::min(c.strings.size() - off, kMaxString));
}

std::string string_at(const Copy& c, std::uint32_t off) {
  const std::size_t n = string_length(c, off);
  return n == 0 ? std::string() : std::string(c.strings.data() + off, n);
}

// How many bytes of strings the entries refer to: offsets(entry, add) calls add(offset) for
// each string an entry refers to.
template <class Entries, class Offsets>
std::uint64_t string_bytes(const Copy& c, const Entries& entries, Offsets offsets) {
  std::uint64_t bytes = 0;
  for (const auto& e : entries) {
    offsets(e.get(), [&](std::uint32_t off) { bytes += string_length(c, off); });
  }
  return bytes;
}

// Refuses a copy whose entries refer to more than kMaxStringCopies of strings, before any
// string is copied out of it.
void check_string_copies(const Copy& c, const std::string& path) {
  const std::uint64_t bytes =
      string_bytes(c, c.threads, [](const ThreadEntry& e, auto add) {
        add(e.name);
        add(e.file);
        add(e.last_file);
      }) +
      string_bytes(c, c.channels, [](const ChannelEntry& e, auto add) {
        add(e.file);
        add(e.name);
      }) +
      string_bytes(c, c.events, [](const Event& e, auto add) { add(e.file); });
  if (bytes > kMaxStringCopies) {
    fail(where(path) + "corrupt trace: its entries refer to " + std::to_string(bytes) +
         " bytes of strings, more than the " + std::to_string(kMaxStringCopies) +
         " a reader copies");
  }
}

Copy read_copy(const Reader& in, const Layout& l, bool tables, bool ring) {
  in.check_whole(l.file_bytes);
  Copy c;
  read_counters(in, l, c);
  if (tables) {
    read_threads(in, l, c);
    read_channels(in, l, c);
  }
  if (ring) read_ring(in, l, c);
  read_strings(in, l, c);
  check_string_copies(c, in.path());
  return c;
}

WaitOp op_of(std::uint8_t op) { return op <= 4 ? static_cast<WaitOp>(op) : WaitOp::none; }

ThreadInfo thread_of(const Copy& c, const ThreadEntry& e, std::uint32_t seq) {
  ThreadInfo t;
  t.pid = e.pid;
  t.tid = e.tid;
  t.ppid = e.ppid;
  t.name = string_at(c, e.name);
  t.state = e.state <= 3 ? static_cast<ThreadState>(e.state) : ThreadState::running;
  t.op = op_of(e.op);
  t.has_deadline = e.has_deadline != 0;
  for (std::uint32_t w = 0; w < std::min<std::uint32_t>(e.n_waits, kMaxWaits); ++w) {
    t.waits.push_back(Wait{e.waits[w], op_of(e.wait_ops[w])});
  }
  t.join_pid = e.join_pid;
  t.file = string_at(c, e.file);
  t.line = e.line;
  t.since_ns = e.since_ns;
  t.exit_code = e.exit_code;
  t.last_peer = e.last_peer;
  t.last_channel = e.last_channel;
  t.last_file = string_at(c, e.last_file);
  t.last_line = e.last_line;
  t.ops = e.ops;
  t.seq = seq;
  return t;
}

bool listed(const std::vector<pid_t>& v, pid_t pid) {
  return std::find(v.begin(), v.end(), pid) != v.end();
}

ChannelInfo channel_of(const Copy& c, const ChannelEntry& e) {
  ChannelInfo ch;
  ch.id = e.id.load(std::memory_order_relaxed);
  ch.capacity = e.capacity;
  ch.creator_pid = e.creator_pid;
  ch.file = string_at(c, e.file);
  ch.line = e.line;
  ch.name = string_at(c, e.name);
  ch.closed = e.closed.load(std::memory_order_relaxed) != 0;
  ch.overflow = e.overflow.load(std::memory_order_relaxed) != 0;
  for (const auto& h : e.holders) {
    pid_t pid = h.load(std::memory_order_relaxed);
    if (pid > 0 && !listed(ch.holders, pid)) ch.holders.push_back(pid);
  }
  for (const auto& f : e.former) {
    pid_t pid = f.load(std::memory_order_relaxed);
    if (pid > 0 && !listed(ch.holders, pid) && !listed(ch.former, pid)) ch.former.push_back(pid);
  }
  return ch;
}

Snapshot snapshot_of(const Copy& c, const Layout& l, bool check_liveness) {
  Snapshot s;
  s.root_pid = l.root_pid;
  s.dropped_threads = c.dropped_threads;
  s.dropped_channels = c.dropped_channels;
  s.dropped_strings = c.dropped_strings;

  std::set<pid_t> pids;
  s.threads.reserve(c.threads.size());
  for (std::size_t i = 0; i < c.threads.size(); ++i) {
    ThreadInfo t = thread_of(c, c.threads[i].get(), c.thread_seqs[i]);
    pids.insert(t.pid);
    if (t.join_pid > 0) pids.insert(t.join_pid);
    s.threads.push_back(std::move(t));
  }
  s.channels.reserve(c.channels.size());
  for (const Raw<ChannelEntry>& e : c.channels) {
    ChannelInfo ch = channel_of(c, e.get());
    pids.insert(ch.holders.begin(), ch.holders.end());
    pids.insert(ch.former.begin(), ch.former.end());
    s.channels.push_back(std::move(ch));
  }
  // Which processes are gone: an exit record (sort() adds those), or (live) the OS says so.
  if (check_liveness) {
    for (pid_t pid : pids) {
      if (process_gone(pid)) {
        s.dead.push_back(pid);
      } else if (int n = os_thread_count(pid); n > 0) {
        s.os_threads.emplace_back(pid, n);
      }
    }
  }
  s.sort();
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  s.taken_ns = sat_sub(static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec,
                       l.created_mono_ns);
  return s;
}

std::vector<EventInfo> events_of(const Copy& c) {
  std::vector<EventInfo> out;
  out.reserve(c.events.size());
  for (const Raw<Event>& raw : c.events) {
    const Event& e = raw.get();
    EventInfo ev;
    ev.seq = e.seq.load(std::memory_order_relaxed);
    ev.t_ns = e.t_ns;
    ev.pid = e.pid;
    ev.tid = e.tid;
    ev.peer = e.peer;
    ev.kind = static_cast<EventKind>(e.kind);
    ev.op = op_of(e.op);
    ev.channel = e.channel;
    ev.value = e.value;
    ev.file = string_at(c, e.file);
    ev.line = e.line;
    out.push_back(std::move(ev));
  }
  return out;
}

int open_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

namespace {
bool by_id(const ChannelInfo& a, const ChannelInfo& b) { return a.id < b.id; }
}  // namespace

void Snapshot::sort() {
  std::sort(channels.begin(), channels.end(), by_id);
  for (const ThreadInfo& t : threads) {
    if (t.state == ThreadState::exited) dead.push_back(t.pid);
  }
  std::sort(dead.begin(), dead.end());
  dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
  std::sort(os_threads.begin(), os_threads.end());
}

bool Snapshot::sorted() const {
  if (!std::is_sorted(channels.begin(), channels.end(), by_id)) return false;
  if (std::adjacent_find(dead.begin(), dead.end(), std::greater_equal<pid_t>()) != dead.end()) {
    return false;   // not strictly increasing: out of order or repeated
  }
  if (!std::is_sorted(os_threads.begin(), os_threads.end())) return false;
  return std::all_of(threads.begin(), threads.end(), [this](const ThreadInfo& t) {
    return t.state != ThreadState::exited || is_dead(t.pid);
  });
}

bool Snapshot::is_dead(pid_t pid) const { return std::binary_search(dead.begin(), dead.end(), pid); }

int Snapshot::threads_of(pid_t pid) const {
  auto it = std::lower_bound(os_threads.begin(), os_threads.end(), std::make_pair(pid, 0));
  return it != os_threads.end() && it->first == pid ? it->second : 0;
}

const ChannelInfo* Snapshot::channel(std::uint64_t id) const {
  auto it = std::lower_bound(channels.begin(), channels.end(), id,
                             [](const ChannelInfo& c, std::uint64_t v) { return c.id < v; });
  return it != channels.end() && it->id == id ? &*it : nullptr;
}

TraceFile::TraceFile() = default;

TraceFile::TraceFile(TraceFile&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), loaded_(std::move(o.loaded_)), layout_(o.layout_) {
  o.fd_ = -1;
}

TraceFile& TraceFile::operator=(TraceFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    loaded_ = std::move(o.loaded_);
    layout_ = o.layout_;
    o.fd_ = -1;
  }
  return *this;
}

TraceFile::~TraceFile() {
  if (fd_ >= 0) close(fd_);
}

TraceFile TraceFile::map(const std::string& path) {
  TraceFile t;
  t.path_ = path;
  t.fd_ = open_file(path);  // closed by t's destructor if the header is refused
  t.layout_ = read_layout(Reader(t.fd_, path), path);
  return t;
}

TraceFile TraceFile::load(const std::string& path) {
  TraceFile t;
  t.path_ = path;
  int fd = open_file(path);
  try {
    Reader in(fd, path);
    t.layout_ = read_layout(in, path);
    t.loaded_ = std::make_unique<const Copy>(read_copy(in, t.layout_, true, true));
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  return t;
}

TraceFile TraceFile::from_bytes(std::vector<unsigned char> bytes) {
  TraceFile t;
  Reader in(bytes.data(), bytes.size());
  t.layout_ = read_layout(in, "");
  t.loaded_ = std::make_unique<const Copy>(read_copy(in, t.layout_, true, true));
  return t;
}

Snapshot TraceFile::snapshot(bool check_liveness) const {
  if (loaded_) return snapshot_of(*loaded_, layout_, check_liveness);
  return snapshot_of(read_copy(Reader(fd_, path_), layout_, true, false), layout_, check_liveness);
}

std::vector<EventInfo> TraceFile::events() const {
  if (loaded_) return events_of(*loaded_);
  return events_of(read_copy(Reader(fd_, path_), layout_, false, true));
}

}  // namespace ceramic::detector
