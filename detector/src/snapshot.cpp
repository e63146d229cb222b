#include "ceramic/detector/snapshot.hpp"

#include "saturate.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

namespace ceramic::detector {
namespace {

using namespace ceramic::trace;

[[noreturn]] void fail(const std::string& what) { throw TraceError("ceramic-trace: " + what); }

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

template <class T>
T read_as(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

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

TraceFile::TraceFile(TraceFile&& o) noexcept
    : base_(o.base_), size_(o.size_), mapped_(o.mapped_), bytes_(std::move(o.bytes_)),
      header_(o.header_) {
  o.base_ = nullptr;
  o.mapped_ = false;
}

TraceFile& TraceFile::operator=(TraceFile&& o) noexcept {
  if (this != &o) {
    if (mapped_) munmap(const_cast<unsigned char*>(base_), size_);
    base_ = o.base_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    bytes_ = std::move(o.bytes_);
    header_ = o.header_;
    o.base_ = nullptr;
    o.mapped_ = false;
  }
  return *this;
}

TraceFile::~TraceFile() {
  if (mapped_) munmap(const_cast<unsigned char*>(base_), size_);
}

TraceFile TraceFile::map(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    fail("cannot stat " + path + ": " + std::strerror(err));
  }
  auto size = static_cast<std::size_t>(st.st_size);
  if (size < sizeof(FileHeader)) {
    close(fd);
    fail(path + " is not a ceramic trace (" + std::to_string(size) + " bytes, too short)");
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) fail("cannot map " + path + ": " + std::strerror(err));
  TraceFile t;
  t.base_ = static_cast<const unsigned char*>(p);
  t.size_ = size;
  t.mapped_ = true;
  t.validate();
  return t;
}

TraceFile TraceFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open " + path + ": " + std::strerror(errno));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  try {
    return from_bytes(std::move(bytes));
  } catch (const TraceError& e) {
    fail(path + ": " + std::string(e.what()).substr(std::strlen("ceramic-trace: ")));
  }
}

TraceFile TraceFile::from_bytes(std::vector<unsigned char> bytes) {
  TraceFile t;
  // The file's structs want 64-byte alignment (as a mapping has): copy into storage that has it.
  t.size_ = bytes.size();
  t.bytes_ = std::vector<Line>((t.size_ + sizeof(Line) - 1) / sizeof(Line) + 1);
  if (t.size_ != 0) std::memcpy(t.bytes_.data(), bytes.data(), t.size_);
  t.base_ = reinterpret_cast<const unsigned char*>(t.bytes_.data());
  t.validate();
  return t;
}

void TraceFile::validate() {
  if (size_ < sizeof(FileHeader)) {
    fail("not a ceramic trace (" + std::to_string(size_) + " bytes, too short for a header)");
  }
  const auto& h = *reinterpret_cast<const FileHeader*>(base_);
  std::uint64_t magic = read_as<std::uint64_t>(base_);
  if (magic == 0) fail("trace not initialised yet (no magic)");
  if (magic != kMagic) fail("not a ceramic trace (bad magic)");
  if (h.version != kVersion) {
    fail("trace format version " + std::to_string(h.version) + ", this tool reads " +
         std::to_string(kVersion));
  }
  if (h.ring_capacity == 0 || (h.ring_capacity & (h.ring_capacity - 1)) != 0 ||
      h.max_threads > (1u << 24) || h.max_channels > (1u << 24) || h.ring_capacity > (1u << 26) ||
      h.string_bytes > (1u << 30)) {
    fail("corrupt header (capacities out of range)");
  }
  Geometry g = geometry(h.max_threads, h.max_channels, h.ring_capacity, h.string_bytes);
  if (g.threads_off != h.threads_off || g.channels_off != h.channels_off ||
      g.ring_off != h.ring_off || g.strings_off != h.strings_off ||
      g.file_bytes != h.file_bytes) {
    fail("corrupt header (layout does not match its capacities)");
  }
  if (g.file_bytes > size_) {
    fail("truncated: " + std::to_string(size_) + " bytes, the header says " +
         std::to_string(g.file_bytes));
  }
  header_ = Layout{h.max_threads, h.max_channels, h.ring_capacity, h.string_bytes,
                   h.threads_off, h.channels_off, h.ring_off, h.strings_off,
                   h.created_mono_ns, h.root_pid};
}

std::string TraceFile::string_at(std::uint32_t off) const {
  if (off == 0 || off >= header_.string_bytes) return {};
  const char* s = reinterpret_cast<const char*>(base_ + header_.strings_off + off);
  std::size_t max = header_.string_bytes - off;
  return std::string(s, strnlen(s, std::min<std::size_t>(max, 4096)));
}

