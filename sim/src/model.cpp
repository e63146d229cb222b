#include "model.hpp"

#include <algorithm>
#include <functional>
#include <climits>
#include <csignal>

namespace ceramic::sim::detail {

Chan& Model::chan(std::uint64_t id, std::size_t capacity) {
  auto it = chans.find(id);
  if (it != chans.end()) return it->second;
  Chan c;
  c.id = id;
  c.label = "ext#" + std::to_string(++external_channels);
  c.capacity = unbuffered ? 0 : capacity;
  c.creator = -1;
  return chans.emplace(id, std::move(c)).first->second;
}

const Chan* Model::find(std::uint64_t id) const {
  auto it = chans.find(id);
  return it == chans.end() ? nullptr : &it->second;
}

int Model::task_of_pid(pid_t pid) const {
  for (const Task& t : tasks) {
    if (t.pid == pid) return t.index;
  }
  return -1;
}

namespace {

bool is_channel_case(const Case& c) { return c.kind == CaseKind::send || c.kind == CaseKind::recv; }

// Whether sender and receiver may meet: at least one of them waits (the other finds it there).
bool may_meet(const Task& a, const Task& b) { return !(a.pending.poll && b.pending.poll); }

}  // namespace

// Whether case c of t can complete now through something that cannot be late: a buffered value
// or room, or a closed channel. (A partner parked at the channel may not have arrived yet.)
bool Model::ready(const Task&, const Case& c) const {
  const Chan* ch = find(c.channel);
  if (!ch) return false;
  if (ch->closed) return true;  // a send fails at once; a receive drains or reports closed
  if (ch->capacity == 0) return false;
  return c.kind == CaseKind::send ? ch->buffer.size() < ch->capacity : !ch->buffer.empty();
}

void Model::add_case_transitions(const Task& t, std::size_t ci, std::vector<Transition>& out) const {
  using K = Transition::Kind;
  const Case& c = t.pending.cases[ci];
  const Chan* ch = find(c.channel);
  if (!ch) return;
  int i = static_cast<int>(ci);
  if (ch->closed) {
    // A send fails at once; a receive drains the buffer first.
    if (c.kind == CaseKind::send || ch->buffer.empty()) {
      out.push_back({K::closed, t.index, i});
    } else {
      out.push_back({K::pop, t.index, i});
    }
    return;
  }
  if (ch->capacity > 0) {
    if (c.kind == CaseKind::send && ch->buffer.size() < ch->capacity) out.push_back({K::push, t.index, i});
    if (c.kind == CaseKind::recv && !ch->buffer.empty()) out.push_back({K::pop, t.index, i});
    return;
  }
  // Unbuffered: listed once, from the sender's side, one transition per receiving partner case.
  if (c.kind != CaseKind::send) return;
  for (const Task& u : tasks) {
    if (u.index == t.index || u.state != TaskState::parked || !may_meet(t, u)) continue;
    for (std::size_t uj = 0; uj < u.pending.cases.size(); ++uj) {
      const Case& uc = u.pending.cases[uj];
      if (uc.kind == CaseKind::recv && uc.channel == c.channel) {
        out.push_back({K::pair, t.index, i, u.index, static_cast<int>(uj)});
      }
    }
  }
}

namespace {
// The case index a timeout or default of p reports as fired.
int fallback_case(const Pending& p) {
  for (std::size_t ci = 0; ci < p.cases.size(); ++ci) {
    if (p.cases[ci].kind == CaseKind::fallback) return static_cast<int>(ci);
  }
  return p.timeout_case >= 0 ? p.timeout_case : 0;
}
}  // namespace

std::vector<Transition> Model::enabled() const {
  using K = Transition::Kind;
  std::vector<Transition> out;
  std::vector<const Task*> blocked_timed;  // timed waits that could time out now
  for (const Task& t : tasks) {
    if (t.state != TaskState::parked) continue;
    const Pending& p = t.pending;
    switch (p.op) {
      case OpKind::send:
      case OpKind::recv:
      case OpKind::select: {
        bool any_ready = false;
        for (std::size_t ci = 0; ci < p.cases.size(); ++ci) {
          if (!is_channel_case(p.cases[ci])) continue;
          add_case_transitions(t, ci, out);
          if (!any_ready && ready(t, p.cases[ci])) any_ready = true;
        }
        if (any_ready) break;
        if (p.poll) {
          out.push_back({K::fallback, t.index, fallback_case(p)});
        } else if (p.timed) {
          blocked_timed.push_back(&t);
        }
        break;
      }
      case OpKind::close: out.push_back({K::close, t.index, 0}); break;
      case OpKind::closed:
      case OpKind::running: out.push_back({K::query, t.index, 0}); break;
      case OpKind::named: out.push_back({K::named, t.index, 0}); break;
      case OpKind::kill: out.push_back({K::kill, t.index, 0}); break;
      case OpKind::discard:  // a live child (a gone one is invisible) is ended like a kill
        out.push_back({K::kill, t.index, 0});
        break;
      case OpKind::join: {
        int child = task_of_pid(p.target);
        if (child < 0 || !tasks[child].live()) break;  // invisible: runs without a choice
        if (p.poll) {
          out.push_back({K::fallback, t.index, 0});
        } else if (p.timed) {
          blocked_timed.push_back(&t);
        }
        break;
      }
      case OpKind::exit:
        // Visible only while the parent watches (invisible() says when): exiting, or not yet.
        // The root's exit is the explorer's to settle (root_exiting).
        if (t.parent >= 0 && !invisible(t)) out.push_back({K::exit, t.index, 0});
        break;
      default: break;
    }
  }
  // The canonical order. Pairs are generated from the sender's side; sorting by the lower of
  // the two tasks is not needed: any fixed rule is canonical, and this one is stable.
  auto canonical = [](const Transition& a, const Transition& b) {
    if (a.task != b.task) return a.task < b.task;
    if (a.case_index != b.case_index) return a.case_index < b.case_index;
    if (a.partner != b.partner) return a.partner < b.partner;
    return a.partner_case < b.partner_case;
  };
  std::stable_sort(out.begin(), out.end(), canonical);
  if (blocked_timed.empty() || (timeouts == Timeouts::when_idle && !out.empty())) return out;

  // Timeouts, earliest deadline first: a later deadline cannot pass while an earlier one has
  // not (that wait would have timed out already).
  std::int64_t earliest = INT64_MAX;
  for (const Task* t : blocked_timed) earliest = std::min(earliest, t->pending.deadline);
  std::size_t before = out.size();
  for (const Task* t : blocked_timed) {
    if (t->pending.deadline != earliest) continue;
    out.push_back({K::timeout, t->index, t->pending.op == OpKind::select ? t->pending.timeout_case : 0});
  }
  std::inplace_merge(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(before), out.end(), canonical);
  return out;
}

bool Model::waits_forever_unless_served(const Task& t) const {
  if (t.state != TaskState::parked || t.pending.timed || t.pending.poll) return false;
  switch (t.pending.op) {
    case OpKind::send:
    case OpKind::recv:
    case OpKind::select: return true;
    case OpKind::join: {
      int child = task_of_pid(t.pending.target);
      return child >= 0 && tasks[child].live();
    }
    default: return false;
  }
}

bool Model::root_exiting() const {
  if (tasks.empty() || tasks[0].state != TaskState::parked || tasks[0].pending.op != OpKind::exit) {
    return false;
  }
  return std::any_of(tasks.begin() + 1, tasks.end(), [](const Task& t) { return t.live(); });
}

bool Model::invisible(const Task& t) const {
  switch (t.pending.op) {
    case OpKind::spawn:
    case OpKind::sync: return true;
    case OpKind::exit: {
      if (t.parent < 0) return !root_exiting();
      const Task& parent = tasks[t.parent];
      if (parent.state != TaskState::parked) return true;
      const Pending& pp = parent.pending;
      bool watches = pp.target == t.pid &&
                     (pp.op == OpKind::running || (pp.op == OpKind::join && pp.timed));
      return !watches;
    }
    case OpKind::join:
    case OpKind::discard: {
      int child = task_of_pid(t.pending.target);
      return child < 0 || !tasks[child].live();
    }
    default: return false;
  }
}

int Model::spawn(int parent) {
  Task c;
  c.index = static_cast<int>(tasks.size());
  c.parent = parent;
  Task& t = tasks[parent];
  c.name = t.pending.text.empty() ? t.name + "." + std::to_string(t.children + 1) : t.pending.text;
  c.holds = t.holds;
  ++t.children;
  tasks.push_back(std::move(c));
  return static_cast<int>(tasks.size()) - 1;
}

void Model::end_tree(int task, std::vector<int>& ended) {
  for (std::size_t i = static_cast<std::size_t>(task) + 1; i < tasks.size(); ++i) {
    if (tasks[i].parent == task && tasks[i].live()) end_tree(static_cast<int>(i), ended);
  }
  Task& t = tasks[task];
  if (!t.live()) return;
  t.state = TaskState::ended;
  t.exit_code = 128 + SIGKILL;
  ended.push_back(task);
}

Effects Model::apply_invisible(int self) {
  Effects e;
  Task& t = tasks[self];
  const Pending& p = t.pending;
  switch (p.op) {
    case OpKind::exit: {
      // A process's exit ends what it started and left running (Proc children die with their
      // parent): ended, not crashed. The exiting task itself is released to _exit.
      for (std::size_t i = static_cast<std::size_t>(self) + 1; i < tasks.size(); ++i) {
        if (tasks[i].parent == self && tasks[i].live()) end_tree(static_cast<int>(i), e.ended);
      }
      Task& me = tasks[self];
      me.state = TaskState::exited;
      me.exit_code = me.pending.code;
      e.step = me.name + " exits" + (me.pending.code ? " with code " + std::to_string(me.pending.code) : "");
      e.replies.emplace_back(self);
      return e;
    }
    case OpKind::join: {
      int child = task_of_pid(p.target);
      Reply r(self);
      r.answer = true;
      r.exit_code = child >= 0 ? tasks[child].exit_code : 0;
      e.step = t.name + " joins " + (child >= 0 ? tasks[child].name : std::string("?")) +
               " (exit code " + std::to_string(r.exit_code) + ")";
      e.replies.push_back(std::move(r));
      t.state = TaskState::running;
      return e;
    }
    default:  // a sync, or a discard whose child is gone: nothing to do but go on
      e.replies.emplace_back(self);
      t.state = TaskState::running;
      return e;
  }
}

Effects Model::apply(const Transition& tr) {
  using K = Transition::Kind;
  Effects e;
  e.step = describe(tr);
  Task& t = tasks[tr.task];
  const Pending& p = t.pending;
  auto chan_of = [&](int ci) -> Chan& { return chans.at(p.cases[ci].channel); };
  Reply r(t.index, static_cast<std::uint32_t>(std::max(tr.case_index, 0)));
  switch (tr.kind) {
    case K::pair: {
      Task& u = tasks[tr.partner];
      Reply ur(u.index, static_cast<std::uint32_t>(tr.partner_case));
      ur.has_value = true;
      ur.value = p.cases[tr.case_index].value;
      t.last_peer = u.index;
      u.last_peer = t.index;
      t.last_file = p.file;
      t.last_line = p.line;
      u.last_file = u.pending.file;
      u.last_line = u.pending.line;
      u.state = TaskState::running;
      e.replies.push_back(std::move(ur));
      break;
    }
    case K::push: chan_of(tr.case_index).buffer.push_back(p.cases[tr.case_index].value); break;
    case K::pop: {
      Chan& c = chan_of(tr.case_index);
      r.has_value = true;
      r.value = std::move(c.buffer.front());
      c.buffer.pop_front();
      break;
    }
    case K::closed: r.status = Status::closed; break;
    case K::close: chans.at(p.channel).closed = true; break;
    case K::query:
      if (p.op == OpKind::closed) {
        r.answer = chans.at(p.channel).closed;
      } else {
        const Task& child = tasks[task_of_pid(p.target)];
        r.answer = child.live();
        r.exit_code = child.exit_code;
      }
      break;
    case K::named: break;
    case K::fallback:
    case K::timeout:
      if (tr.kind == K::timeout) now = std::max(now, p.deadline);
      if (p.op == OpKind::send || p.op == OpKind::recv) r.status = Status::timeout;
      r.answer = false;  // join_for: not joined
      break;
    case K::kill: end_tree(task_of_pid(p.target), e.ended); break;
    case K::exit: {
      Effects x = apply_invisible(tr.task);
      x.step = e.step;
      return x;
    }
  }
  t.state = TaskState::running;
  e.replies.insert(e.replies.begin(), std::move(r));
  return e;
}

Footprint Model::footprint(const Transition& tr) const {
  using K = Transition::Kind;
  Footprint f;
  f.tasks[0] = tr.task;
  const Pending& p = tasks[tr.task].pending;
  // Channel ids are random per schedule, but footprints outlive the schedule that made them (a
  // sleep set is built in one run and used in the next): name channels by their label, which
  // is their deterministic creation order. Two labels hashing alike only make two transitions
  // look dependent, which is safe.
  auto stable = [this](std::uint64_t id) -> std::uint64_t {
    const Chan* ch = find(id);
    if (ch == nullptr) return 0;
    std::uint64_t h = std::hash<std::string>{}(ch->label);
    return h == 0 ? 1 : h;
  };
  auto case_channel = [&p, &stable](int ci) -> std::uint64_t {
    if (ci < 0 || static_cast<std::size_t>(ci) >= p.cases.size()) return 0;
    return stable(p.cases[ci].channel);
  };
  switch (tr.kind) {
    case K::pair:
      f.tasks[1] = tr.partner;
      f.channel = case_channel(tr.case_index);
      break;
    case K::push:
    case K::pop:
    case K::closed: f.channel = case_channel(tr.case_index); break;
    case K::close: f.channel = stable(p.channel); break;
    case K::query:
      if (p.op == OpKind::closed) {
        f.channel = stable(p.channel);
        if (f.channel == 0) f.global = true;
      } else {
        f.tasks[1] = task_of_pid(p.target);
        // A child that is not ours to name: be safe.
        if (f.tasks[1] < 0) f.global = true;
      }
      break;
    case K::exit:
      f.tasks[1] = tasks[tr.task].parent;
      break;
    case K::named:
    case K::fallback:
    case K::timeout:
    case K::kill: f.global = true; break;
  }
  // A transition on no known channel is not something to reason about: be safe.
  if (!f.global && f.channel == 0 && tr.kind != K::query && tr.kind != K::exit) f.global = true;
  return f;
}

bool independent(const Footprint& a, const Footprint& b) noexcept {
  if (a.global || b.global) return false;
  if (a.channel != 0 && a.channel == b.channel) return false;
  for (int x : a.tasks) {
    if (x < 0) continue;
    for (int y : b.tasks) {
      if (x == y) return false;
    }
  }
  return true;
}

std::string Model::describe(const Transition& tr) const {
  using K = Transition::Kind;
  const Task& t = tasks[tr.task];
  auto where = [](const Pending& p) {
    if (p.file.empty()) return std::string();
    std::size_t slash = p.file.rfind('/');
    return " (" + (slash == std::string::npos ? p.file : p.file.substr(slash + 1)) + ":" +
           std::to_string(p.line) + ")";
  };
  auto chan_label = [&](const Case& c) {
    const Chan* ch = find(c.channel);
    return ch ? ch->label : std::string("?");
  };
  const Pending& p = t.pending;
  const Case* c = tr.case_index >= 0 && static_cast<std::size_t>(tr.case_index) < p.cases.size()
                      ? &p.cases[tr.case_index]
                      : nullptr;
  std::string s = t.name;
  switch (tr.kind) {
    case K::pair: {
      const Task& u = tasks[tr.partner];
      s += " sends to " + u.name + " on " + chan_label(*c) + where(p);
      break;
    }
    case K::push: s += " sends on buffered " + chan_label(*c) + where(p); break;
    case K::pop: s += " receives from buffered " + chan_label(*c) + where(p); break;
    case K::closed:
      s += (c->kind == CaseKind::send ? " sends on closed " : " receives closed from ") +
           chan_label(*c) + where(p);
      break;
    case K::close: {
      const Chan* ch = find(p.channel);
      s += " closes " + (ch ? ch->label : std::string("?")) + where(p);
      break;
    }
    case K::query: s += p.op == OpKind::closed ? " asks closed()" : " asks running()"; break;
    case K::named: s += " creates or opens a named channel" + where(p); break;
    case K::fallback: s += " takes the default (nothing ready)" + where(p); break;
    case K::timeout: s += " times out" + where(p); break;
    case K::exit: s += " exits"; break;
    case K::kill: {
      int child = task_of_pid(p.target);
      s += (p.op == OpKind::discard ? " ends " : " kills ") +
           (child >= 0 ? tasks[child].name : std::string("?")) +
           (p.op == OpKind::discard ? " (its Proc is destroyed)" : "") + where(p);
      break;
    }
  }
  return s;
}

std::string Model::check_invariants() const {
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].index != static_cast<int>(i)) return "task index out of order";
    if (tasks[i].parent >= static_cast<int>(i)) return "a task older than its parent";
    const Task& t = tasks[i];
    if (t.state == TaskState::parked && t.pending.op == OpKind::none) return t.name + " parked at nothing";
    if (t.state == TaskState::parked && (t.pending.op == OpKind::send || t.pending.op == OpKind::recv) &&
        t.pending.cases.size() != 1) {
      return t.name + ": a send or receive with " + std::to_string(t.pending.cases.size()) + " cases";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (t.live() && tasks[j].live() && t.box >= 0 && t.box == tasks[j].box) {
        return t.name + " and " + tasks[j].name + " share a mailbox";
      }
    }
  }
  for (const auto& [id, c] : chans) {
    if (c.id != id) return "channel keyed by the wrong id";
    if (c.buffer.size() > c.capacity) return "buffer over capacity on " + c.label;
  }
  return "";
}

}  // namespace ceramic::sim::detail
