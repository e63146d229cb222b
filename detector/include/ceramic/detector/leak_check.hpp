// ceramic::LeakCheck — fail a GoogleTest test whose body leaks a process (header-only).
//
//   TEST(Pool, StopsItsWorkers) {
//     ceramic::LeakCheck leaks;   // first in the body: checked after every Proc below is gone
//     Pool pool(4);
//     pool.stop();
//   }
//
// When the LeakCheck goes out of scope it reads the trace and fails the test (ADD_FAILURE,
// with the same report ceramic-run prints) if a process was ended while blocked without a
// deadline in a ceramic operation since the check began: a leak by the definition in
// docs/deadlock_detection.md (an explicit Proc::kill() is intent; a close releases). Under
// ceramic-run it reads the run's trace (CERAMIC_TRACE); otherwise the first LeakCheck of the
// process starts tracing into an unlinked temporary file, which its later children inherit.
// Processes still alive when the check ends are not judged here (the program has not ended):
// ceramic-run judges them at the program's end.
//
// Why here and header-only: the core knows nothing of the detector or of GoogleTest, and the
// detector library must not depend on GoogleTest either. Only a test that includes this header
// needs GoogleTest and links ceramic::detector. Not thread-safe: one LeakCheck at a time.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include "ceramic/detector/leaks.hpp"
#include "ceramic/detector/snapshot.hpp"
#include "ceramic/trace_format.hpp"

namespace ceramic {

class LeakCheck {
 public:
  LeakCheck() {
    trace_ = trace_file();
    if (!trace_) return;
    try {
      start_ns_ = trace_->snapshot(false).taken_ns;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ceramic::LeakCheck: cannot read the trace: " << e.what();
      trace_ = nullptr;
    }
  }
  // The trace the checks read (nullptr if none could be had): a test may wait on it.
  static const detector::TraceFile* trace() { return trace_file(); }

  LeakCheck(const LeakCheck&) = delete;
  LeakCheck& operator=(const LeakCheck&) = delete;

  ~LeakCheck() {
    if (!trace_) return;
    try {
      detector::Snapshot s = trace_->snapshot(false);
      const pid_t self = getpid();
      for (detector::ThreadInfo& t : s.threads) {
        // Judged here: blocked since the check began, in a process that is gone.
        bool judged = t.blocked() && t.since_ns >= start_ns_ && t.pid != self &&
                      ::kill(t.pid, 0) != 0;
        if (t.blocked() && !judged) t.state = trace::ThreadState::running;
      }
      detector::Report r = detector::find_leaks(s, trace_->events());
      if (r.leak) ADD_FAILURE() << detector::to_text(r);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ceramic::LeakCheck: cannot read the trace: " << e.what();
    }
  }

 private:
  // The trace this process writes to, mapped for reading; nullptr (with a test failure) if
  // none can be had.
  static detector::TraceFile* trace_file() {
    static std::unique_ptr<detector::TraceFile> file = [] {
      std::unique_ptr<detector::TraceFile> out;
      const char* env = std::getenv(trace::kEnvVar);
      std::string path = env && *env ? env : "";
      bool ours = path.empty();
      if (ours) {
        const char* tmp = std::getenv("TMPDIR");
        path = std::string(tmp && *tmp ? tmp : "/tmp") + "/ceramic-leakcheck." +
               std::to_string(getpid()) + "." + std::to_string(std::time(nullptr));
        if (!trace::start(path)) return out;
      }
      try {
        out = std::make_unique<detector::TraceFile>(detector::TraceFile::map(path));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "ceramic::LeakCheck: cannot map the trace " << path << ": " << e.what();
      }
      if (ours) ::unlink(path.c_str());  // the mappings outlive the name
      return out;
    }();
    if (!file) ADD_FAILURE() << "ceramic::LeakCheck: no trace to read";
    return file.get();
  }

  detector::TraceFile* trace_ = nullptr;
  std::int64_t start_ns_ = 0;
};

}  // namespace ceramic
