// ceramic tests — helpers shared by the thread-mode and process-mode suites.
//
// Rules the suites follow (and these helpers make easy):
//   - No test waits on time passing. Every wait is on an event (a channel, a hook event, a
//     process exit) and every wait is bounded by kPatience, a deadline only a bug reaches; the
//     test then fails instead of hanging.
//   - GoogleTest assertions in a forked child never reach the parent. Children report through
//     their exit code: require() throws, Proc turns the uncaught exception into exit code 1 and
//     prints the message on stderr, and the parent checks exits_with(proc, 0).
//   - Stress sizes are moderate and multiplied by CERAMIC_TEST_SCALE (default 1).
//   - Randomised tests draw from seed(): CERAMIC_TEST_SEED, or a fresh seed that is printed
//     on failure (SCOPED_TRACE) so the run can be repeated.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "ceramic/ceramic.hpp"
#include "ceramic/hooks.hpp"

namespace ceramic_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// How long a wait may take before the test calls it a hang. Far beyond any legitimate wait,
// also under sanitizers on a loaded 2-core machine.
inline constexpr std::chrono::seconds kPatience{30};

// CERAMIC_TEST_SCALE multiplies stress sizes (1 by default; CI under sanitizers keeps 1).
inline int scale() {
  const char* s = std::getenv("CERAMIC_TEST_SCALE");
  if (s == nullptr || *s == '\0') return 1;
  int v = std::atoi(s);
  return v < 1 ? 1 : (v > 1000 ? 1000 : v);
}

// CERAMIC_TEST_SEED repeats a randomised run; otherwise a fresh seed per test.
inline std::uint64_t seed() {
  if (const char* s = std::getenv("CERAMIC_TEST_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

// A name for a named channel that no other test (or concurrent run) uses: the pid, a counter,
// and what the test calls it.
inline std::string unique_name(const std::string& what) {
  static std::atomic<int> counter{0};
  return "test-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + "-" + what;
}

inline std::string seed_note(std::uint64_t s) {
  return "random seed " + std::to_string(s) + " (repeat with CERAMIC_TEST_SEED=" +
         std::to_string(s) + ")";
}

// In a child process: fail the child (exit code 1, message on stderr) unless ok.
inline void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("check failed: " + what);
}

inline std::string str(ceramic::Status s) { return ceramic::to_string(s); }

// n objects of T in anonymous MAP_SHARED memory: forked children write, the parent reads.
// T must be usable across processes (trivially copyable, or lock-free atomics).
template <class T>
class SharedArray {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  explicit SharedArray(std::size_t n) : n_(n == 0 ? 1 : n) {
    void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap MAP_SHARED failed");
    data_ = static_cast<T*>(p);
    for (std::size_t i = 0; i < n_; ++i) new (&data_[i]) T{};
  }
  ~SharedArray() { munmap(data_, bytes()); }
  SharedArray(const SharedArray&) = delete;
  SharedArray& operator=(const SharedArray&) = delete;

  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return n_; }

 private:
  std::size_t bytes() const { return (n_ * sizeof(T) + 4095) / 4096 * 4096; }
  std::size_t n_;
  T* data_ = nullptr;
};

using Counters = SharedArray<std::atomic<std::uint32_t>>;
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

// Polls pred until it holds or `limit` passes. For events that have no channel to wait on
// (a hook counter, a process disappearing); never used to let time pass.
template <class Pred>
bool eventually(Pred pred, std::chrono::nanoseconds limit = kPatience) {
  const auto end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(200us);
  }
  return true;
}

// The child exits with `code` within `limit` (else the Proc destructor kills it later).
inline ::testing::AssertionResult exits_with(ceramic::Proc& p, int code,
                                             std::chrono::nanoseconds limit = kPatience) {
  std::optional<int> got = p.join_for(limit);
  if (!got) {
    return ::testing::AssertionFailure()
           << "process '" << p.name() << "' (pid " << p.pid() << ") still running after "
           << std::chrono::duration_cast<std::chrono::seconds>(limit).count() << " s";
  }
  if (*got != code) {
    return ::testing::AssertionFailure() << "process '" << p.name() << "' (pid " << p.pid()
                                         << ") exited with " << *got << ", expected " << code;
  }
  return ::testing::AssertionSuccess();
}

// Counts hook events on one channel, in MAP_SHARED memory so that events in forked children
// (which inherit the installed observer) are counted too. Lets a test wait until N operations
// are really blocked before it closes the channel, instead of sleeping and hoping.
class BlockWatch final : public ceramic::hooks::Observer {
 public:
  explicit BlockWatch(std::uint64_t channel) : channel_(channel), counts_(4) {
    previous_ = ceramic::hooks::install(this);
  }
  ~BlockWatch() { ceramic::hooks::install(previous_); }
  BlockWatch(const BlockWatch&) = delete;
  BlockWatch& operator=(const BlockWatch&) = delete;