Snapshot TraceFile::snapshot(bool check_liveness) const {
  const auto& live = *reinterpret_cast<const FileHeader*>(base_);
  Snapshot s;
  s.root_pid = header_.root_pid;
  std::uint32_t threads = std::min(live.threads_used.load(std::memory_order_acquire),
                                   header_.max_threads);
  std::uint32_t channels = std::min(live.channels_used.load(std::memory_order_acquire),
                                    header_.max_channels);
  s.dropped_threads = live.dropped_threads.load(std::memory_order_relaxed);
  s.dropped_channels = live.dropped_channels.load(std::memory_order_relaxed);
  s.dropped_strings = live.dropped_strings.load(std::memory_order_relaxed);

  std::set<pid_t> pids;
  for (std::uint32_t i = 0; i < threads; ++i) {
    const auto* e = reinterpret_cast<const ThreadEntry*>(base_ + header_.threads_off) + i;
    ThreadEntry copy;
    bool stable = false;
    for (int attempt = 0; attempt < 100 && !stable; ++attempt) {
      std::uint32_t before = e->seq.load(std::memory_order_acquire);
      std::memcpy(static_cast<void*>(&copy), static_cast<const void*>(e), sizeof copy);
      std::atomic_thread_fence(std::memory_order_acquire);
      std::uint32_t after = e->seq.load(std::memory_order_relaxed);
      stable = before == after && (before & 1) == 0;
      copy.seq.store(before, std::memory_order_relaxed);
    }
    std::uint32_t seq = copy.seq.load(std::memory_order_relaxed);
    if (!stable || seq == 0) continue;  // being written right now, or never published
    ThreadInfo t;
    t.pid = copy.pid;
    t.tid = copy.tid;
    t.ppid = copy.ppid;
    t.name = string_at(copy.name);
    t.state = copy.state <= 3 ? static_cast<ThreadState>(copy.state) : ThreadState::running;
    t.op = copy.op <= 4 ? static_cast<WaitOp>(copy.op) : WaitOp::none;
    t.has_deadline = copy.has_deadline != 0;
    for (std::uint32_t w = 0; w < std::min<std::uint32_t>(copy.n_waits, kMaxWaits); ++w) {
      WaitOp op = copy.wait_ops[w] <= 4 ? static_cast<WaitOp>(copy.wait_ops[w]) : WaitOp::none;
      t.waits.push_back(Wait{copy.waits[w], op});
    }
    t.join_pid = copy.join_pid;
    t.file = string_at(copy.file);
    t.line = copy.line;
    t.since_ns = copy.since_ns;
    t.exit_code = copy.exit_code;
    t.last_peer = copy.last_peer;
    t.last_channel = copy.last_channel;
    t.last_file = string_at(copy.last_file);
    t.last_line = copy.last_line;
    t.ops = copy.ops;
    t.seq = seq;
    pids.insert(t.pid);
    if (t.join_pid > 0) pids.insert(t.join_pid);
    s.threads.push_back(std::move(t));
  }
  for (std::uint32_t i = 0; i < channels; ++i) {
    const auto* e = reinterpret_cast<const ChannelEntry*>(base_ + header_.channels_off) + i;
    std::uint64_t id = e->id.load(std::memory_order_acquire);
    if (id == 0) continue;
    ChannelInfo c;
    c.id = id;
    c.capacity = e->capacity;
    c.creator_pid = e->creator_pid;
    c.file = string_at(e->file);
    c.line = e->line;
    c.name = string_at(e->name);
    c.closed = e->closed.load(std::memory_order_acquire) != 0;
    c.overflow = e->overflow.load(std::memory_order_acquire) != 0;
    for (const auto& h : e->holders) {
      pid_t pid = h.load(std::memory_order_acquire);
      if (pid > 0) {
        c.holders.push_back(pid);
        pids.insert(pid);
      }
    }
    for (const auto& f : e->former) {
      pid_t pid = f.load(std::memory_order_acquire);
      if (pid > 0 && std::find(c.holders.begin(), c.holders.end(), pid) == c.holders.end() &&
          std::find(c.former.begin(), c.former.end(), pid) == c.former.end()) {
        c.former.push_back(pid);
        pids.insert(pid);
      }
    }
    s.channels.push_back(std::move(c));
  }
  std::sort(s.channels.begin(), s.channels.end(),
            [](const ChannelInfo& a, const ChannelInfo& b) { return a.id < b.id; });

  // Which processes are gone: an exit record, or (live) the OS says so.
  for (const ThreadInfo& t : s.threads) {
    if (t.state == ThreadState::exited) s.dead.push_back(t.pid);
  }
  if (check_liveness) {
    for (pid_t pid : pids) {
      if (process_gone(pid)) {
        s.dead.push_back(pid);
      } else if (int n = os_thread_count(pid); n > 0) {
        s.os_threads.emplace_back(pid, n);
      }
    }
    std::sort(s.os_threads.begin(), s.os_threads.end());
  }
  std::sort(s.dead.begin(), s.dead.end());
  s.dead.erase(std::unique(s.dead.begin(), s.dead.end()), s.dead.end());
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  s.taken_ns = sat_sub(static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec,
                       header_.created_mono_ns);
  return s;
}

std::vector<EventInfo> TraceFile::events() const {
  const auto& live = *reinterpret_cast<const FileHeader*>(base_);
  std::uint64_t head = live.ring_head.load(std::memory_order_acquire);
  std::uint64_t cap = header_.ring_capacity;
  std::uint64_t count = std::min(head, cap);  // a scribbled head must not loop for ever
  std::uint64_t first = head - count + 1;
  std::vector<EventInfo> out;
  const auto* ring = reinterpret_cast<const Event*>(base_ + header_.ring_off);
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::uint64_t seq = first + k;
    const Event& e = ring[seq & (cap - 1)];
    if (e.seq.load(std::memory_order_acquire) != seq) continue;  // overwritten or unfinished
    EventInfo ev;
    ev.seq = seq;
    ev.t_ns = e.t_ns;
    ev.pid = e.pid;
    ev.tid = e.tid;
    ev.peer = e.peer;
    ev.kind = static_cast<EventKind>(e.kind);
    ev.op = e.op <= 4 ? static_cast<WaitOp>(e.op) : WaitOp::none;
    ev.channel = e.channel;
    ev.value = e.value;
    ev.file = string_at(e.file);
    ev.line = e.line;
    if (e.seq.load(std::memory_order_acquire) != seq) continue;  // rewritten while copying
    out.push_back(std::move(ev));
  }
  return out;
}

}  // namespace ceramic::detector
