// ceramic-run's status line: on a terminal, one line on stderr that says what the watchdog is
// watching (processes, threads and how many wait, channels, time), redrawn in place once a
// second after the first two. Not on a terminal (a CI log), or with --progress=off, it writes
// nothing. Anything else ceramic-run prints clears it first.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include "ceramic/detector/snapshot.hpp"

namespace ceramic::tools {

class StatusLine {
 public:
  // mode: "on", "off" or "auto" (on when stderr is a terminal).
  StatusLine(const std::string& mode, std::string program)
      : on_(mode == "on" || (mode == "auto" && isatty(STDERR_FILENO) == 1)),
        program_(std::move(program)),
        started_(std::chrono::steady_clock::now()) {}

  void update(const detector::Snapshot& s) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - started_ < std::chrono::seconds(2) || now - drawn_ < std::chrono::seconds(1)) return;
    drawn_ = now;
    std::set<pid_t> alive;
    std::size_t threads = 0, blocked = 0;
    for (const auto& t : s.threads) {
      if (t.state == trace::ThreadState::exited || t.state == trace::ThreadState::finished) continue;
      if (s.is_dead(t.pid)) continue;
      alive.insert(t.pid);
      ++threads;
      blocked += t.blocked() ? 1 : 0;
    }
    double secs = std::chrono::duration<double>(now - started_).count();
    std::fprintf(stderr, "\r\033[Kceramic-run: %s: %zu process%s, %zu thread%s (%zu waiting), %zu channel%s, %.0f s",
                 program_.c_str(), alive.size(), alive.size() == 1 ? "" : "es", threads,
                 threads == 1 ? "" : "s", blocked, s.channels.size(), s.channels.size() == 1 ? "" : "s",
                 secs);
    std::fflush(stderr);
    shown_ = true;
  }

  void clear() {
    if (!shown_) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    shown_ = false;
  }

 private:
  bool on_;
  std::string program_;
  std::chrono::steady_clock::time_point started_, drawn_{};
  bool shown_ = false;
};

}  // namespace ceramic::tools
