// ceramic — a child's lifeline to its parent process (see lifeline.hpp for the protocol).

#include "lifeline.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <system_error>
#include <vector>

namespace ceramic::detail {
namespace {

// The write ends this process holds, one per live child. Guarded by registry_lock; a fork
// through Lifeline holds the lock, so the child inherits a consistent vector and a lock that its
// only thread owns.
std::mutex registry_lock;
std::vector<int>& registry() {
  static auto* fds = new std::vector<int>;  // never destroyed: Procs may outlive statics
  return *fds;
}

// The read end of this process's own lifeline (-1 in a process not made by a Proc). Its
// children close their copy: only the child it belongs to needs it.
int own_read_end = -1;

}  // namespace

Lifeline::Lifeline() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "ceramic: pipe for a Proc");
  }
  read_end_ = fds[0];
  write_end_ = fds[1];
  registry_lock.lock();
  locked_ = true;
  try {
    registry().reserve(registry().size() + 1);  // in_parent() must not allocate
  } catch (...) {
    close(read_end_);
    close(write_end_);
    registry_lock.unlock();
    throw;
  }
}

Lifeline::~Lifeline() {
  if (locked_) registry_lock.unlock();
}

void Lifeline::in_child() noexcept {
  // Every write end of the parent's, this child's own included, and the parent's lock (ours now).
  for (int fd : registry()) close(fd);
  registry().clear();
  close(write_end_);
  if (own_read_end >= 0) close(own_read_end);  // the parent's lifeline, not ours
  registry_lock.unlock();
  locked_ = false;
  own_read_end = read_end_;
  // Arm: this process owns the read end; a hang-up sends SIGKILL in place of SIGIO.
  int fd = read_end_;
  bool armed = fcntl(fd, F_SETFD, 0) == 0 &&  // kept across exec, like a death signal
               fcntl(fd, F_SETOWN, getpid()) == 0 && fcntl(fd, F_SETSIG, SIGKILL) == 0 &&
               fcntl(fd, F_SETFL, O_ASYNC | O_NONBLOCK) == 0;
  if (!armed) _exit(128 + SIGKILL);  // a child that cannot be tied to its parent must not run
  // Then look: a parent gone before the arming left a pipe without writers.
  pollfd p{fd, POLLIN, 0};
  int rc;
  while ((rc = poll(&p, 1, 0)) < 0 && errno == EINTR) {
  }
  if (rc != 0) _exit(128 + SIGKILL);  // POLLHUP (or an error): the parent is gone
}

int Lifeline::in_parent(bool fork_failed) noexcept {
  close(read_end_);
  read_end_ = -1;
  int fd = write_end_;
  if (fork_failed) {
    close(fd);
    fd = -1;
  } else {
    registry().push_back(fd);
  }
  write_end_ = -1;
  registry_lock.unlock();
  locked_ = false;
  return fd;
}

void release_lifeline(int write_end) noexcept {
  if (write_end < 0) return;
  {
    std::lock_guard<std::mutex> lk(registry_lock);
    auto& fds = registry();
    fds.erase(std::remove(fds.begin(), fds.end(), write_end), fds.end());
  }
  close(write_end);
}

}  // namespace ceramic::detail
