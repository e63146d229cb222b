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

constexpr std::size_t kRecentSteps = 24;
constexpr std::size_t kOutputTail = 16 * 1024;
constexpr int kControllerSpins = 400;
// After the body returns, how many steps the other processes may take before those still
// waiting forever are judged leaked and the rest end with main.
constexpr std::size_t kExitSettleSteps = 1000;

std::int64_t add_saturated(std::int64_t a, std::int64_t b) {
  return b > INT64_MAX - a ? INT64_MAX : a + b;
}

}  // namespace

// ---- one schedule --------------------------------------------------------------------------

class Runner::Execution {
 public:
  Execution(Runner& r, Scheduler& s, bool unbuffered) : r_(r), strategy_(s) {
    model_.unbuffered = unbuffered;
    model_.timeouts = r.opts_.timeouts;
    box_task_.assign(r.layout_.max_tasks, -1);
  }

  Outcome run(const std::function<void()>& body);

 private:
  Box& box(int b) {
    return reinterpret_cast<Box*>(reinterpret_cast<char*>(r_.header_) + r_.layout_.boxes_off())[b];
  }
  char* values(int b) {
    return reinterpret_cast<char*>(r_.header_) + r_.layout_.values_off() +
           static_cast<std::size_t>(b) * r_.layout_.value_bytes;
  }
  static void reset_box(Box& b) {
    b.state.store(kRunning, std::memory_order_relaxed);
    b.sleeping.store(0, std::memory_order_relaxed);
    b.pid.store(0, std::memory_order_relaxed);
    b.tid = 0;
    b.op = OpKind::none;
    b.nlog = 0;
  }

  // Records the schedule's first failure; process/file/line say who and where, when known.
  bool fail(Failure f, std::string msg, const Task* t = nullptr, std::string file = {}, int line = 0) {
    if (out_.info.kind == Failure::none) {
      out_.info.kind = f;
      out_.info.summary = std::move(msg);
      if (t) out_.info.process = t->name;
      out_.info.file = std::move(file);
      out_.info.line = line;
    }
    return false;
  }
  void judged(Failure f, Judgement j) {
    out_.info.kind = f;
    out_.info.summary = std::move(j.summary);
    out_.info.graph = std::move(j.graph);
    out_.info.blocked = std::move(j.blocked);
  }
  std::string who(const Task& t) const { return t.name; }
  std::string at(const Pending& p) const {
    return p.file.empty() ? std::string() : " at " + p.file + ":" + std::to_string(p.line);
  }

  bool wait_parked();
  bool reported_failure();
  bool died(Task& t);
  bool ingest(Task& t);
  bool spawn(int task);
  int take_box();
  void reclaim_boxes();
  bool deliver(Effects e);
  void note(std::string line);
  std::size_t pick(const std::vector<Transition>& enabled);
  void teardown();

  Runner& r_;
  Scheduler& strategy_;
  Model model_;
  Outcome out_;
  std::vector<int> box_task_;   // box -> the task using it, or -1 when free
  bool leaked(const std::vector<int>& candidates, int ender, LeakEnd how, bool quiescent);
  // Task t exits: what it started and left running ends with it. Those of them blocked forever
  // are leaks (docs/deadlock_detection.md), as when a Proc is destroyed. True if so.
  bool leaked_by_exit(int t);
  void cover_arrival(const Task& t);
  void cover_waits(const std::vector<Transition>& enabled);
  void cover_wait(Task& t);
  void cover_completion(int task, int case_index);
  // The timeline (Runner::record_timeline): a lane a task, time in steps. A wait is drawn from
  // the step after its arrival to the step that released it, when other steps came between.
  void draw_arrival(const Task& t);
  void draw_release(const Reply& r, std::int64_t step);
  void draw_instant(int task, std::string what, std::int64_t step, const Pending* p = nullptr);
  void draw_transition(const Transition& tr);
  void draw_end();
  std::vector<std::int64_t> arrived_;  // per task: steps taken when its pending op arrived
  std::vector<std::size_t> starved_;  // per task: choice points it could have moved and did not
  std::size_t settling_ = 0;    // steps taken since the root returned from the body
  bool fair_ = false;           // the schedule runs fairly from here on
  bool killed_ = false;         // a process was killed where it stood (it may still be writing)
  // The body of the next schedule, whose root is still to be forked (Runner::expect_more).
  const std::function<void()>* next_body_ = nullptr;
  bool reaped_ = false;  // the finished trees were reaped while this schedule ran
};