  void on_event(const ceramic::hooks::Record& r) noexcept override {
    if (r.channel != channel_) return;
    using ceramic::hooks::Event;
    using ceramic::hooks::Op;
    if (r.event == Event::block && r.op == Op::send) counts_[0].fetch_add(1);
    if (r.event == Event::block && r.op == Op::recv) counts_[1].fetch_add(1);
    if (r.event == Event::unblock && r.op == Op::send) counts_[2].fetch_add(1);
    if (r.event == Event::unblock && r.op == Op::recv) counts_[3].fetch_add(1);
  }
  std::uint32_t senders_blocked() const { return counts_[0].load(); }
  std::uint32_t receivers_blocked() const { return counts_[1].load(); }
  // Blocked right now (block events minus unblock events).
  std::uint32_t senders_waiting() const { return counts_[0].load() - counts_[2].load(); }
  std::uint32_t receivers_waiting() const { return counts_[1].load() - counts_[3].load(); }

  bool await_senders(std::uint32_t n) {
    return eventually([&] { return senders_waiting() >= n; });
  }
  bool await_receivers(std::uint32_t n) {
    return eventually([&] { return receivers_waiting() >= n; });
  }

 private:
  std::uint64_t channel_;
  Counters counts_;
  ceramic::hooks::Observer* previous_ = nullptr;
};

// ---- deterministic payloads ------------------------------------------------------------------

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// n bytes that depend on every position and on salt: a shifted, truncated or mixed-up copy
// does not match.
inline std::string pattern(std::size_t n, std::uint64_t salt) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t w = splitmix64(salt * 0x100000001b3ull + i);
    std::memcpy(s.data() + i, &w, std::min<std::size_t>(8, n - i));
  }
  return s;
}

// "" if s == pattern(n, salt), else a description of the first difference.
inline std::string pattern_mismatch(const std::string& s, std::size_t n, std::uint64_t salt) {
  if (s.size() != n) {
    return "size " + std::to_string(s.size()) + ", expected " + std::to_string(n);
  }
  const std::string want = pattern(n, salt);
  if (s == want) return "";
  std::size_t i = 0;
  while (s[i] == want[i]) ++i;
  return "first wrong byte at offset " + std::to_string(i) + " of " + std::to_string(n);
}

// A value that carries its own identity: "<id>:" then a pattern whose length and content
// depend on id. Lengths cycle through inline and out-of-line sizes (inline_bytes = 1024).
inline std::size_t tagged_length(std::uint64_t id) {
  static constexpr std::size_t kLengths[] = {0, 1, 7, 100, 1000, 1024, 1025, 3000, 20000};
  return kLengths[id % (sizeof kLengths / sizeof kLengths[0])];
}
inline std::string tagged_value(std::uint64_t id) {
  return std::to_string(id) + ":" + pattern(tagged_length(id), id);
}
// The id of a tagged value, or -1 if it is malformed (wrong length or content).
inline std::int64_t tagged_id(const std::string& v) {
  std::size_t colon = v.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 20) return -1;
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < colon; ++i) {
    if (v[i] < '0' || v[i] > '9') return -1;
    id = id * 10 + static_cast<std::uint64_t>(v[i] - '0');
  }
  if (v.compare(colon + 1, std::string::npos, pattern(tagged_length(id), id)) != 0) return -1;
  return static_cast<std::int64_t>(id);
}

// ---- process resources ------------------------------------------------------------------------

inline int count_dir_entries(const char* path) {
  DIR* d = opendir(path);
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) ++n;
  }
  closedir(d);
  return n;
}

// Open file descriptors of this process (the directory stream's own fd included, every time).
inline int count_open_fds() { return count_dir_entries("/proc/self/fd"); }

// Lines of /proc/self/maps: one per mapping.
inline int count_mappings() {
  std::ifstream in("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

struct ChildInfo {
  pid_t pid;
  char state;  // 'Z' for a zombie
};

// Every process whose parent is this process (running or zombie), from /proc/<pid>/stat.
inline std::vector<ChildInfo> children_of_this_process() {
  std::vector<ChildInfo> out;
  const pid_t self = getpid();
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    std::size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 4 >= line.size()) continue;
    char state = line[paren + 2];
    long ppid = std::strtol(line.c_str() + paren + 4, nullptr, 10);
    if (ppid == self) out.push_back({static_cast<pid_t>(std::atol(e->d_name)), state});
  }
  closedir(d);
  return out;
}

inline std::string describe(const std::vector<ChildInfo>& kids) {
  std::string s;
  for (const ChildInfo& k : kids) {
    s += " pid " + std::to_string(k.pid) + " state " + std::string(1, k.state) + ";";
  }
  return s;
}

// True once the process `pid` (not necessarily our child) has exited, waiting at most limit.
// Waits on a pidfd, which becomes readable when the process exits.
inline bool await_process_exit(pid_t pid, std::chrono::milliseconds limit) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return errno == ESRCH;  // already gone (and reaped)
  pollfd p{fd, POLLIN, 0};
  int rc = poll(&p, 1, static_cast<int>(limit.count()));
  close(fd);
  return rc == 1;
}

}  // namespace ceramic_test
