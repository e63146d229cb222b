#include "ceramic/proc.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <system_error>

#include "hooks_internal.hpp"
#include "lifeline.hpp"

namespace ceramic {
namespace {

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int decode(int status) noexcept {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 128;
}

hooks::Record proc_record(hooks::Event e, pid_t peer, Site site) {
  hooks::Record r{};
  r.event = e;
  r.op = hooks::Op::join;
  r.peer = peer;
  r.site = site;
  return r;
}

// Sends sig to the child. With a pidfd, it alone names the child: if signalling through it
// fails, the child is gone (perhaps reaped behind our back), and its pid may already be another
// process's. Only a kernel without pidfds falls back to the pid, which stays ours while the
// child is unreaped.
void signal_child(pid_t pid, int pidfd, int sig) noexcept {
  if (pidfd >= 0) {
    syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
    return;
  }
  ::kill(pid, sig);
}

[[noreturn]] void run_child(const std::string& name, const std::function<void()>& body,
                            pid_t parent) noexcept {
  auto* control = detail::controller();
  if (control) control->started(name);
  if (detail::observed()) {
    hooks::Record r{};
    r.event = hooks::Event::start;
    r.peer = parent;
    r.name = name.c_str();
    detail::emit(r);
  }
  int code = 0;
  std::string why;
  try {
    body();
  } catch (const std::exception& e) {
    why = std::string("uncaught exception: ") + e.what();
    code = 1;
  } catch (...) {
    why = "uncaught exception of unknown type";
    code = 1;
  }
  if (!why.empty()) {
    std::fprintf(stderr, "ceramic: %s (pid %d): %s\n", name.empty() ? "proc" : name.c_str(),
                 getpid(), why.c_str());
  }
  std::fflush(nullptr);
  if (control) control->exiting(code, why.empty() ? nullptr : why.c_str());
  if (detail::observed()) {
    hooks::Record r{};
    r.event = hooks::Event::exit;
    r.value = code;
    detail::emit(r);
  }
  _exit(code);
}

}  // namespace

Proc::Proc(std::string name, std::function<void()> body, Site site) : name_(std::move(name)) {
  auto* control = detail::controller();
  if (control) control->spawn(name_, site);
  std::fflush(nullptr);  // or the child would write the parent's buffered output again
  pid_t parent = getpid();
  pid_t pid;
  {
    // Never outlive the parent process: a parent killed with SIGKILL must not leave its children
    // blocked forever on channels nobody else holds.
    detail::Lifeline lifeline;
    pid = fork();
    if (pid == 0) {
      lifeline.in_child();
      run_child(name_, body, parent);
    }
    int saved = errno;
    lifeline_ = lifeline.in_parent(pid < 0);
    if (pid < 0) throw std::system_error(saved, std::generic_category(), "ceramic: fork");
  }
  pid_ = pid;
  if (control) control->spawned(pid);
  pidfd_ = pidfd_open(pid);  // -1 on kernels without pidfd: we fall back to plain pids
  if (detail::observed()) {
    auto r = proc_record(hooks::Event::spawn, pid, site);
    r.name = name_.c_str();
    detail::emit(r);
  }
}

Proc::Proc(Proc&& o) noexcept
    : name_(std::move(o.name_)),
      pid_(o.pid_),
      pidfd_(o.pidfd_),
      lifeline_(o.lifeline_),
      status_(o.status_) {
  o.pid_ = -1;
  o.pidfd_ = -1;
  o.lifeline_ = -1;
}

Proc& Proc::operator=(Proc&& o) noexcept {
  if (this != &o) {
    reap_or_kill();
    name_ = std::move(o.name_);
    pid_ = o.pid_;
    pidfd_ = o.pidfd_;
    lifeline_ = o.lifeline_;
    status_ = o.status_;
    o.pid_ = -1;
    o.pidfd_ = -1;
    o.lifeline_ = -1;
  }
  return *this;
}

Proc::~Proc() { reap_or_kill(); }

int Proc::join(Site site) {
  if (status_) return *status_;
  if (pid_ <= 0) throw std::logic_error("ceramic: join on an empty Proc");
  if (auto* control = detail::controller()) return settle(*control->join(pid_, -1, site));
  return reap(site);
}

int Proc::settle(int code) noexcept {
  status_ = code;
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = -1;
  detail::release_lifeline(lifeline_);  // the child is gone
  lifeline_ = -1;
  return code;
}

int Proc::reap(Site site) {
  bool traced = detail::observed();
  if (traced) detail::emit(proc_record(hooks::Event::join_begin, pid_, site));
  int st = 0;
  pid_t rc;
  while ((rc = waitpid(pid_, &st, 0)) < 0 && errno == EINTR) {
  }
  if (rc < 0) throw std::system_error(errno, std::generic_category(), "ceramic: waitpid");
  status_ = decode(st);
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = -1;
  detail::release_lifeline(lifeline_);  // the child is gone
  lifeline_ = -1;
  if (traced) {
    auto r = proc_record(hooks::Event::join_end, pid_, site);
    r.value = *status_;
    detail::emit(r);
  }
  return *status_;
}

std::optional<int> Proc::join_for(std::chrono::nanoseconds timeout, Site site) {
  if (status_) return status_;
  if (pid_ <= 0) throw std::logic_error("ceramic: join_for on an empty Proc");
  if (auto* control = detail::controller()) {
    auto code = control->join(pid_, std::max<std::int64_t>(timeout.count(), 0), site);
    if (!code) return std::nullopt;
    return settle(*code);
  }
  if (running()) {
    if (pidfd_ < 0) return std::nullopt;
    auto ns = std::max<std::int64_t>(timeout.count(), 0);
    timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    pollfd p{pidfd_, POLLIN, 0};
    int rc;
    while ((rc = ppoll(&p, 1, &ts, nullptr)) < 0 && errno == EINTR) {
    }
    if (rc <= 0) return std::nullopt;
  }
  return join(site);
}

bool Proc::running() {
  if (status_ || pid_ <= 0) return false;
  if (auto* control = detail::controller()) {
    // The controller's answer is the one its schedule follows, and it reaps the child itself.
    int code = 0;
    if (control->running(pid_, &code)) return true;
    settle(code);
    return false;
  }
  int st = 0;
  pid_t rc = waitpid(pid_, &st, WNOHANG);
  if (rc == pid_) {
    status_ = decode(st);
    if (pidfd_ >= 0) close(pidfd_);
    pidfd_ = -1;
    detail::release_lifeline(lifeline_);  // the child is gone
    lifeline_ = -1;
    return false;
  }
  return rc == 0;
}

void Proc::kill(int sig) noexcept {
  if (status_ || pid_ <= 0) return;
  if (auto* control = detail::controller()) return control->kill(pid_, sig);
  // An explicit kill is the program's intent: the trace says so before the signal, so a child
  // it ends while blocked is not reported as a leak (the destructor's signals write no such
  // record).
  if (detail::observed()) {
    hooks::Record r{};
    r.event = hooks::Event::kill;
    r.peer = pid_;
    r.value = sig;
    detail::emit(r);
  }
  signal_child(pid_, pidfd_, sig);
}

void Proc::reap_or_kill() noexcept {
  if (pid_ > 0 && !status_) {
    if (auto* control = detail::controller()) {
      control->discard(pid_);
      status_ = 128 + SIGKILL;
      detail::release_lifeline(lifeline_);  // the controller has ended the child
      lifeline_ = -1;
      return;
    }
    try {
      if (running()) {
        signal_child(pid_, pidfd_, SIGTERM);
        if (!join_for(kill_grace())) {
          signal_child(pid_, pidfd_, SIGKILL);
          join();
        }
      }
    } catch (...) {
      // waitpid failed (the child was reaped elsewhere): nothing left to do
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = -1;
  detail::release_lifeline(lifeline_);  // the child is gone
  lifeline_ = -1;
}

}  // namespace ceramic
