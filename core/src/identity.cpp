#include "identity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "ceramic/detail/futex.hpp"
#include "fresh_clock.hpp"

namespace ceramic::detail {
namespace {

pid_t g_pid = 0;
thread_local pid_t t_tid = 0;

void refresh_pid() noexcept {
  g_pid = static_cast<pid_t>(syscall(SYS_getpid));
  t_tid = 0;
}


struct Stat {
  char state;
  std::uint64_t start;  // clock ticks after boot
  pid_t pid;
};

// Fields 1 (pid), 3 (state) and 22 (starttime) of /proc/<pid>/stat ("self" for pid 0).
std::optional<Stat> read_stat(pid_t pid) noexcept {
  char path[40];
  if (pid == 0) {
    std::snprintf(path, sizeof path, "/proc/self/stat");
  } else {
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  // "pid (comm) state ppid ...": comm may hold anything, ')' included, so parse from the last.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr || p[1] != ' ' || p[2] == '\0') return std::nullopt;
  Stat s{};
  s.pid = static_cast<pid_t>(std::strtol(buf, nullptr, 10));
  p += 2;
  s.state = *p;
  for (int field = 3; field < 22; ++field) {  // to the space before field 22
    p = std::strchr(p, ' ');
    if (p == nullptr) return std::nullopt;
    ++p;
  }
  char* end = nullptr;
  s.start = std::strtoull(p, &end, 10);
  if (end == p) return std::nullopt;
  return s;
}

constexpr ProcIdentity pack(pid_t pid, std::uint64_t start) noexcept {
  return static_cast<std::uint32_t>(pid) | (start << 32);
}

// What the high half of an identity holds, the same for every process of the machine (it
// depends on the kernel only): see identity.hpp.
enum class Scheme : int { pidfs, start_time, pid_only };

// 0 until computed; reset in a forked child. Relaxed: every thread computes the same value.
std::atomic<ProcIdentity> g_self{0};
std::atomic<Scheme> g_scheme{Scheme::pid_only};

constexpr long kPidfsMagic = 0x50494446;  // "PIDF": pidfds are pidfs inodes (Linux 6.9)

// The low half of the pidfs inode number of a pidfd: unique per process since boot.
std::optional<std::uint32_t> pidfs_ino(int pidfd) noexcept {
  struct stat st {};
  if (fstat(pidfd, &st) != 0) return std::nullopt;
  return static_cast<std::uint32_t>(st.st_ino);
}

// In a forked child: our pid, tid and identity are the child's, computed afresh.
void forget_self_after_fork() noexcept {
  refresh_pid();
  g_self.store(0, std::memory_order_relaxed);
}

[[maybe_unused]] const int g_atfork = [] {
  pthread_atfork(nullptr, nullptr, &forget_self_after_fork);
  refresh_pid();
  return 0;
}();

pid_t pidfd_open(pid_t pid) noexcept {
  return static_cast<pid_t>(syscall(SYS_pidfd_open, pid, 0));  // O_CLOEXEC implied
}

// 1: the process behind the pidfd has exited (a zombie included); 0: it lives; -1: unknown.
int pidfd_exited(int fd) noexcept {
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = poll(&p, 1, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 || (p.revents & (POLLERR | POLLNVAL)) != 0) return -1;
  return (p.revents & POLLIN) != 0 ? 1 : 0;
}

// Live processes this thread has met, each with a pidfd that pins its identity.
struct Cache {
  ProcIdentity id[kIdentityCache] = {};
  int fd[kIdentityCache] = {};
  FreshStamp checked[kIdentityCache] = {};  // when the kernel last said it lives
  int next = 0;  // round-robin victim when full

  ~Cache() {
    for (int i = 0; i < kIdentityCache; ++i) drop(i);
  }
  void drop(int i) noexcept {
    if (id[i] != 0) close(fd[i]);
    id[i] = 0;
  }
  void insert(ProcIdentity who, int pidfd, FreshStamp now) noexcept {
    // The dead go first: their pidfds are not kept past the moment we learn of it.
    int free_i = -1;
    for (int i = 0; i < kIdentityCache; ++i) {
      if (id[i] != 0 && pidfd_exited(fd[i]) != 0) drop(i);
      if (id[i] == 0 && free_i < 0) free_i = i;
    }
    if (free_i < 0) {
      free_i = next;
      next = (next + 1) % kIdentityCache;
      drop(free_i);
    }
    id[free_i] = who;
    fd[free_i] = pidfd;
    checked[free_i] = now;
  }
};
thread_local Cache t_cache;

// Whether pid is held by a live process started at `start` (0: unknown, not compared), by
// /proc alone. A zombie (Z) or a dead task (X) has exited.
bool alive_by_stat(pid_t pid, std::uint32_t start) noexcept {
  auto s = read_stat(pid);
  if (!s || s->state == 'Z' || s->state == 'X') return false;
  return start == 0 || static_cast<std::uint32_t>(s->start) == start;
}

// Whether the process pinned by pidfd `fd` (open on its pid) is the one whose identity has
// high half `tag`, under `scheme`. For start_time, the process must still live after the read
// for the read to have been of it: the caller polls afterwards.
bool pidfd_matches(int fd, pid_t pid, std::uint32_t tag, Scheme scheme) noexcept {
  switch (scheme) {
    case Scheme::pidfs: {
      auto ino = pidfs_ino(fd);
      return ino && *ino == tag;
    }
    case Scheme::start_time:
      return alive_by_stat(pid, tag);
    case Scheme::pid_only:
      return true;
  }
  return false;
}

}  // namespace

ProcIdentity self_identity() noexcept {
  ProcIdentity self = g_self.load(std::memory_order_relaxed);
  if (self != 0) return self;
  const auto pid = static_cast<pid_t>(syscall(SYS_getpid));
  Scheme scheme = Scheme::pid_only;
  std::uint32_t tag = 0;
  if (int fd = pidfd_open(pid); fd >= 0) {
    struct statfs fs {};
    if (fstatfs(fd, &fs) == 0 && fs.f_type == kPidfsMagic) {
      if (auto ino = pidfs_ino(fd)) {
        scheme = Scheme::pidfs;
        tag = *ino;
      }
    }
    close(fd);
  }
  if (scheme == Scheme::pid_only) {
    // /proc must describe our pid namespace (its "self" has our pid) to tell start times.
    if (auto s = read_stat(0); s && s->pid == pid) {
      scheme = Scheme::start_time;
      tag = static_cast<std::uint32_t>(s->start);
    }
  }
  g_scheme.store(scheme, std::memory_order_relaxed);
  self = pack(pid, tag);
  g_self.store(self, std::memory_order_relaxed);
  return self;
}

std::optional<ProcIdentity> identity_of(pid_t pid) noexcept {
  if (pid <= 0 || static_cast<std::uint32_t>(pid) >= kMaxPid) return std::nullopt;
  self_identity();
  switch (g_scheme.load(std::memory_order_relaxed)) {
    case Scheme::pidfs: {
      int fd = pidfd_open(pid);
      if (fd < 0) return std::nullopt;
      auto ino = pidfs_ino(fd);
      const bool exited = pidfd_exited(fd) != 0;
      close(fd);
      if (!ino || exited) return std::nullopt;
      return pack(pid, *ino);
    }
    case Scheme::start_time: {
      auto s = read_stat(pid);
      if (!s || s->state == 'Z' || s->state == 'X') return std::nullopt;
      return pack(pid, static_cast<std::uint32_t>(s->start));
    }
    case Scheme::pid_only:
      if (kill(pid, 0) != 0 && errno == ESRCH) return std::nullopt;
      return pack(pid, 0);
  }
  return std::nullopt;
}

void forget_identities() noexcept {
  for (int i = 0; i < kIdentityCache; ++i) t_cache.drop(i);
}

bool identity_alive(ProcIdentity id, Freshness fresh) noexcept {
  const pid_t pid = identity_pid(id);
  const auto tag = static_cast<std::uint32_t>(id >> 32);
  if (pid <= 0 || static_cast<std::uint32_t>(pid) >= kMaxPid) return false;
  const ProcIdentity self = self_identity();
  if (id == self) return true;
  if (pid == identity_pid(self)) return false;  // our pid, another tag: a process before us
  const Scheme scheme = g_scheme.load(std::memory_order_relaxed);
  if (scheme == Scheme::pid_only && tag != 0) return false;  // we write none: a scribble

  Cache& c = t_cache;
  for (int i = 0; i < kIdentityCache; ++i) {
    if (c.id[i] != id) continue;
    if (fresh == Freshness::recent && fresh_within(c.checked[i], fresh_now(), kAliveReuseNs)) {
      return true;
    }
    // Stamped before the poll: the answer is at least as fresh as the stamp says.
    std::int64_t ns;
    const FreshStamp stamp = fresh_stamp(&ns);
    int exited = pidfd_exited(c.fd[i]);
    if (exited == 0) {
      c.checked[i] = stamp;
      return true;
    }
    c.drop(i);
    if (exited == 1) return false;
    break;  // the pidfd failed us: judge afresh
  }

  // First meeting. The pidfd pins the process that held pid when it was opened; for
  // start_time, /proc is read after it: if the process still lives after the read, the read
  // described the process the pidfd pins (its pid was not free to reuse in between).
  std::int64_t ns;
  const FreshStamp stamp = fresh_stamp(&ns);
  const int fd = pidfd_open(pid);
  if (fd < 0) {
    if (errno == ESRCH || errno == EINVAL) return false;
    // No pidfds (ENOSYS, seccomp) or no descriptors left: /proc alone, every time.
    if (scheme == Scheme::start_time) return alive_by_stat(pid, tag);
    return kill(pid, 0) == 0 || errno != ESRCH;
  }
  bool alive = pidfd_matches(fd, pid, tag, scheme);
  if (alive) alive = pidfd_exited(fd) == 0;
  if (!alive) {
    close(fd);
    return false;
  }
  c.insert(id, fd, stamp);
  return true;
}

pid_t self_pid() noexcept {
  if (g_pid == 0) g_pid = static_cast<pid_t>(syscall(SYS_getpid));  // before static init ran
  return g_pid;
}

pid_t self_tid() noexcept {
  if (t_tid == 0) t_tid = static_cast<pid_t>(syscall(SYS_gettid));
  return t_tid;
}

bool owner_alive(const std::atomic<std::uint64_t>& owner) noexcept {
  return identity_alive(owner.load(std::memory_order_acquire));
}

bool owner_alive_now(const std::atomic<std::uint64_t>& owner) noexcept {
  return identity_alive(owner.load(std::memory_order_acquire), Freshness::now);
}

bool owned_by_me(const std::atomic<std::uint64_t>& owner) noexcept {
  return owner.load(std::memory_order_acquire) == self_identity();
}

}  // namespace ceramic::detail