bool Runner::Execution::reported_failure() {
  Header& h = *r_.header_;
  if (h.fail_state.load(std::memory_order_acquire) != 2) return false;
  h.fail_text[sizeof h.fail_text - 1] = '\0';
  h.fail_file[sizeof h.fail_file - 1] = '\0';
  int b = h.fail_task;
  int task = b >= 0 && static_cast<std::size_t>(b) < box_task_.size() ? box_task_[b] : -1;
  const Task* t = task >= 0 ? &model_.tasks[task] : nullptr;
  std::string name = t ? who(*t) : std::string("a process");
  auto kind = static_cast<Failure>(h.fail_kind <= static_cast<std::uint8_t>(Failure::leak)
                                       ? h.fail_kind
                                       : static_cast<std::uint8_t>(Failure::check));
  std::string where = h.fail_file[0] ? std::string(" at ") + h.fail_file + ":" + std::to_string(h.fail_line) : "";
  fail(kind, name + where + ": " + h.fail_text, t, h.fail_file, h.fail_line);
  return true;
}

// A task's process is gone while the model had it running or parked.
bool Runner::Execution::died(Task& t) {
  if (reported_failure()) return false;
  int st = r_.trees_.status(t.pid);
  if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    t.state = TaskState::exited;  // std::exit / _exit(0) from the body: an exit, unscheduled
    return true;
  }
  t.state = TaskState::killed;
  t.exit_code = st >= 0 && WIFSIGNALED(st) ? 128 + WTERMSIG(st) : st >= 0 ? WEXITSTATUS(st) : 128;
  if (st >= 0 && WIFSIGNALED(st)) return fail(Failure::crash, who(t) + " " + describe_status(st), &t);
  if (st >= 0) return fail(Failure::exit_code, who(t) + " " + describe_status(st), &t);
  return fail(Failure::crash, who(t) + " died", &t);
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
      if (box(t.box).state.load(std::memory_order_acquire) == kParked) {
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
    if (next_body_) {
      // Instead of sleeping: the processes are busy (a fork, a wake-up), and this fork takes the
      // explorer about as long. Before any pidfd of this schedule is open, so that the next
      // root inherits the same descriptors in every schedule.
      r_.fork_standby(*next_body_);
      next_body_ = nullptr;
      continue;
    }
    if (!reaped_) {
      r_.trees_.reap_finished();  // the trees of the schedules before, off the critical path
      reaped_ = true;
      continue;
    }
    fds.assign(1, pollfd{r_.eventfd_, POLLIN, 0});
    fd_task.assign(1, -1);
    for (Task& t : model_.tasks) {
      if (t.state != TaskState::running) continue;
      if (t.pidfd < 0) {
        pid_t pid = box(t.box).pid.load(std::memory_order_acquire);
        if (pid > 0) {
          t.pid = pid;
          t.pidfd = Trees::watch(pid);
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
    std::uint64_t drained;  // one read empties the counter (not EFD_SEMAPHORE)
    [[maybe_unused]] ssize_t n = ::read(r_.eventfd_, &drained, sizeof drained);
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      Task& t = model_.tasks[fd_task[i]];
      if (t.state != TaskState::running) continue;
      if (box(t.box).state.load(std::memory_order_acquire) == kParked) {
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
  Box& b = box(t.box);
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
  auto bad = [&](const char* what) { return fail(Failure::misuse, who(t) + ": corrupt mailbox (" + what + ")", &t); };
  auto set_timeout = [&](std::int64_t ns) {
    p.timed = true;
    p.poll = ns == 0;
    p.deadline = add_saturated(model_.now, std::max<std::int64_t>(ns, 0));
  };
  switch (p.op) {
    case OpKind::send:
    case OpKind::recv:
    case OpKind::select: {
      if (ncases > kMaxCases || (p.op != OpKind::select && ncases != 1)) return bad("cases");
      for (std::uint32_t i = 0; i < ncases; ++i) {
        CaseRec cr = b.cases[i];
        Case c;
        c.kind = cr.kind;
        c.channel = cr.channel;
        c.timeout_ns = cr.timeout_ns;
        if (c.kind > CaseKind::inert) return bad("case kind");
        if (cr.value_off > vbytes || cr.value_len > vbytes - cr.value_off) return bad("value");
        if (c.kind == CaseKind::send) c.value.assign(values(t.box) + cr.value_off, cr.value_len);
        if (c.kind == CaseKind::send || c.kind == CaseKind::recv) {
          model_.chan(c.channel, cr.capacity);
          t.holds.insert(c.channel);
        }
        if (c.kind == CaseKind::fallback) p.has_fallback = true;
        if (c.kind == CaseKind::timeout) {
          p.timeout_case = static_cast<int>(i);
          set_timeout(c.timeout_ns);
        }
        p.cases.push_back(std::move(c));
      }
      if (p.op != OpKind::select && b.timeout_ns >= 0) set_timeout(b.timeout_ns);
      if (p.has_fallback) p.poll = true;
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
    case OpKind::discard:
    case OpKind::kill: {
      p.target = b.target;
      p.code = b.code;
      for (Task& u : model_.tasks) {
        if (u.pid == 0 && u.live()) u.pid = box(u.box).pid.load(std::memory_order_acquire);
      }
      int child = model_.task_of_pid(p.target);
      if (child < 0 || model_.tasks[child].parent != t.index) {
        return fail(Failure::misuse, who(t) + at(p) + ": waits for or signals pid " +
                                         std::to_string(p.target) +
                                         ", which is not a child it started under the simulator",
                    &t, p.file, p.line);
      }
      if (p.op == OpKind::join && b.timeout_ns >= 0) set_timeout(b.timeout_ns);
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
  t.waited = false;
  cover_arrival(t);
  if (r_.timeline_) draw_arrival(t);
  return true;
}

namespace {
// The coverage name of an operation, or nullptr for those coverage does not count.
const char* covered_op(OpKind op) {
  switch (op) {
    case OpKind::send: return "send";
    case OpKind::recv: return "recv";
    case OpKind::select: return "select";
    case OpKind::join: return "join";
    case OpKind::close: return "close";
    default: return nullptr;
  }
}
}  // namespace

void Runner::Execution::cover_arrival(const Task& t) {
  const char* op = covered_op(t.pending.op);
  if (!op || t.pending.file.empty()) return;
  std::vector<std::string> cases;
  if (t.pending.op == OpKind::select) {
    for (const Case& c : t.pending.cases) {
      cases.push_back(c.kind == CaseKind::recv       ? "recv"
                      : c.kind == CaseKind::send     ? "send"
                      : c.kind == CaseKind::fallback ? "default"
                                                     : "timeout");
    }
  }
  out_.grew = r_.coverage_.reach(t.pending.file, t.pending.line, op, cases) || out_.grew;
}

// Parked operations that nothing enabled can complete while something else runs: seen waiting.
void Runner::Execution::cover_waits(const std::vector<Transition>& enabled) {
  for (Task& t : model_.tasks) {
    if (t.state != TaskState::parked || t.waited || t.pending.op == OpKind::close) continue;
    bool movable = std::any_of(enabled.begin(), enabled.end(), [&t](const Transition& tr) {
      return tr.task == t.index || tr.partner == t.index;
    });
    if (!movable) cover_wait(t);
  }
}

void Runner::Execution::cover_wait(Task& t) {
  const char* op = covered_op(t.pending.op);
  if (t.waited || !op || t.pending.file.empty()) return;
  t.waited = true;
  out_.grew = r_.coverage_.block(t.pending.file, t.pending.line, op) || out_.grew;
}

void Runner::Execution::cover_completion(int task, int case_index) {
  if (task < 0) return;
  const Task& t = model_.tasks[task];
  const char* op = covered_op(t.pending.op);
  if (!op || t.pending.file.empty()) return;
  out_.grew = r_.coverage_.complete(t.pending.file, t.pending.line, op,
                                    t.pending.op == OpKind::select ? case_index : -1) || out_.grew;
}

// Boxes of tasks whose processes are gone are free again; a process that is not gone yet (it
// exited or was killed a moment ago) may still touch its box.
void Runner::Execution::reclaim_boxes() {
  for (std::size_t b = 0; b < box_task_.size(); ++b) {
    int ti = box_task_[b];
    if (ti < 0) continue;
    Task& t = model_.tasks[ti];
    if (t.live()) continue;
    if (t.pidfd < 0 && t.pid > 0) t.pidfd = Trees::watch(t.pid);
    if (t.pidfd >= 0 && Trees::gone(t.pidfd)) box_task_[b] = -1;
  }
}

// A free mailbox for a new task, or -1 when max_processes are alive (or not yet gone).
int Runner::Execution::take_box() {
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t b = 0; b < box_task_.size(); ++b) {
      if (box_task_[b] < 0) return static_cast<int>(b);
    }
    reclaim_boxes();
  }
  // Processes that have just exited are gone within moments: wait for one, boundedly.
  std::vector<pollfd> fds;
  for (int ti : box_task_) {
    if (ti >= 0 && !model_.tasks[ti].live() && model_.tasks[ti].pidfd >= 0) {
      fds.push_back(pollfd{model_.tasks[ti].pidfd, POLLIN, 0});
    }
  }
  if (fds.empty()) return -1;
  ::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(r_.opts_.step_timeout.count(), 1000)));
  reclaim_boxes();
  for (std::size_t b = 0; b < box_task_.size(); ++b) {
    if (box_task_[b] < 0) return static_cast<int>(b);
  }
  return -1;
}

bool Runner::Execution::spawn(int self) {
  int b = take_box();
  if (b < 0) {
    const Task& t = model_.tasks[self];
    return fail(Failure::misuse, who(t) + at(t.pending) + ": more than " +
                                     std::to_string(r_.layout_.max_tasks) +
                                     " processes alive at once (Options::max_processes)",
                &t, t.pending.file, t.pending.line);
  }
  int child = model_.spawn(self);
  Task& c = model_.tasks[child];
  c.box = b;
  box_task_[b] = child;
  reset_box(box(b));
  starved_.resize(model_.tasks.size(), 0);
  Task& t = model_.tasks[self];
  Effects e;
  e.step = t.name + " starts " + c.name;
  if (r_.timeline_) draw_instant(self, "start " + c.name, static_cast<std::int64_t>(out_.steps) + 1);
  Reply r(self);
  r.child_box = b;
  e.replies.push_back(r);
  t.state = TaskState::running;
  return deliver(std::move(e));
}

// Kills the processes of the tasks a transition ended, then writes each reply and releases its
// task.
bool Runner::Execution::deliver(Effects e) {
  for (int ti : e.ended) {
    Task& t = model_.tasks[ti];
    if (t.pid == 0) t.pid = box(t.box).pid.load(std::memory_order_acquire);
    if (t.pid > 0) ::kill(t.pid, SIGKILL);
    killed_ = true;
  }
  note(std::move(e.step));
  for (Reply& r : e.replies) {
    if (r_.timeline_) draw_release(r, static_cast<std::int64_t>(out_.steps));
    Task& t = model_.tasks[r.task];
    Box& b = box(t.box);
    b.fired = r.fired;
    b.status = static_cast<std::uint8_t>(r.status);
    b.answer = r.answer ? 1 : 0;
    b.exit_code = r.exit_code;
    b.child_task = r.child_box;
    b.value_len = 0;
    if (r.has_value) {
      if (r.value.size() > r_.layout_.value_bytes) return fail(Failure::misuse, "a value too large for the mailbox");
      std::memcpy(values(t.box), r.value.data(), r.value.size());
      b.value_len = static_cast<std::uint32_t>(r.value.size());
    }
    if (t.pending.op == OpKind::exit) {
      b.exit_gen.fetch_add(1, std::memory_order_seq_cst);
      futex_wake(b.exit_gen, INT_MAX);
      continue;
    }
    b.state.store(kReleased, std::memory_order_seq_cst);
    if (b.sleeping.load(std::memory_order_seq_cst) != 0) futex_wake(b.state, 1);
  }
  return true;
}

// Counts a step and keeps its description for the report.
void Runner::Execution::note(std::string line) {
  ++out_.steps;
  if (line.empty()) return;
  std::vector<std::string>& steps = out_.info.steps;
  steps.push_back(std::to_string(out_.steps) + ". " + line);
  if (steps.size() > kRecentSteps) steps.erase(steps.begin());
}

// The transition to take among enabled (size >= 2). The strategy chooses, until some task has
// been able to move for fairness_bound choice points without being chosen: from then on the
// schedule is fair (the task that has waited longest moves first). The switch and the fair
// choices follow from the choices before them, so a replay makes them again by itself: they
// are not part of the schedule.
std::size_t Runner::Execution::pick(const std::vector<Transition>& enabled) {
  starved_.resize(model_.tasks.size(), 0);
  std::size_t chosen = 0;
  if (!fair_) {
    chosen = strategy_.choose(model_, enabled, out_.choices.size());
    if (chosen >= enabled.size()) chosen = 0;
    out_.choices.push_back({static_cast<std::uint32_t>(chosen), static_cast<std::uint32_t>(enabled.size())});
  } else {
    std::size_t longest = 0;
    for (std::size_t i = 0; i < enabled.size(); ++i) {
      auto waited = [&](std::size_t k) {
        std::size_t w = starved_[enabled[k].task];
        if (enabled[k].partner >= 0) w = std::max(w, starved_[enabled[k].partner]);
        return w;
      };
      if (waited(i) > waited(longest)) longest = i;
    }
    chosen = longest;
  }
  const Transition& c = enabled[chosen];
  for (const Transition& t : enabled) {
    if (t.task != c.task && t.task != c.partner) ++starved_[t.task];
  }
  starved_[c.task] = 0;
  if (c.partner >= 0) starved_[c.partner] = 0;
  if (!fair_ && r_.opts_.fairness_bound > 0) {
    for (std::size_t w : starved_) {
      if (w >= r_.opts_.fairness_bound) fair_ = true;
    }
    if (fair_) note("(from here on the schedule is fair: a process waited " +
                    std::to_string(r_.opts_.fairness_bound) + " steps to move)");
  }
  return chosen;
}

// Judges the tasks that ender is about to end: those left waiting forever are a leak (the
// failure is recorded and true returned).
bool Runner::Execution::leaked(const std::vector<int>& candidates, int ender, LeakEnd how,
                               bool quiescent) {
  Judgement j;
  if (find_leaks(model_, candidates, ender, how, quiescent, &j).empty()) return false;
  judged(Failure::leak, std::move(j));
  return true;
}

bool Runner::Execution::leaked_by_exit(int t) {
  std::vector<int> descendants;
  for (const Task& u : model_.tasks) {
    if (u.index == t || !u.live()) continue;
    int a = u.parent;
    while (a >= 0 && a != t) a = model_.tasks[a].parent;
    if (a == t) descendants.push_back(u.index);
  }
  return !descendants.empty() && leaked(descendants, t, LeakEnd::parent_exited, false);
}

// Ends what is left of the tree. The processes are reaped later (Trees::finish): waiting here
// for the kernel to tear each one down would cost more than running the schedule.
void Runner::Execution::teardown() {
  bool live = false;
  for (Task& t : model_.tasks) {
    if (t.live() && t.pid > 0) {
      ::kill(t.pid, SIGKILL);
      live = true;
    }
  }
  // A process that exited through its exit point never writes to its mailbox again, but one
  // killed where it stood might be between two stores: the mailboxes are reused only once
  // it is gone.
  r_.trees_.finish(live || out_.failed(), live || killed_ || out_.failed());
  for (Task& t : model_.tasks) {
    if (t.pidfd >= 0) ::close(t.pidfd);
    t.pidfd = -1;
  }
}

Outcome Runner::Execution::run(const std::function<void()>& body) {
  Header& h = *r_.header_;
  h.fail_state.store(0, std::memory_order_relaxed);
  h.sleeping.store(0, std::memory_order_relaxed);
  reset_box(box(0));
  pid_t pid = r_.start_root(body);
  if (pid < 0) {
    fail(Failure::misuse, std::string("fork failed: ") + std::strerror(errno));
    return std::move(out_);
  }
  // The next schedule's root is forked the first time this schedule leaves the explorer idle
  // (wait_parked), or at its end.
  next_body_ = r_.more_ ? &body : nullptr;
  Task root;
  root.name = "main";
  root.pid = pid;
  root.box = 0;
  box_task_[0] = 0;
  model_.tasks.push_back(root);

  for (;;) {
    if (!wait_parked()) break;
    // Operations that need no choice run first, in task order, until only choices are left.
    bool ran = false;
    bool failed = false;
    for (std::size_t i = 0; i < model_.tasks.size() && !failed; ++i) {
      Task& t = model_.tasks[i];
      if (t.state != TaskState::parked || !model_.invisible(t)) continue;
      ran = true;
      if (t.pending.op == OpKind::spawn) {
        failed = !spawn(static_cast<int>(i));
        continue;
      }
      if (t.pending.op == OpKind::join) cover_completion(static_cast<int>(i), -1);
      const int code = t.pending.op == OpKind::exit ? t.pending.code : 0;
      if (t.pending.op == OpKind::exit && i != 0 && leaked_by_exit(static_cast<int>(i))) {
        note(model_.tasks[i].name + " exits");
        failed = true;
        break;
      }
      if (r_.timeline_ && t.pending.op == OpKind::exit) {
        draw_instant(static_cast<int>(i), "exit " + std::to_string(code),
                     static_cast<std::int64_t>(out_.steps) + 1);
      }
      const std::string why = t.pending.text;
      failed = !deliver(model_.apply_invisible(static_cast<int>(i)));
      if (!failed && code != 0) {
        const Task& x = model_.tasks[i];
        failed = !fail(Failure::exit_code, who(x) + " exited with code " + std::to_string(code) +
                                               (why.empty() ? "" : " (" + why + ")"), &x);
      }
    }
    if (failed || out_.failed()) break;
    if (ran) continue;
    std::vector<Transition> enabled = model_.enabled();
    cover_waits(enabled);
    if (model_.root_exiting()) {
      // The body has returned. As goleak retries, the other processes run on until nothing can
      // move (or kExitSettleSteps have passed: a process that keeps moving is not left
      // blocked); then those still waiting forever are leaks, and the rest end with main.
      if (enabled.empty() || settling_ >= kExitSettleSteps) {
        std::vector<int> others;
        for (const Task& t : model_.tasks) {
          if (t.index != 0 && t.live()) others.push_back(t.index);
        }
        if (leaked(others, 0, LeakEnd::program_end, true)) break;   // the program ends: nothing serves them now
        if (!deliver(model_.apply_invisible(0))) break;
        continue;
      }
      ++settling_;
    }
    if (enabled.empty()) {
      bool blocked = std::any_of(model_.tasks.begin(), model_.tasks.end(),
                                 [](const Task& t) { return t.state == TaskState::parked; });
      if (blocked) {
        judged(Failure::deadlock, deadlock_report(model_));
      }
      break;
    }
    if (out_.steps >= r_.opts_.max_steps) {
      fail(Failure::runaway, "more than " + std::to_string(r_.opts_.max_steps) +
                                 " transitions (Options::max_steps) although the schedule ran "
                                 "fairly: a livelock, or a longer program than the bound allows" +
                                 (r_.opts_.fairness_bound == 0
                                      ? std::string(" (fairness is off: Options::fairness_bound = 0)")
                                      : std::string()));
      break;
    }
    std::size_t chosen = 0;
    if (enabled.size() > 1) {
      chosen = pick(enabled);
      if (!strategy_.error().empty()) {
        fail(Failure::mismatch, strategy_.error());
        break;
      }
    } else {
      strategy_.forced(model_, enabled[0]);
    }
    if (strategy_.redundant()) break;  // reduction: the rest was explored in another order
    const Transition tr = enabled[chosen];
    if (tr.kind == Transition::Kind::kill && model_.tasks[tr.task].pending.op == OpKind::discard) {
      // A Proc destroyed while its child (or what the child started) waits forever: a leak.
      // An explicit kill() is the program's intent, and never one.
      int child = model_.task_of_pid(model_.tasks[tr.task].pending.target);
      std::vector<int> subtree;
      for (const Task& t : model_.tasks) {
        int a = t.index;
        while (a >= 0 && a != child) a = model_.tasks[a].parent;
        if (a == child && t.live()) subtree.push_back(t.index);
      }
      if (leaked(subtree, tr.task, LeakEnd::proc_destroyed, false)) {
        note(model_.describe(tr));
        break;
      }
    }
    if (tr.kind == Transition::Kind::exit && leaked_by_exit(tr.task)) {
      note(model_.describe(tr));
      break;
    }
    if (tr.kind == Transition::Kind::timeout) cover_wait(model_.tasks[tr.task]);  // it waited
    if (tr.kind != Transition::Kind::kill && tr.kind != Transition::Kind::exit) {
      cover_completion(tr.task, tr.case_index);
      cover_completion(tr.partner, tr.partner_case);
    }
    if (r_.timeline_) draw_transition(tr);
    if (!deliver(model_.apply(tr))) break;
  }
  if (r_.timeline_) draw_end();
  strategy_.end(out_.choices);
  if (!out_.failed() && !strategy_.error().empty()) {
    fail(Failure::mismatch, strategy_.error());
  }
  teardown();
  if (next_body_) r_.fork_standby(*next_body_);
  if (out_.failed()) out_.output = r_.trees_.output_tail(kOutputTail);
  return std::move(out_);
}

// ---- Runner --------------------------------------------------------------------------------

// ---- the timeline of one schedule ----------------------------------------------------------

namespace {
std::string site_of(const Pending& p) {
  if (p.file.empty()) return {};
  std::size_t slash = p.file.rfind('/');
  return (slash == std::string::npos ? p.file : p.file.substr(slash + 1)) + ":" + std::to_string(p.line);
}
// "send main#1", "recv w#2", "select", "join".
std::string wait_what(const Model& m, const Task& t, const char* op) {
  std::string what = op;
  if (t.pending.op != OpKind::select && t.pending.op != OpKind::join && !t.pending.cases.empty()) {
    const Chan* ch = m.find(t.pending.cases[0].channel);
    what += " " + (ch ? ch->label : std::string("?"));
  }
  return what;
}
}  // namespace

void Runner::Execution::draw_arrival(const Task& t) {
  if (arrived_.size() <= static_cast<std::size_t>(t.index)) arrived_.resize(t.index + 1, -1);
  arrived_[t.index] = static_cast<std::int64_t>(out_.steps);
}

void Runner::Execution::draw_instant(int task, std::string what, std::int64_t step, const Pending* p) {
  if (task < 0) return;
  out_.info.timeline.instants.push_back(
      {static_cast<std::size_t>(task), step, std::move(what), p ? site_of(*p) : std::string()});
}

void Runner::Execution::draw_release(const Reply& r, std::int64_t step) {
  const Task& t = model_.tasks[r.task];
  const char* op = covered_op(t.pending.op);
  if (!op || t.pending.op == OpKind::close) return;
  const std::int64_t from = static_cast<std::size_t>(r.task) < arrived_.size() ? arrived_[r.task] : -1;
  if (from < 0 || step <= from + 1) return;  // it completed at once: no wait to draw
  std::string what = wait_what(model_, t, op);
  const char* outcome = r.status == Status::timeout ? "timeout"
                        : r.status == Status::ok    ? "rendezvous"
                                                    : "woken";
  if (t.pending.op == OpKind::join) outcome = "woken";
  out_.info.timeline.slices.push_back(
      {static_cast<std::size_t>(r.task), from, step, std::move(what), site_of(t.pending), outcome});
}

void Runner::Execution::draw_transition(const Transition& tr) {
  const std::int64_t step = static_cast<std::int64_t>(out_.steps) + 1;
  const Task& t = model_.tasks[tr.task];
  using K = Transition::Kind;
  switch (tr.kind) {
    case K::pair: {
      const Case* c = tr.case_index >= 0 && static_cast<std::size_t>(tr.case_index) < t.pending.cases.size()
                          ? &t.pending.cases[tr.case_index]
                          : nullptr;
      out_.info.timeline.flows.push_back({static_cast<std::size_t>(tr.task),
                                          static_cast<std::size_t>(tr.partner), step, step,
                                          c ? c->channel : 0});
      break;
    }
    case K::close: {
      const Chan* ch = model_.find(t.pending.channel);
      draw_instant(tr.task, "close " + (ch ? ch->label : std::string("?")), step, &t.pending);
      break;
    }
    case K::fallback: draw_instant(tr.task, "default", step, &t.pending); break;
    case K::kill: draw_instant(tr.task, "kill", step, &t.pending); break;
    case K::exit: draw_instant(tr.task, "child exits", step); break;
    default: break;
  }
}

// The end of the schedule: every lane, and the waits that never ended.
void Runner::Execution::draw_end() {
  detector::Timeline& tl = out_.info.timeline;
  tl.unit = "step";
  const std::int64_t end = static_cast<std::int64_t>(out_.steps) + 1;
  tl.end_ns = end;
  for (const Task& t : model_.tasks) {
    // The reports' pids (report.cpp): task + 1, the same in every replay.
    const pid_t pid = static_cast<pid_t>(t.index + 1);
    tl.lanes.push_back({pid, pid, t.name});
    if (t.state != TaskState::parked) continue;
    const char* op = covered_op(t.pending.op);
    if (!op || t.pending.op == OpKind::close) continue;
    const std::int64_t from =
        static_cast<std::size_t>(t.index) < arrived_.size() ? arrived_[t.index] : -1;
    if (from < 0) continue;
    std::string what = wait_what(model_, t, op);
    tl.slices.push_back({static_cast<std::size_t>(t.index), from, end, std::move(what),
                         site_of(t.pending), "still blocked"});
  }
}

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
  header_->output_fd = trees_.output_fd();
}

Runner::~Runner() {
  if (eventfd_ >= 0) ::close(eventfd_);
  munmap(header_, layout_.size());
}

pid_t Runner::fork_standby(const std::function<void()>& body) {
  Header* h = header_;
  const Layout layout = layout_;
  const std::uint32_t gen = h->start_gen.load(std::memory_order_seq_cst);
  const pid_t explorer = getpid();
  standby_body_ = &body;
  return trees_.fork_standby([h, layout, &body, gen, explorer] {
    run_root(h, layout, body, gen, explorer);
  });
}

pid_t Runner::start_root(const std::function<void()>& body) {
  if (trees_.standby() < 0 || standby_body_ != &body) {
    if (fork_standby(body) < 0) return -1;
  }
  pid_t pid = trees_.adopt_standby();
  // Pairs with the root's seq_cst load: the resets of the region above happen before it looks.
  header_->start_gen.fetch_add(1, std::memory_order_seq_cst);
  futex_wake(header_->start_gen, INT_MAX);
  return pid;
}

Outcome Runner::run(const std::function<void()>& body, Scheduler& s, bool unbuffered) {
  Execution e(*this, s, unbuffered);
  return e.run(body);
}

}  // namespace ceramic::sim::detail
