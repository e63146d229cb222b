#include "model.hpp"

#include <algorithm>
#include <functional>
#include <climits>

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
}  // namespace

// Whether a send/recv case of t can complete now without a partner's choice being involved, or
// with some partner (pairs are listed separately).
bool Model::ready(const Task& t, const Case& c) const {
  const Chan* ch = find(c.channel);
  if (!ch) return false;
  if (ch->closed) return true;  // a send fails at once; a receive drains or reports closed
  if (c.kind == CaseKind::send) {
    if (ch->capacity > 0) return ch->buffer.size() < ch->capacity;
  } else if (ch->capacity > 0) {
    return !ch->buffer.empty();
  }
  // Unbuffered: a parked partner with the opposite case on the same channel.
  CaseKind want = c.kind == CaseKind::send ? CaseKind::recv : CaseKind::send;
  for (const Task& u : tasks) {
    if (u.index == t.index || u.state != TaskState::parked) continue;
    for (const Case& uc : u.pending.cases) {
      if (uc.kind == want && uc.channel == c.channel) return true;
    }
  }
  return false;
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
    if (u.index == t.index || u.state != TaskState::parked) continue;
    for (std::size_t uj = 0; uj < u.pending.cases.size(); ++uj) {
      const Case& uc = u.pending.cases[uj];
      if (uc.kind == CaseKind::recv && uc.channel == c.channel) {
        out.push_back({K::pair, t.index, i, u.index, static_cast<int>(uj)});
      }
    }
  }
}

std::vector<Transition> Model::enabled() const {
  using K = Transition::Kind;
  std::vector<Transition> out;
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
        if (!any_ready) {
          // A default case, or a zero timeout, fires when nothing is ready.
          int idx = -1;
          if (p.has_fallback) {
            for (std::size_t ci = 0; ci < p.cases.size(); ++ci) {
              if (p.cases[ci].kind == CaseKind::fallback) idx = static_cast<int>(ci);
            }
          } else if (p.timed && p.deadline <= now) {
            idx = p.timeout_case >= 0 ? p.timeout_case : 0;
          }
          if (idx >= 0) out.push_back({K::fallback, t.index, idx});
        }
        break;
      }
      case OpKind::close: out.push_back({K::close, t.index, 0}); break;
      case OpKind::closed:
      case OpKind::running: out.push_back({K::query, t.index, 0}); break;
      case OpKind::named: out.push_back({K::named, t.index, 0}); break;
      case OpKind::kill: out.push_back({K::kill, t.index, 0}); break;
      case OpKind::join: {
        if (p.timed && p.deadline <= now) {
          int child = task_of_pid(p.target);
          if (child >= 0 && tasks[child].live()) out.push_back({K::fallback, t.index, 0});
        }
        break;  // a join whose child is gone is invisible (run without a choice)
      }
      default: break;
    }
  }
  // The canonical order. Pairs are generated from the sender's side; sorting by the lower of
  // the two tasks is not needed: any fixed rule is canonical, and this one is stable.
  std::stable_sort(out.begin(), out.end(), [](const Transition& a, const Transition& b) {
    if (a.task != b.task) return a.task < b.task;
    if (a.case_index != b.case_index) return a.case_index < b.case_index;
    if (a.partner != b.partner) return a.partner < b.partner;
    return a.partner_case < b.partner_case;
  });
  if (!out.empty()) return out;

  // Nothing else can happen: simulated time moves to the earliest pending deadline.
  std::int64_t earliest = INT64_MAX;
  for (const Task& t : tasks) {
    if (t.state == TaskState::parked && t.pending.timed) earliest = std::min(earliest, t.pending.deadline);
  }
  if (earliest == INT64_MAX) return out;
  for (const Task& t : tasks) {
    if (t.state != TaskState::parked || !t.pending.timed || t.pending.deadline != earliest) continue;
    int idx = t.pending.op == OpKind::select ? t.pending.timeout_case : 0;
    out.push_back({K::timeout, t.index, idx});
  }
  return out;
}

bool Model::invisible(const Task& t) const {
  switch (t.pending.op) {
    case OpKind::spawn:
    case OpKind::exit:
    case OpKind::sync: return true;
    case OpKind::join: {
      int child = task_of_pid(t.pending.target);
      return child < 0 || !tasks[child].live();
    }
    default: return false;
  }
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
    case K::named:
    case K::fallback:
    case K::timeout:
    case K::kill: f.global = true; break;
  }
  // A transition on no known channel is not something to reason about: be safe.
  if (!f.global && f.channel == 0 && tr.kind != K::query) f.global = true;
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
    case K::kill: {
      int child = task_of_pid(p.target);
      s += " kills " + (child >= 0 ? tasks[child].name : std::string("?")) + where(p);
      break;
    }
  }
  return s;
}

std::string Model::check_invariants() const {
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].index != static_cast<int>(i)) return "task index out of order";
    if (tasks[i].parent >= static_cast<int>(i)) return "a task older than its parent";
  }
  for (const auto& [id, c] : chans) {
    if (c.id != id) return "channel keyed by the wrong id";
    if (c.buffer.size() > c.capacity) return "buffer over capacity on " + c.label;
  }
  return "";
}

}  // namespace ceramic::sim::detail
