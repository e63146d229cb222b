#include "tree.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace ceramic::sim::detail {
namespace {

// The wait status of a zombie we are not the parent of, from /proc (field 52 of stat).
// -1 when it cannot be read.
int zombie_status(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::size_t close = s.rfind(')');
  if (close == std::string::npos || close + 2 > s.size()) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 52; ++i) {
    if (!(rest >> field)) return -1;
  }
  try {
    return std::stoi(field);
  } catch (...) {
    return -1;
  }
}

}  // namespace

std::string describe_status(int st) {
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  if (WIFEXITED(st)) return "exited with code " + std::to_string(WEXITSTATUS(st));
  return "ended (status " + std::to_string(st) + ")";
}

Trees::Trees() {
  output_fd_ = memfd_create("ceramic-sim-output", MFD_CLOEXEC);
  if (output_fd_ >= 0) fcntl(output_fd_, F_SETFL, O_APPEND);
  prctl(PR_GET_CHILD_SUBREAPER, &saved_subreaper_);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

Trees::~Trees() {
  drop_standby();
  reap(true);
  prctl(PR_SET_CHILD_SUBREAPER, saved_subreaper_);
  if (output_fd_ >= 0) ::close(output_fd_);
}

pid_t Trees::adopt_standby() {
  if (standby_ < 0) return -1;
  if (dying_.size() > 8) reap(false);  // usually done while the explorer is idle
  if (output_fd_ >= 0 && ftruncate(output_fd_, 0) != 0) {
    // only the captured output is affected
  }
  root_ = pgid_ = standby_;
  standby_ = -1;
  return root_;
}

void Trees::drop_standby() {
  if (standby_ < 0) return;
  ::kill(standby_, SIGKILL);
  while (waitpid(standby_, nullptr, __WALL) < 0 && errno == EINTR) {
  }
  standby_ = -1;
}

int Trees::watch(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

bool Trees::gone(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int Trees::status(pid_t pid) {
  if (pid == root_) {
    int st = -1;
    if (waitpid(root_, &st, WNOHANG) == root_) {
      root_ = -1;
      return st;
    }
    return -1;
  }
  return zombie_status(pid);
}

std::string Trees::output_tail(std::size_t max) const {
  std::string out;
  if (output_fd_ < 0) return out;
  off_t size = lseek(output_fd_, 0, SEEK_END);
  if (size <= 0) return out;
  off_t from = size > static_cast<off_t>(max) ? size - static_cast<off_t>(max) : 0;
  out.resize(static_cast<std::size_t>(size - from));
  ssize_t n = pread(output_fd_, out.data(), out.size(), from);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

// The processes of finished trees: the roots are our children, and the rest were re-parented to
// us (the child subreaper) or will be when their parents go. Only our children in those process
// groups are waited for, never another child of the calling program. A group is done when
// waitpid reports no child in it left.
void Trees::finish(bool kill, bool wait) {
  if (pgid_ <= 0) return;
  if (kill) ::kill(-pgid_, SIGKILL);
  dying_.push_back(pgid_);
  pgid_ = -1;
  root_ = -1;
  if (wait) reap(true);
}

void Trees::reap(bool block) {
  for (std::size_t i = 0; i < dying_.size();) {
    pid_t rc = waitpid(-dying_[i], nullptr, __WALL | (block ? 0 : WNOHANG));
    if (rc > 0 || (rc < 0 && errno == EINTR)) continue;
    if (rc == 0) {
      ++i;
    } else {
      dying_.erase(dying_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
}

}  // namespace ceramic::sim::detail
