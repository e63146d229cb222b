#include "run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "ceramic/detail/futex.hpp"
#include "ceramic/status.hpp"
#include "client.hpp"
#include "report.hpp"

namespace ceramic::sim::detail {
namespace {

using ceramic::detail::futex_wake;
using ceramic::detail::now_ns;

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

constexpr std::size_t kRecentSteps = 24;
constexpr std::size_t kOutputTail = 16 * 1024;
constexpr int kControllerSpins = 400;

std::int64_t add_saturated(std::int64_t a, std::int64_t b) {
  return b > INT64_MAX - a ? INT64_MAX : a + b;
}

// The wait status of a zombie we are not the parent of, from /proc (field 52 of stat).
// -1 when it cannot be read.
int zombie_status(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::size_t close = s.rfind(')');
  if (close == std::string::npos) return -1;
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

std::string describe_status(int st) {
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    const char* name = sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  if (WIFEXITED(st)) return "exited with code " + std::to_string(WEXITSTATUS(st));
  return "ended (status " + std::to_string(st) + ")";
}

}  // namespace

// ---- one schedule --------------------------------------------------------------------------

class Runner::Execution {
 public:
  Execution(Runner& r, Scheduler& s, bool unbuffered) : r_(r), strategy_(s) {
    model_.unbuffered = unbuffered;
  }

  Outcome run(const std::function<void()>& body);

 private:
  Box& box(int i) {
    return reinterpret_cast<Box*>(reinterpret_cast<char*>(r_.header_) + r_.layout_.boxes_off())[i];
  }
  char* values(int i) {
    return reinterpret_cast<char*>(r_.header_) + r_.layout_.values_off() +
           static_cast<std::size_t>(i) * r_.layout_.value_bytes;
  }
  static void reset_box(Box& b) {
    b.state.store(kRunning, std::memory_order_relaxed);
    b.sleeping.store(0, std::memory_order_relaxed);
    b.pid.store(0, std::memory_order_relaxed);
    b.tid = 0;
    b.op = OpKind::none;
    b.nlog = 0;
  }

  bool fail(Failure f, std::string msg) {
    if (out_.failure == Failure::none) {
      out_.failure = f;
      out_.message = std::move(msg);
    }
    return false;
  }
  std::string who(const Task& t) const {
    return t.name + " (pid " + std::to_string(t.pid) + ")";
  }
  std::string at(const Pending& p) const {
    return p.file.empty() ? std::string() : " at " + p.file + ":" + std::to_string(p.line);
  }

  bool wait_parked();
  bool reported_failure();
  bool died(Task& t);
  bool ingest(Task& t);
  bool run_invisible(Task& t);
  bool apply(const Transition& tr);
  void note(std::string line);
  void release(Task& t);
  void kill_tree(int task);
  void teardown();

