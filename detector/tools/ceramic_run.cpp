// ceramic-run: runs a program under the tracer and a live deadlock watchdog.
//
//   ceramic-run [options] -- PROGRAM ARGS...
//
// Exit status: the program's own (128 + signal if it was killed), or 3 after a confirmed
// deadlock, once the report is printed to stderr and the process tree is killed, or 3 after the
// program ended having leaked a process (--leaks=error, the default; see leaks.hpp). 125:
// ceramic-run itself failed (bad options, cannot create the trace, cannot start the program).
//
// The trace file is read, never trusted (ceramic/detector/snapshot.hpp): if the program
// truncates or corrupts it, ceramic-run says so once and lets the program run on unwatched
// until the file is readable again.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/formats.hpp"
#include "ceramic/detector/leaks.hpp"
#include "ceramic/detector/snapshot.hpp"
#include "ceramic/trace_format.hpp"
#include "status_line.hpp"

namespace {

constexpr int kDeadlockExit = 3;
constexpr int kToolFailure = 125;

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) {
    std::fprintf(stderr, "ceramic-run: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  return true;
}

int decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kToolFailure;
}

// Waits up to ms for the child to exit; returns its status code, or -1 if it still runs.
int wait_child(pid_t pid, int pidfd, int ms) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc;
    while ((rc = poll(&p, 1, ms)) < 0 && errno == EINTR) {
    }
  } else {
    usleep(static_cast<useconds_t>(ms) * 1000);
  }
  int status = 0;
  pid_t rc = waitpid(pid, &status, WNOHANG);
  return rc == pid ? decode(status) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs a program linked against ceramic under the tracer and a live deadlock "
               "watchdog.\nExits with the program's status, or 3 after a confirmed deadlock."};
  std::string trace_path;
  // --text, --json, --dot, --html, --junit FILE: one option per row of the format table.
  std::vector<std::string> outputs(ceramic::detector::formats().size());
  int interval_ms = 100;
  bool no_kill = false, quiet = false;
  std::vector<std::string> command;
  std::string leaks_mode = "error";
  std::string progress = "auto";
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& f = ceramic::detector::formats()[i];
    app.add_option(std::string("--") + f.name, outputs[i], f.help)->type_name("FILE");
  }
  app.add_option("--trace", trace_path, "keep the trace in FILE (must not exist) for ceramic-trace")
      ->type_name("FILE");
  app.add_option("--interval", interval_ms, "watch interval in milliseconds (default 100)")
      ->check(CLI::Range(10, 10000));
  app.add_flag("--no-kill", no_kill, "report a deadlock but leave the program running");
  app.add_option("--leaks", leaks_mode,
                 "processes left blocked forever when the program ends: error (report, exit 3; "
                 "default), warn (report, keep the program's status) or off")
      ->check(CLI::IsMember({"error", "warn", "off"}));
  app.add_flag("-q,--quiet", quiet, "print nothing unless there is a deadlock");
  app.add_option("--progress", progress,
                 "a status line (processes, threads, channels, time) on stderr: on, off, or auto "
                 "(the default: when stderr is a terminal)")
      ->check(CLI::IsMember({"on", "off", "auto"}));
  app.add_option("command", command, "PROGRAM ARGS... (after --)")->required();
  app.positionals_at_end();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kToolFailure;
  }

  bool keep_trace = !trace_path.empty();
  if (!keep_trace) {
    const char* tmp = std::getenv("TMPDIR");
    trace_path = std::string(tmp && *tmp ? tmp : "/tmp") + "/ceramic-trace." +
                 std::to_string(getpid());
    unlink(trace_path.c_str());
  }
  try {
    ceramic::trace::create_file(trace_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ceramic-run: %s\n", e.what());
    return kToolFailure;
  }
  auto cleanup = [&] {
    if (!keep_trace) unlink(trace_path.c_str());
  };
  // Opened before the program starts: what it does to the file later is read as it is.
  std::optional<ceramic::detector::TraceFile> trace;
  try {
    trace = ceramic::detector::TraceFile::map(trace_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ceramic-run: %s\n", e.what());
    cleanup();
    return kToolFailure;
  }

  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "ceramic-run: fork: %s\n", std::strerror(errno));
    cleanup();
    return kToolFailure;
  }
  if (child == 0) {
    setpgid(0, 0);  // its own process group: the whole tree can be killed at once
    setenv(ceramic::trace::kEnvVar, trace_path.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : command) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "ceramic-run: cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(child, child);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  auto started = std::chrono::steady_clock::now();

  ceramic::tools::StatusLine status(quiet ? "off" : progress, command[0]);
  // The trace is untrusted: the program may truncate or scribble on it. A trace that cannot
  // be read is said once per distinct reason (with what it costs: `consequence`); the program
  // runs on, and watching resumes if the file becomes readable again.
  std::string last_error;
  auto trace_failed = [&](const char* consequence, const std::exception& e) {
    if (last_error == e.what()) return;
    last_error = e.what();
    status.clear();
    std::fprintf(stderr, "ceramic-run: cannot read the trace (%s): %s\n", consequence, e.what());
  };
  std::string name;
  for (const auto& a : command) name += (name.empty() ? "" : " ") + a;
  // Writes every file the user asked for, from what this run found (report: none if it passed).
  auto write_outputs = [&](bool failed, std::string verdict, const ceramic::detector::Report* r) {
    bool any = false;
    for (const auto& o : outputs) any = any || !o.empty();
    if (!any) return;  // building the timeline reads the whole ring: only for a file
    ceramic::detector::ReportDocument doc;
    doc.tool = "ceramic-run";
    doc.name = name;
    doc.failed = failed;
    doc.verdict = std::move(verdict);
    if (r) {
      doc.report = *r;
      doc.text = ceramic::detector::to_text(*r);
    }
    doc.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    try {
      auto snap = trace->snapshot(false);
      doc.timeline = ceramic::detector::build_timeline(snap, trace->events(), snap.taken_ns);
    } catch (const std::exception& e) {
      trace_failed("no timeline in the report", e);
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      // The reports exist only when something was found; the JUnit file says how every run went.
      const auto& f = ceramic::detector::formats()[i];
      if (outputs[i].empty() || (r == nullptr && f.format != ceramic::detector::Format::junit)) continue;
      write_file(outputs[i], f.render(doc));
    }
  };
  auto verdict_of = [](const ceramic::detector::Report& r) {
    return std::string(r.leak ? "leak: " : "deadlock: ") + std::to_string(r.stuck.size()) +
           (r.stuck.size() == 1 ? " thread" : " threads") +
           (r.leak ? " left blocked forever (" : " can never proceed (") + kind_name(r.kind) + ")";
  };
  auto exited = [&](int code) {
    write_outputs(code != 0, code == 0 ? "passed: exited with status 0, no deadlock"
                                       : "exited with status " + std::to_string(code) + ", no deadlock",
                  nullptr);
  };
  // The program has ended (status code): judge what it left blocked, write the files, return
  // ceramic-run's status. Every way out after the program ends goes through here, so a program
  // that exits while a deadlock is being confirmed is still checked for leaks.
  auto program_ended = [&](int code) -> int {
    status.clear();
    if (leaks_mode != "off") {
      ceramic::detector::Report leaks;
      try {
        leaks = ceramic::detector::find_leaks(trace->snapshot(false), trace->events());
      } catch (const std::exception& e) {
        trace_failed("no leak can be seen", e);
      }
      if (leaks.leak) {
        std::fputs(ceramic::detector::to_text(leaks).c_str(), stderr);
        write_outputs(leaks_mode == "error" || code != 0, verdict_of(leaks), &leaks);
        if (keep_trace) {
          std::fprintf(stderr, "  trace: %s (ceramic-trace dump|chrome|analyze %s)\n",
                       trace_path.c_str(), trace_path.c_str());
        }
        std::fprintf(stderr, "ceramic-run: %s exited with status %d, leaving %zu thread(s) "
                     "blocked forever (--leaks=%s)\n", command[0].c_str(), code,
                     leaks.stuck.size(), leaks_mode.c_str());
        cleanup();
        return leaks_mode == "error" ? kDeadlockExit : code;
      }
    }
    if (!quiet) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::fprintf(stderr, "ceramic-run: %s exited with status %d after %.2f s, no deadlock\n",
                   command[0].c_str(), code, s);
    }
    exited(code);
    cleanup();
    return code;
  };
  for (;;) {
    int code = wait_child(child, pidfd, interval_ms);
    if (code >= 0) return program_ended(code);
    ceramic::detector::Report first;
    try {
      auto snap = trace->snapshot(true);
      status.update(snap);
      first = ceramic::detector::analyze(snap);
      last_error.clear();
      if (!first.deadlock) continue;
      // Confirm: a second look after the interval must find the same threads, unmoved.
      if ((code = wait_child(child, pidfd, interval_ms)) >= 0) return program_ended(code);
      auto second = ceramic::detector::analyze(trace->snapshot(true));
      if (!ceramic::detector::confirms(first, second)) continue;
      first = std::move(second);
    } catch (const std::exception& e) {
      trace_failed("no deadlock can be seen until it can", e);
      continue;
    }
    status.clear();
    std::fputs(ceramic::detector::to_text(first).c_str(), stderr);
    write_outputs(true, verdict_of(first), &first);
    const std::string& dot_path = outputs[static_cast<std::size_t>(ceramic::detector::Format::dot)];
    const std::string& html_path = outputs[static_cast<std::size_t>(ceramic::detector::Format::html)];
    if (!dot_path.empty()) {
      std::fprintf(stderr, "\n  graph: %s (render: dot -Tsvg %s -o graph.svg)\n", dot_path.c_str(),
                   dot_path.c_str());
    }
    if (!html_path.empty()) std::fprintf(stderr, "  report: %s (open in a browser)\n", html_path.c_str());
    if (keep_trace) {
      std::fprintf(stderr, "  trace: %s (ceramic-trace dump|chrome|analyze %s)\n",
                   trace_path.c_str(), trace_path.c_str());
    }
    if (no_kill) {
      std::fprintf(stderr, "ceramic-run: --no-kill: leaving %s (pid %d) running\n",
                   command[0].c_str(), child);
      while (wait_child(child, pidfd, 1000) < 0) {
      }
    } else {
      kill(-child, SIGKILL);
      kill(child, SIGKILL);
      int ws;
      while (waitpid(child, &ws, 0) < 0 && errno == EINTR) {
      }
      std::fprintf(stderr, "ceramic-run: killed the process tree of %s (pid %d)\n",
                   command[0].c_str(), child);
    }
    cleanup();
    return kDeadlockExit;
  }
}
