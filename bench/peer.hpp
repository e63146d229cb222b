// ceramic bench — the other side of a benchmark: forked children, shared memory, CPU pinning, and
// the watchdog that keeps every benchmark bounded.
//
// Rules every cross-process benchmark follows:
//   - A child never outlives the benchmark: PR_SET_PDEATHSIG(SIGKILL) covers the benchmark
//     process dying, the ForkedPeer destructor (like ceramic::Proc's) kills and reaps it otherwise.
//   - A child leaves with _exit(): it must not flush stdio buffers it inherited, nor run the
//     parent's atexit handlers.
//   - The measuring side never blocks forever: a Watchdog kills the peer and calls the
//     mechanism's unblock() if no handoff completes for kStallLimit.
//
// Thread safety: none of these classes is thread-safe; the Watchdog's callback runs on its own
// thread and must only do things that are (kill(2), setting an atomic, close/shutdown).
#pragma once

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "settings.hpp"

namespace bench {

// Thrown by a peer body when its side of a handoff failed; the peer then exits with status 1.
struct PeerFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Exit code or 128 + signal, from a waitpid status.
inline int exit_code(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// A child inherits the parent's unflushed stdio buffers; flush them so that nothing can be
// printed twice (ceramic::Proc's child may leave through exit()).
inline void flush_before_fork() {
  std::cout.flush();
  std::fflush(nullptr);
}

// A forked child running `body`; the same shape as ceramic::Proc (pid, join_for, kill on
// destruction) so the drivers can take either.
class ForkedPeer {
 public:
  template <class F>
  explicit ForkedPeer(F&& body) {
    flush_before_fork();
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
      int code = 0;
      try {
        body();
      } catch (...) {
        code = 1;
      }
      _exit(code);
    }
    if (pid_ < 0) throw std::runtime_error("fork failed");
  }
  ForkedPeer(const ForkedPeer&) = delete;
  ForkedPeer& operator=(const ForkedPeer&) = delete;
  ~ForkedPeer() {
    if (pid_ > 0 && !code_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  pid_t pid() const noexcept { return pid_; }

  // Waits up to `limit` for the child to exit; std::nullopt if it is still running.
  std::optional<int> join_for(std::chrono::nanoseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    auto nap = std::chrono::microseconds(50);
    while (!code_) {
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        code_ = exit_code(status);
      } else if (r < 0 && errno != EINTR) {
        code_ = -1;
      } else if (std::chrono::steady_clock::now() >= until) {
        return std::nullopt;
      } else {
        std::this_thread::sleep_for(nap);
        nap = std::min(nap * 2, std::chrono::microseconds(10'000));
      }
    }
    return code_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> code_;
};

inline std::string explain_exit(std::optional<int> code) {
  if (!code) return "the peer is still running";
  if (*code > 128) return "the peer was killed by signal " + std::to_string(*code - 128);
  return "the peer exited with status " + std::to_string(*code);
}

// For error messages, once a handoff has failed: did the watchdog fire, and how did the peer
// end? Waits briefly for the peer (a ForkedPeer or a ceramic::Proc) to exit.
template <class Peer>
std::string explain_peer(Peer& peer, const std::atomic<std::uint32_t>& watchdog_fired) {
  std::string s = watchdog_fired.load() != 0 ? "watchdog fired; " : "";
  return s + explain_exit(peer.join_for(std::chrono::milliseconds(200)));
}

// A T placed in its own MAP_SHARED anonymous mapping: shared with children forked later.
template <class T>
class SharedMapping {
  static_assert(std::is_trivially_destructible_v<T>, "shared state must not need a destructor");

 public:
  SharedMapping() {
    void* p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap(MAP_SHARED) failed");
    ptr_ = new (p) T{};
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping() { munmap(ptr_, sizeof(T)); }

  T* operator->() const noexcept { return ptr_; }
  T& operator*() const noexcept { return *ptr_; }

 private:
  T* ptr_ = nullptr;
};

// Pins the calling thread (and so the children it forks) to CPU 0 while alive, if asked to.
class ScopedPinning {
 public:
  explicit ScopedPinning(bool pin) {
    if (!pin) return;
    if (sched_getaffinity(0, sizeof(saved_), &saved_) != 0)
      throw std::runtime_error("sched_getaffinity failed");
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0)
      throw std::runtime_error("sched_setaffinity(CPU 0) failed");
    active_ = true;
  }
  ScopedPinning(const ScopedPinning&) = delete;
  ScopedPinning& operator=(const ScopedPinning&) = delete;
  ~ScopedPinning() {
    if (active_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }

 private:
  cpu_set_t saved_{};
  bool active_ = false;
};

// Calls on_expire from its own thread when `progress` has not moved for `stall_limit`: one
// handoff has taken that long, so something hangs. (A per-invocation time limit would not do:
// the iteration count of an invocation is predicted from an earlier one, and on a loaded
// 2-core machine a handoff can become a hundred times slower in between.)
// Start it after the last fork of the invocation (children of a multi-threaded parent only get
// the forking thread, but there is no reason to make them).
class Watchdog {
 public:
  Watchdog(const std::atomic<std::uint64_t>& progress, std::chrono::nanoseconds stall_limit,
           std::function<void()> on_expire)
      : thread_([this, &progress, stall_limit, f = std::move(on_expire)] {
          std::unique_lock lock(mu_);
          std::uint64_t seen = progress.load(std::memory_order_relaxed);
          auto last_move = std::chrono::steady_clock::now();
          while (!cv_.wait_for(lock, kPoll, [this] { return disarmed_; })) {
            const std::uint64_t now_seen = progress.load(std::memory_order_relaxed);
            const auto now = std::chrono::steady_clock::now();
            if (now_seen != seen) {
              seen = now_seen;
              last_move = now;
            } else if (now - last_move >= stall_limit) {
              fired_ = true;
              lock.unlock();
              f();
              return;
            }
          }
        }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { disarm(); }

  // Stops watching (or waits for a running on_expire to return). Returns whether it fired.
  bool disarm() {
    {
      std::lock_guard lock(mu_);
      disarmed_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  static constexpr std::chrono::milliseconds kPoll{250};
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts after the fields above exist
};

}  // namespace bench
