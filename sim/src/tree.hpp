// ceramic::sim — the processes of the trees the explorer runs: forking a schedule's root,
// watching each process through a pidfd, telling how one ended, capturing what the tree prints,
// and reaping. Nothing here knows about channels or schedules.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace ceramic::sim::detail {

// How a process we do not wait for ended, from its wait status: "was killed by signal 9
// (SIGKILL)", "exited with code 3".
std::string describe_status(int status);

// Owns the output file and the reaping of a series of trees; makes the calling process the
// child subreaper for its lifetime, so that the processes of a tree whose parents died are
// ours to reap. Not thread-safe: one per explorer process.
class Trees {
 public:
  Trees();
  ~Trees();
  Trees(const Trees&) = delete;
  Trees& operator=(const Trees&) = delete;

  int output_fd() const { return output_fd_; }

  // Forks the root of a tree to come (the standby) in its own process group, so that the fork
  // and the new process's first scheduling are paid while the current tree runs. The child runs
  // child(), which must wait until it is started, and never returns here. Replaces a standby
  // left from before (killed and reaped). Returns its pid, or -1 with errno set.
  template <class F>
  pid_t fork_standby(F&& child) {
    drop_standby();
    std::fflush(nullptr);  // or the tree would print the explorer's buffered output again
    pid_t pid = ::fork();
    if (pid == 0) child();
    if (pid > 0) {
      setpgid(pid, pid);
      standby_ = pid;
    }
    return pid;
  }
  // The standby's pid, or -1.
  pid_t standby() const { return standby_; }
  // Makes the standby the current tree's root (the caller then starts it). Clears the captured
  // output first. Returns its pid, or -1 when there is no standby.
  pid_t adopt_standby();
  // Kills and reaps the standby, if there is one.
  void drop_standby();
  // Reaps what has ended of the finished trees, without waiting (the explorer calls it when it
  // is idle; adopt_standby() only when many are left).
  void reap_finished() { reap(false); }

  // A pidfd for pid (readable once the process has terminated), or -1.
  static int watch(pid_t pid);
  // Whether the process behind pidfd has terminated (without waiting).
  static bool gone(int pidfd);
  // The wait status of a process of the current tree that has terminated: waited for if it is
  // the root, read from /proc while it is a zombie of another parent. -1 when unknown.
  int status(pid_t pid);
  // The tail (at most max bytes) of what the current tree printed.
  std::string output_tail(std::size_t max) const;
  // The current tree is finished: kill what is left of it (when kill) and reap it later; when
  // wait, reap it now (its processes may still be writing to shared memory until they are gone).
  void finish(bool kill, bool wait);

 private:
  void reap(bool block);

  pid_t standby_ = -1;  // forked, not yet adopted
  pid_t root_ = -1;   // until waited for
  pid_t pgid_ = -1;   // the current tree's process group
  std::vector<pid_t> dying_;  // process groups of finished trees, not yet all reaped
  int output_fd_ = -1;
  int saved_subreaper_ = 0;
};

}  // namespace ceramic::sim::detail
