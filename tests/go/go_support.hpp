// ceramic tests — the Go-derived suite's vocabulary: Go's `go f()` and sync.WaitGroup as a
// Group of threads (thread mode, ceramic-tests-go-threads) or of Procs (process mode,
// ceramic-tests-go-procs), and channel operations that never wait longer than kPatience.
//
// Every test in tests/go is compiled once per mode from the same source: CERAMIC_GO_PROCS
// selects process mode. A body that fails throws (require(), a bounded operation that ran out
// of patience); the Group reports it from wait(): in thread mode the exception's message, in
// process mode the child's exit code (Proc prints the message on stderr).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/test_support.hpp"

namespace ceramic_go {

using namespace ceramic_test;

#if defined(CERAMIC_GO_PROCS)
inline constexpr bool kProcessMode = true;
inline constexpr const char* kMode = "processes";
#else
inline constexpr bool kProcessMode = false;
inline constexpr const char* kMode = "threads";
#endif

// Round counts: `normal` in the plain build, `sanitized` under ASan/UBSan or TSan (which slow
// every operation down by an order of magnitude), times CERAMIC_TEST_SCALE.
inline int rounds(int normal, int sanitized) {
#if defined(CERAMIC_GO_SANITIZED)
  (void)normal;
  return sanitized * scale();
#else
  (void)sanitized;
  return normal * scale();
#endif
}

// Go's `go f()` for a fixed set of bodies, and the WaitGroup that waits for them.
// Not thread-safe: one thread (or process) starts and waits.
class Group {
 public:
  Group() = default;
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  ~Group() { (void)wait(); }

  void go(std::string name, std::function<void()> body) {
#if defined(CERAMIC_GO_PROCS)
    procs_.emplace_back(std::move(name), std::move(body));
#else
    threads_.emplace_back([this, name = std::move(name), body = std::move(body)] {
      try {
        body();
      } catch (const std::exception& e) {
        fail(name + ": " + e.what());
      } catch (...) {
        fail(name + ": unknown exception");
      }
    });
#endif
  }

  // Waits for every body (each has at most kPatience per operation, so this ends). "" when all
  // succeeded, else what went wrong, one line per failed body.
  std::string wait() {
#if defined(CERAMIC_GO_PROCS)
    for (ceramic::Proc& p : procs_) {
      std::optional<int> code = p.join_for(2 * kPatience);
      if (!code) {
        failures_ += p.name() + ": still running after " +
                     std::to_string(2 * kPatience.count()) + " s\n";
      } else if (*code != 0) {
        failures_ += p.name() + ": exited with " + std::to_string(*code) + "\n";
      }
    }
    procs_.clear();
#else
    for (std::thread& t : threads_) t.join();
    threads_.clear();
#endif
    return failures_;
  }

 private:
#if defined(CERAMIC_GO_PROCS)
  std::vector<ceramic::Proc> procs_;
#else
  void fail(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_ += what + "\n";
  }
  std::mutex mu_;
  std::vector<std::thread> threads_;
#endif
  std::string failures_;
};

// c <- v, waiting at most kPatience. False if c is closed; throws if no receiver came.
template <class T>
bool put(ceramic::Chan<T>& c, const T& v) {
  ceramic::Status st = c.send_for(v, kPatience);
  if (st == ceramic::Status::closed) return false;
  require(st == ceramic::Status::ok, "send: " + str(st));
  return true;
}

// <-c, waiting at most kPatience. std::nullopt once c is closed and drained; throws if no
// sender came.
template <class T>
std::optional<T> take(ceramic::Chan<T>& c) {
  T v{};
  ceramic::Status st = c.recv_for(v, kPatience);
  if (st == ceramic::Status::closed) return std::nullopt;
  require(st == ceramic::Status::ok, "receive: " + str(st));
  return v;
}

// <-c without ever sleeping: polls c until a value arrives (or c is closed: std::nullopt), for
// at most kPatience. Lets a race test know that this side is running, not waking up, when
// the value lands.
template <class T>
std::optional<T> take_spinning(ceramic::Chan<T>& c) {
  const auto give_up = Clock::now() + kPatience;
  for (std::uint32_t polls = 0;; ++polls) {
    // On a loaded machine the other side may need this core: after a while, let it run.
    if (polls > 4096) std::this_thread::yield();
    T v{};
    ceramic::Status st = c.recv_for(v, std::chrono::nanoseconds(0));
    if (st == ceramic::Status::ok) return v;
    if (st == ceramic::Status::closed) return std::nullopt;
    require(Clock::now() < give_up, "receive: nothing within the test's patience");
  }
}

// Busy work of `n` steps (a few nanoseconds each): shifts one side of a race against the other
// so that a test reaches more interleavings. Never a way to wait for something.
inline void jitter(std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i) asm volatile("" : "+r"(i));
}

// The case that bounds a blocking select in a test: if nothing else fired within kPatience,
// the test fails (the select's callback throws).
inline auto or_give_up(const char* what) {
  return ceramic::on_timeout(kPatience, [what] {
    throw std::runtime_error(std::string(what) + ": no case ready within the test's patience");
  });
}

}  // namespace ceramic_go