  Runner& r_;
  Scheduler& strategy_;
  Model model_;
  Outcome out_;
  pid_t root_ = -1;  // until reaped
  pid_t pgid_ = -1;  // the tree's process group (the root's pid)
  bool killed_ = false;  // a process was killed where it stood (it may still be writing)
};

bool Runner::Execution::reported_failure() {
  Header& h = *r_.header_;
  if (h.fail_state.load(std::memory_order_acquire) != 2) return false;
  h.fail_text[sizeof h.fail_text - 1] = '\0';
  h.fail_file[sizeof h.fail_file - 1] = '\0';
  int task = h.fail_task;
  std::string name = task >= 0 && task < static_cast<int>(model_.tasks.size())
                         ? who(model_.tasks[task])
                         : std::string("a process");
  auto kind = static_cast<Failure>(h.fail_kind <= static_cast<std::uint8_t>(Failure::mismatch)
                                       ? h.fail_kind
                                       : static_cast<std::uint8_t>(Failure::check));
  std::string where = h.fail_file[0] ? std::string(" at ") + h.fail_file + ":" + std::to_string(h.fail_line) : "";
  fail(kind, name + where + ": " + h.fail_text);
  return true;
}

// A task's process is gone while the model had it running or parked.
bool Runner::Execution::died(Task& t) {
  if (reported_failure()) return false;
  int st = -1;
  if (t.pid == root_) {
    if (waitpid(root_, &st, WNOHANG) == root_) root_ = -1;
  } else {
    st = zombie_status(t.pid);
  }
  if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    t.state = TaskState::exited;  // std::exit / _exit(0) from the body: an exit, unscheduled
    return true;
  }
  t.state = TaskState::killed;
  t.exit_code = st >= 0 && WIFSIGNALED(st) ? 128 + WTERMSIG(st) : st >= 0 ? WEXITSTATUS(st) : 128;
  if (st >= 0 && WIFSIGNALED(st)) return fail(Failure::crash, who(t) + " " + describe_status(st));
  if (st >= 0) return fail(Failure::exit_code, who(t) + " " + describe_status(st));
  return fail(Failure::crash, who(t) + " died");
}

// Until every live task is parked. false: the schedule ended (a failure was recorded).
bool Runner::Execution::wait_parked() {
  Header& h = *r_.header_;
  std::int64_t limit = add_saturated(now_ns(), r_.opts_.step_timeout.count() * 1000000);
  int spins = 0;
  std::vector<pollfd> fds;
  std::vector<int> fd_task;
  for (;;) {
    std::uint32_t epoch = h.epoch.load(std::memory_order_seq_cst);
    bool running = false;
    for (Task& t : model_.tasks) {
      if (t.state != TaskState::running) continue;
      if (box(t.index).state.load(std::memory_order_acquire) == kParked) {
        if (!ingest(t)) return false;
      } else {
        running = true;
      }
    }
    if (!running) return true;
    if (reported_failure()) return false;
    if (spins < kControllerSpins) {
      ++spins;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    fds.assign(1, pollfd{r_.eventfd_, POLLIN, 0});
    fd_task.assign(1, -1);
    for (Task& t : model_.tasks) {
      if (t.state != TaskState::running) continue;
      if (t.pidfd < 0) {
        pid_t pid = box(t.index).pid.load(std::memory_order_acquire);
        if (pid > 0) {
          t.pid = pid;
          t.pidfd = pidfd_open(pid);
        }
      }
      if (t.pidfd >= 0) {
        fds.push_back(pollfd{t.pidfd, POLLIN, 0});
        fd_task.push_back(t.index);
      }
    }
    h.sleeping.store(1, std::memory_order_seq_cst);
    if (h.epoch.load(std::memory_order_seq_cst) == epoch) {
      std::int64_t left_ms = (limit - now_ns()) / 1000000;
      int timeout = static_cast<int>(std::clamp<std::int64_t>(left_ms, 0, 100));
      ::poll(fds.data(), fds.size(), timeout);
    }
    h.sleeping.store(0, std::memory_order_seq_cst);
    std::uint64_t drained;
    while (::read(r_.eventfd_, &drained, sizeof drained) > 0) {
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      Task& t = model_.tasks[fd_task[i]];
      if (t.state != TaskState::running) continue;
      // A process exits right after parking at its exit point: that is an exit, not a death.
      if (box(t.index).state.load(std::memory_order_acquire) == kParked) {
        if (!ingest(t)) return false;
      } else if (!died(t)) {
        return false;
      }
    }
    if (now_ns() > limit) {
      std::string names;
      for (const Task& t : model_.tasks) {
        if (t.state == TaskState::running) names += (names.empty() ? "" : ", ") + who(t);
      }
      return fail(Failure::stalled,
                  names + " did not reach its next scheduling point within " +
                      std::to_string(r_.opts_.step_timeout.count()) +
                      " ms (blocked outside ceramic: a sleep, a pipe, a mutex?)");
    }
  }
}

// Copies a parked task's request out of its mailbox, checking every field.
bool Runner::Execution::ingest(Task& t) {
  Box& b = box(t.index);
  const std::size_t vbytes = r_.layout_.value_bytes;
  if (t.pid == 0) t.pid = b.pid.load(std::memory_order_acquire);
  std::uint32_t nlog = b.nlog;
  if (nlog > kLogEntries) return fail(Failure::misuse, who(t) + ": corrupt mailbox (channel log)");
  for (std::uint32_t i = 0; i < nlog; ++i) {
    LogRec r = b.log[i];
    r.file[sizeof r.file - 1] = '\0';
    r.name[sizeof r.name - 1] = '\0';
    if (r.kind == LogKind::created && !model_.find(r.channel)) {
      Chan c;
      c.id = r.channel;
      c.label = t.name + "#" + std::to_string(++t.channels_made);
      c.name = r.name;
      c.file = r.file;
      c.line = r.line;
      c.creator = t.index;
      c.capacity = model_.unbuffered ? 0 : r.capacity;
      model_.chans.emplace(c.id, std::move(c));
    }
    if (r.kind == LogKind::released) {
      t.holds.erase(r.channel);
    } else {
      Chan& c = model_.chan(r.channel, r.capacity);
      if (c.name.empty() && r.name[0]) c.name = r.name;
      t.holds.insert(r.channel);
    }
  }
  b.nlog = 0;

  Pending p;
  p.op = b.op;
  b.file[sizeof b.file - 1] = '\0';
  b.text[sizeof b.text - 1] = '\0';
  p.file = b.file;
  p.line = b.line;
  p.text = b.text;
  std::uint32_t ncases = b.ncases;
  auto bad = [&](const char* what) { return fail(Failure::misuse, who(t) + ": corrupt mailbox (" + what + ")"); };
  switch (p.op) {
    case OpKind::send:
    case OpKind::recv:
    case OpKind::select: {
      if (ncases == 0 || ncases > kMaxCases || (p.op != OpKind::select && ncases != 1)) return bad("cases");
      for (std::uint32_t i = 0; i < ncases; ++i) {
        CaseRec cr = b.cases[i];
        Case c;
        c.kind = cr.kind;
        c.channel = cr.channel;
        c.value_off = cr.value_off;
        c.value_len = cr.value_len;
        c.timeout_ns = cr.timeout_ns;
        if (c.kind > CaseKind::inert) return bad("case kind");
        if (c.value_off > vbytes || c.value_len > vbytes - c.value_off) return bad("value");
        if (c.kind == CaseKind::send || c.kind == CaseKind::recv) {
          model_.chan(c.channel, cr.capacity);
          t.holds.insert(c.channel);
        }
        if (c.kind == CaseKind::fallback) p.has_fallback = true;
        if (c.kind == CaseKind::timeout) {
          p.timed = true;
          p.timeout_case = static_cast<int>(i);
          p.deadline = add_saturated(model_.now, std::max<std::int64_t>(c.timeout_ns, 0));
        }
        p.cases.push_back(c);
      }
      if (p.op != OpKind::select && b.timeout_ns >= 0) {
        p.timed = true;
        p.deadline = add_saturated(model_.now, b.timeout_ns);
      }
      break;
    }
    case OpKind::close:
    case OpKind::closed:
      if (ncases != 1) return bad("cases");
      p.channel = b.channel;
      model_.chan(p.channel, b.cases[0].capacity);
      t.holds.insert(p.channel);
      break;
    case OpKind::join:
    case OpKind::running:
    case OpKind::kill: {
      p.target = b.target;
      p.code = b.code;
      for (Task& u : model_.tasks) {
        if (u.pid == 0) u.pid = box(u.index).pid.load(std::memory_order_acquire);
      }
      int child = model_.task_of_pid(p.target);
      if (child < 0 || model_.tasks[child].parent != t.index) {
        return fail(Failure::misuse, who(t) + at(p) + ": waits for or signals pid " +
                                         std::to_string(p.target) +
                                         ", which is not a child it started under the simulator");
      }
      if (p.op == OpKind::join && b.timeout_ns >= 0) {
        p.timed = true;
        p.deadline = add_saturated(model_.now, b.timeout_ns);
      }
      break;
    }
    case OpKind::exit:
      p.code = b.code;
      break;
    case OpKind::named:
    case OpKind::spawn:
    case OpKind::sync:
      break;
    default:
      return bad("operation");
  }
  t.pending = std::move(p);
  t.state = TaskState::parked;
  return true;
}

void Runner::Execution::release(Task& t) {
  Box& b = box(t.index);
  t.state = TaskState::running;
  b.state.store(kReleased, std::memory_order_seq_cst);
  if (b.sleeping.load(std::memory_order_seq_cst) != 0) futex_wake(b.state, 1);
}

// Ends a task and every live task it started (as PR_SET_PDEATHSIG would), at once.
void Runner::Execution::kill_tree(int task) {
  for (Task& t : model_.tasks) {
    if (t.parent == task && t.live()) kill_tree(t.index);
  }
  Task& t = model_.tasks[task];
  if (!t.live()) return;
  if (t.pid > 0) ::kill(t.pid, SIGKILL);
  t.state = TaskState::killed;
  t.exit_code = 128 + SIGKILL;
  killed_ = true;
}

// Spawn, exit, sync, and a join whose child is gone: they commute with every other transition.
bool Runner::Execution::run_invisible(Task& task) {
  const int self = task.index;  // model_.tasks may grow (spawn): never hold a reference across
  Box& b = box(self);
  switch (task.pending.op) {
    case OpKind::spawn: {
      Task& t = model_.tasks[self];
      const Pending& p = t.pending;
      if (model_.tasks.size() >= r_.layout_.max_tasks) {
        return fail(Failure::misuse, who(t) + at(p) + ": starts more than " +
                                         std::to_string(r_.layout_.max_tasks) +
                                         " processes (Options::max_processes)");
      }
      Task c;
      c.index = static_cast<int>(model_.tasks.size());
      c.parent = t.index;
      c.name = p.text.empty() ? t.name + "." + std::to_string(t.children + 1) : p.text;
      c.holds = t.holds;
      ++t.children;
      reset_box(box(c.index));
      b.child_task = c.index;
      std::string line = t.name + " starts " + c.name;
      model_.tasks.push_back(std::move(c));
      note(std::move(line));
      release(model_.tasks[self]);
      return true;
    }
    case OpKind::exit: {
      Task& t = model_.tasks[self];
      const Pending& p = t.pending;
      if (p.code != 0) {
        std::string why = p.text.empty() ? "" : " (" + p.text + ")";
        t.state = TaskState::exited;
        t.exit_code = p.code;
        return fail(Failure::exit_code, who(t) + " exited with code " + std::to_string(p.code) + why);
      }
      for (Task& c : model_.tasks) {
        if (c.parent == t.index && c.live()) kill_tree(c.index);
      }
      t.state = TaskState::exited;  // it did not wait for a reply: it is exiting already
      t.exit_code = 0;
      note(t.name + " exits");
      return true;
    }
    case OpKind::join: {
      int child = model_.task_of_pid(task.pending.target);
      b.answer = 1;
      b.exit_code = child >= 0 ? model_.tasks[child].exit_code : 0;
      note(task.name + " joins " + (child >= 0 ? model_.tasks[child].name : std::string("?")) +
           " (exit code " + std::to_string(b.exit_code) + ")");
      release(model_.tasks[self]);
      return true;
    }
    default:
      break;
  }
  note("");
  release(model_.tasks[self]);
  return true;
}

bool Runner::Execution::apply(const Transition& tr) {
  using K = Transition::Kind;
  Task& t = model_.tasks[tr.task];
  Box& b = box(t.index);
  const Pending& p = t.pending;
  auto chan_of = [&](int ci) -> Chan& { return model_.chans.at(p.cases[ci].channel); };
  b.fired = static_cast<std::uint32_t>(std::max(tr.case_index, 0));
  b.status = static_cast<std::uint8_t>(Status::ok);
  b.value_len = 0;
  b.answer = 0;
  switch (tr.kind) {
    case K::pair: {
      Task& u = model_.tasks[tr.partner];
      Box& ub = box(u.index);
      const Case& sc = p.cases[tr.case_index];
      std::memmove(values(u.index), values(t.index) + sc.value_off, sc.value_len);
      ub.fired = static_cast<std::uint32_t>(tr.partner_case);
      ub.status = static_cast<std::uint8_t>(Status::ok);
      ub.value_len = sc.value_len;
      t.last_peer = u.index;
      u.last_peer = t.index;
      t.last_file = p.file;
      t.last_line = p.line;
      u.last_file = u.pending.file;
      u.last_line = u.pending.line;
      release(u);
      break;
    }
    case K::push: {
      const Case& sc = p.cases[tr.case_index];
      chan_of(tr.case_index).buffer.emplace_back(values(t.index) + sc.value_off, sc.value_len);
      break;
    }
    case K::pop: {
      Chan& c = chan_of(tr.case_index);
      const std::string& v = c.buffer.front();
      std::memcpy(values(t.index), v.data(), v.size());
      b.value_len = static_cast<std::uint32_t>(v.size());
      c.buffer.pop_front();
      break;
    }
    case K::closed: b.status = static_cast<std::uint8_t>(Status::closed); break;
    case K::close: model_.chans.at(p.channel).closed = true; break;
    case K::query:
      if (p.op == OpKind::closed) {
        b.answer = model_.chans.at(p.channel).closed ? 1 : 0;
      } else {
        const Task& child = model_.tasks[model_.task_of_pid(p.target)];
        b.answer = child.live() ? 1 : 0;
        b.exit_code = child.exit_code;
      }
      break;
    case K::named: break;
    case K::fallback:
    case K::timeout:
      if (tr.kind == K::timeout) model_.now = std::max(model_.now, p.deadline);
      if (p.op == OpKind::send || p.op == OpKind::recv) b.status = static_cast<std::uint8_t>(Status::timeout);
      b.answer = 0;  // join_for: not joined
      break;
    case K::kill: kill_tree(model_.task_of_pid(p.target)); break;
  }
  note(model_.describe(tr));
  release(t);
  return true;
}

// Counts a step and keeps its description for the report.
void Runner::Execution::note(std::string line) {
  ++out_.steps;
  if (line.empty()) return;
  out_.recent.push_back(std::to_string(out_.steps) + ". " + line);
  if (out_.recent.size() > kRecentSteps) out_.recent.erase(out_.recent.begin());
}

// Ends what is left of the tree. The processes are reaped later (Runner::reap): waiting here
// for the kernel to tear each one down would cost more than running the schedule.
void Runner::Execution::teardown() {
  bool live = false;
  for (Task& t : model_.tasks) {
    if (t.live() && t.pid > 0) {
      ::kill(t.pid, SIGKILL);
      live = true;
    }
  }
  if (pgid_ > 0) {
    if (live || out_.failed()) ::kill(-pgid_, SIGKILL);
    r_.dying_.push_back(pgid_);
    // A process that exited through its exit point never writes to its mailbox again, but one
    // killed where it stood might be between two stores: the mailboxes are reused only once
    // it is gone.
    if (live || killed_ || out_.failed()) r_.reap(true);
  }
  for (Task& t : model_.tasks) {
    if (t.pidfd >= 0) ::close(t.pidfd);
    t.pidfd = -1;
  }
}

Outcome Runner::Execution::run(const std::function<void()>& body) {
  r_.reap(false);
  Header& h = *r_.header_;
  h.fail_state.store(0, std::memory_order_relaxed);
  h.sleeping.store(0, std::memory_order_relaxed);
  reset_box(box(0));
  if (h.output_fd >= 0) {
    if (ftruncate(h.output_fd, 0) != 0) {
      // only the captured output is affected
    }
  }
  std::fflush(nullptr);  // or the tree would print the explorer's buffered output again
  pid_t pid = fork();
  if (pid < 0) {
    fail(Failure::misuse, std::string("fork failed: ") + std::strerror(errno));
    return std::move(out_);
  }
  if (pid == 0) run_root(r_.header_, r_.layout_, body);
  root_ = pid;
  pgid_ = pid;
  setpgid(pid, pid);
  Task root;
  root.name = "main";
  root.pid = pid;
  model_.tasks.push_back(root);

  for (;;) {
    if (!wait_parked()) break;
    // Operations that need no choice run first, in task order, until only choices are left.
    bool ran = false;
    bool failed = false;
    for (std::size_t i = 0; i < model_.tasks.size() && !failed; ++i) {
      Task& t = model_.tasks[i];
      if (t.state == TaskState::parked && model_.invisible(t)) {
        failed = !run_invisible(t);
        ran = true;
      }
    }
    if (failed) break;
    if (ran) continue;
    std::vector<Transition> enabled = model_.enabled();
    if (enabled.empty()) {
      bool blocked = std::any_of(model_.tasks.begin(), model_.tasks.end(),
                                 [](const Task& t) { return t.state == TaskState::parked; });
      if (blocked) {
        out_.failure = Failure::deadlock;
        DeadlockText d = deadlock_report(model_);
        out_.message = d.summary;
        out_.report = std::move(d.text);
        out_.dot = std::move(d.dot);
      }
      break;
    }
    if (out_.steps >= r_.opts_.max_steps) {
      fail(Failure::runaway, "more than " + std::to_string(r_.opts_.max_steps) +
                                 " transitions (Options::max_steps): a livelock, or a longer "
                                 "program than the bound allows");
      break;
    }
    std::size_t pick = 0;
    if (enabled.size() > 1) {
      pick = strategy_.choose(model_, enabled, out_.choices.size());
      if (!strategy_.error().empty()) {
        fail(Failure::mismatch, strategy_.error());
        break;
      }
      if (pick >= enabled.size()) pick = 0;
      out_.choices.push_back({static_cast<std::uint32_t>(pick), static_cast<std::uint32_t>(enabled.size())});
    } else {
      strategy_.forced(model_, enabled[0]);
    }
    if (strategy_.redundant()) break;  // reduction: the rest was explored in another order
    apply(enabled[pick]);
  }
  strategy_.end(out_.choices);
  if (out_.failure == Failure::none && !strategy_.error().empty()) {
    fail(Failure::mismatch, strategy_.error());
  }
  teardown();
  if (out_.failed() && h.output_fd >= 0) {
    off_t size = lseek(h.output_fd, 0, SEEK_END);
    if (size > 0) {
      off_t from = size > static_cast<off_t>(kOutputTail) ? size - static_cast<off_t>(kOutputTail) : 0;
      out_.output.resize(static_cast<std::size_t>(size - from));
      ssize_t n = pread(h.output_fd, out_.output.data(), out_.output.size(), from);
      out_.output.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
  }
  return std::move(out_);
}

// ---- Runner --------------------------------------------------------------------------------

Runner::Runner(const Options& o) : opts_(o) {
  layout_.max_tasks = std::clamp<std::size_t>(o.max_processes, 1, 4096);
  layout_.value_bytes = std::clamp<std::size_t>((o.max_value_bytes + 63) & ~std::size_t{63}, 64,
                                                std::size_t{1} << 31);
  void* p = mmap(nullptr, layout_.size(), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "ceramic::sim: mmap");
  header_ = static_cast<Header*>(p);
  header_->magic = kMagic;
  header_->version = kVersion;
  header_->max_tasks = static_cast<std::uint32_t>(layout_.max_tasks);
  header_->value_bytes = layout_.value_bytes;
  eventfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (eventfd_ < 0) throw std::system_error(errno, std::generic_category(), "ceramic::sim: eventfd");
  header_->eventfd = eventfd_;
  output_fd_ = memfd_create("ceramic-sim-output", MFD_CLOEXEC);
  if (output_fd_ >= 0) fcntl(output_fd_, F_SETFL, O_APPEND);
  header_->output_fd = output_fd_;
  prctl(PR_GET_CHILD_SUBREAPER, &saved_subreaper_);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

// The processes of finished trees: the roots are our children, and the rest were re-parented to
// us (the child subreaper) or will be when their parents go. Only our children in those process
// groups are waited for, never another child of the calling program. A group is done when
// waitpid reports no child in it left.
void Runner::reap(bool block) {
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

Runner::~Runner() {
  reap(true);
  prctl(PR_SET_CHILD_SUBREAPER, saved_subreaper_);
  if (output_fd_ >= 0) ::close(output_fd_);
  if (eventfd_ >= 0) ::close(eventfd_);
  munmap(header_, layout_.size());
}

Outcome Runner::run(const std::function<void()>& body, Scheduler& s, bool unbuffered) {
  Execution e(*this, s, unbuffered);
  return e.run(body);
}

}  // namespace ceramic::sim::detail
