// ceramic — the tracer's writer: records every process's blocking points into the trace file
// named by CERAMIC_TRACE (format: ceramic/trace_format.hpp). Installed as the core's observer
// when the library loads, if the variable is set; otherwise it costs nothing. Creating, checking
// and mapping the file is trace_file.cpp's; this file only writes events into it.
//
// In-process state (the interned strings, the channels this process holds) is guarded by one
// mutex that pthread_atfork holds across fork, so a child never inherits it locked. Everything
// in the file is written lock-free, as the format's header describes.

#include "tracer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <system_error>

#include "ceramic/hooks.hpp"
#include "ceramic/trace_format.hpp"
#include "ceramic/detail/futex.hpp"
#include "trace_file.hpp"
#include "identity.hpp"

namespace ceramic::detail {
namespace {

using namespace ceramic::trace;


class Tracer;
Tracer* g_tracer = nullptr;

class Tracer final : public hooks::Observer {
 public:
  // layout: checked once at attach (trace_file.cpp); never re-read from the file.
  Tracer(unsigned char* base, const TraceLayout& layout)
      : base_(base),
        l_(layout),
        h_(*reinterpret_cast<FileHeader*>(base)),
        proc_name_(program_invocation_short_name) {}

  void on_event(const hooks::Record& r) noexcept override;
  // The calling thread is ending (its thread_local state is being destroyed).
  void thread_finished() noexcept;
  void after_fork_child() noexcept { t_entry_ = kNoEntry; }

  std::mutex mu;  // in-process state below; held across fork by pthread_atfork

 private:
  static constexpr std::uint32_t kNoEntry = UINT32_MAX;

  // Sections at the private layout's offsets. Of the header, only its atomic counters are used
  // (h_ below), and every index drawn from them is checked against l_.
  ThreadEntry* threads() { return reinterpret_cast<ThreadEntry*>(base_ + l_.threads_off); }
  ChannelEntry* channels() { return reinterpret_cast<ChannelEntry*>(base_ + l_.channels_off); }
  Event* ring() { return reinterpret_cast<Event*>(base_ + l_.ring_off); }
  std::int64_t now() const { return now_ns() - l_.created_mono_ns; }

  std::uint32_t intern(const char* site_file);  // a __builtin_FILE() literal
  std::uint32_t intern_text(const std::string& s);
  ThreadEntry* me();
  ChannelEntry* find_channel(std::uint64_t id);
  void hold(std::uint64_t id);
  void add_holder(ChannelEntry& c, std::int32_t pid);
  void release(std::uint64_t id);
  void release_all();
  // t_ns: the event's time if the caller has it (< 0: now).
  void record(const hooks::Record& r, EventKind kind, std::uint32_t file, std::int64_t t_ns = -1);

  // Seqlock writes of this thread's entry.
  template <class F>
  void update(F f) {
    ThreadEntry* t = me();
    if (t == nullptr) return;
    t->seq.fetch_add(1, std::memory_order_acq_rel);  // odd: changing
    std::atomic_thread_fence(std::memory_order_release);
    f(*t);
    t->seq.fetch_add(1, std::memory_order_release);  // even: stable, and moved
  }

  unsigned char* base_;
  const TraceLayout l_;
  FileHeader& h_;  // its atomic counters only
  std::map<const char*, std::uint32_t> sites_;       // source files: literals, by address
  std::map<std::string, std::uint32_t> texts_;       // everything interned, by content
  std::map<std::uint64_t, std::uint32_t> held_;      // channel id -> handles in this process
  std::map<std::uint64_t, std::uint32_t> entries_;   // channel id -> ChannelEntry index
  std::string proc_name_;
  static thread_local std::uint32_t t_entry_;
  // The source file of this thread's last event and its interned offset: the hot path's lookup
  // (a thread's operations mostly come from one file). Set under mu.
  struct SiteCache {
    const char* file = nullptr;
    std::uint32_t off = 0;
  };
  static thread_local SiteCache t_site_;
  bool hot(const hooks::Record& r) noexcept;
  void waiting(const hooks::Record& r, std::uint32_t file);
  void running(const hooks::Record& r, std::uint32_t file);
};

thread_local std::uint32_t Tracer::t_entry_ = Tracer::kNoEntry;
thread_local Tracer::SiteCache Tracer::t_site_;

std::uint32_t Tracer::intern(const char* s) {
  if (s == nullptr || *s == '\0') return 0;
  if (s == t_site_.file) return t_site_.off;
  auto it = sites_.find(s);
  std::uint32_t off;
  if (it != sites_.end()) {
    off = it->second;
  } else {
    off = intern_text(s);
    sites_.emplace(s, off);
  }
  t_site_ = {s, off};
  return off;
}

std::uint32_t Tracer::intern_text(const std::string& s) {
  if (s.empty()) return 0;
  auto it = texts_.find(s);
  if (it != texts_.end()) return it->second;
  std::size_t n = s.size() + 1;
  std::uint32_t off = h_.strings_used.fetch_add(static_cast<std::uint32_t>(n));
  if (off + n > l_.string_bytes) {
    h_.dropped_strings.fetch_add(1);
    return 0;
  }
  std::memcpy(base_ + l_.strings_off + off, s.c_str(), n);
  texts_.emplace(s, off);
  return off;
}

ThreadEntry* Tracer::me() {
  if (t_entry_ == kNoEntry) {
    std::uint32_t i = h_.threads_used.fetch_add(1);
    if (i >= l_.max_threads) {
      h_.dropped_threads.fetch_add(1);
      return nullptr;
    }
    ThreadEntry& t = threads()[i];
    t.pid = self_pid();
    t.tid = self_tid();
    t.ppid = getppid();
    t.name = intern_text(proc_name_);
    t.state = static_cast<std::uint32_t>(ThreadState::running);
    t.seq.store(2, std::memory_order_release);  // published: even and non-zero
    t_entry_ = i;
    // A thread that ends must stop counting as one that could still act (std::thread runs
    // thread_local destructors; _exit and the main thread's exit do not need it).
    struct Farewell {
      ~Farewell() {
        if (g_tracer) g_tracer->thread_finished();
      }
    };
    thread_local Farewell farewell;
    (void)farewell;
  }
  return &threads()[t_entry_];
}

ChannelEntry* Tracer::find_channel(std::uint64_t id) {
  auto it = entries_.find(id);
  if (it != entries_.end()) return &channels()[it->second];
  // Opened by name, or inherited from a process that created it: look it up.
  std::uint32_t used = std::min(h_.channels_used.load(std::memory_order_acquire), l_.max_channels);
  for (std::uint32_t i = 0; i < used; ++i) {
    if (channels()[i].id.load(std::memory_order_acquire) == id) {
      entries_.emplace(id, i);
      return &channels()[i];
    }
  }
  return nullptr;
}

void Tracer::hold(std::uint64_t id) {
  if (held_[id]++ > 0) return;
  if (ChannelEntry* c = find_channel(id)) add_holder(*c, self_pid());
}

void Tracer::add_holder(ChannelEntry& c, std::int32_t pid) {
  for (auto& slot : c.holders) {
    if (slot.load(std::memory_order_acquire) == pid) return;  // listed already
  }
  for (auto& slot : c.holders) {
    std::int32_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid, std::memory_order_acq_rel)) return;
  }
  c.overflow.store(1, std::memory_order_release);  // readers must assume other holders
}

void Tracer::release(std::uint64_t id) {
  auto it = held_.find(id);
  if (it == held_.end() || --it->second > 0) return;
  held_.erase(it);
  ChannelEntry* c = find_channel(id);
  if (c == nullptr) return;
  std::int32_t pid = self_pid();
  for (auto& slot : c->holders) {
    std::int32_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) break;
  }
  std::uint32_t k = c->former_next.fetch_add(1, std::memory_order_acq_rel) % kMaxFormer;
  c->former[k].store(pid, std::memory_order_release);
}

void Tracer::release_all() {
  while (!held_.empty()) {
    held_.begin()->second = 1;
    release(held_.begin()->first);
  }
}

void Tracer::thread_finished() noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu);
    if (t_entry_ == kNoEntry || t_entry_ >= l_.max_threads) return;
    ThreadEntry& t = threads()[t_entry_];
    if (t.pid != self_pid() || t.state == static_cast<std::uint32_t>(ThreadState::exited)) return;
    update([](ThreadEntry& e) { e.state = static_cast<std::uint32_t>(ThreadState::finished); });
  } catch (...) {
  }
}

void Tracer::record(const hooks::Record& r, EventKind kind, std::uint32_t file,
                    std::int64_t t_ns) {
  std::uint64_t seq = h_.ring_head.fetch_add(1, std::memory_order_acq_rel) + 1;
  Event& e = ring()[seq & (l_.ring_capacity - 1)];
  e.seq.store(0, std::memory_order_relaxed);  // being rewritten
  std::atomic_thread_fence(std::memory_order_release);
  e.t_ns = t_ns >= 0 ? t_ns : now();
  e.pid = self_pid();
  e.tid = self_tid();
  e.peer = r.peer;
  e.kind = static_cast<std::uint8_t>(kind);
  e.op = static_cast<std::uint8_t>(r.op == hooks::Op::send     ? WaitOp::send
                                   : r.op == hooks::Op::recv   ? WaitOp::recv
                                   : r.op == hooks::Op::select ? WaitOp::select
                                   : r.op == hooks::Op::join   ? WaitOp::join
                                                               : WaitOp::none);
  e.channel = r.channel;
  e.value = r.value;
  e.file = file;
  e.line = r.site.line;
  e.seq.store(seq, std::memory_order_release);  // pairs with the reader's acquire
}

// A thread's own wait and its end touch only its ThreadEntry (a seqlock only it writes) and
// the ring (atomic slots): once the thread has its entry and the site's file is interned, the
// event needs no lock, and takes none.
bool Tracer::hot(const hooks::Record& r) noexcept {
  if (t_entry_ == kNoEntry || r.site.file == nullptr || r.site.file != t_site_.file) return false;
  switch (r.event) {
    case hooks::Event::block:
    case hooks::Event::join_begin:
      waiting(r, t_site_.off);
      return true;
    case hooks::Event::unblock:
    case hooks::Event::rendezvous:
    case hooks::Event::timeout:
    case hooks::Event::join_end:
      running(r, t_site_.off);
      return true;
    default:
      return false;
  }
}

void Tracer::waiting(const hooks::Record& r, std::uint32_t file) {
  const bool join = r.event == hooks::Event::join_begin;
  const std::int64_t now_rel = now();
  update([&](ThreadEntry& t) {
    // A select announces one block per case: the first resets the list.
    bool more = r.op == hooks::Op::select &&
                t.state == static_cast<std::uint32_t>(ThreadState::blocked) &&
                t.op == static_cast<std::uint8_t>(WaitOp::select) && t.line == r.site.line &&
                t.file == file;
    if (!more) {
      t.n_waits = 0;
      t.since_ns = now_rel;
    }
    t.state = static_cast<std::uint32_t>(ThreadState::blocked);
    t.op = static_cast<std::uint8_t>(join ? WaitOp::join
                                     : r.op == hooks::Op::select ? WaitOp::select
                                     : r.op == hooks::Op::send   ? WaitOp::send
                                                                 : WaitOp::recv);
    t.has_deadline = r.has_deadline ? 1 : 0;
    t.join_pid = join ? r.peer : 0;
    t.file = file;
    t.line = r.site.line;
    const auto n = t.n_waits;  // read once: the file is shared
    if (!join && n < kMaxWaits) {
      t.wait_ops[n] = static_cast<std::uint8_t>(
          r.op == hooks::Op::select ? (r.value ? WaitOp::send : WaitOp::recv)
          : r.op == hooks::Op::send ? WaitOp::send
                                    : WaitOp::recv);
      t.waits[n] = r.channel;
      t.n_waits = n + 1;
    }
  });
  record(r, join ? EventKind::join_begin : EventKind::block, file, now_rel);
}

void Tracer::running(const hooks::Record& r, std::uint32_t file) {
  update([&](ThreadEntry& t) {
    t.state = static_cast<std::uint32_t>(ThreadState::running);
    t.op = static_cast<std::uint8_t>(WaitOp::none);
    t.n_waits = 0;
    ++t.ops;
    if (r.event == hooks::Event::rendezvous) {
      t.last_peer = r.peer;
      t.last_channel = r.channel;
      t.last_file = file;
      t.last_line = r.site.line;
    }
  });
  record(r,
         r.event == hooks::Event::unblock      ? EventKind::unblock
         : r.event == hooks::Event::rendezvous ? EventKind::rendezvous
         : r.event == hooks::Event::timeout    ? EventKind::timeout
                                               : EventKind::join_end,
         file);
}

void Tracer::on_event(const hooks::Record& r) noexcept {
  if (hot(r)) return;
  try {
    std::lock_guard<std::mutex> lock(mu);
    const std::uint32_t file = intern(r.site.file);
    switch (r.event) {
      case hooks::Event::channel_created: {
        std::uint32_t i = h_.channels_used.fetch_add(1);
        if (i >= l_.max_channels) {
          h_.dropped_channels.fetch_add(1);
        } else {
          ChannelEntry& c = channels()[i];
          c.capacity = static_cast<std::uint32_t>(r.value);
          c.creator_pid = self_pid();
          c.file = file;
          c.line = r.site.line;
          c.name = r.name ? intern_text(r.name) : 0;
          c.id.store(r.channel, std::memory_order_release);
          entries_.emplace(r.channel, i);
        }
        hold(r.channel);
        record(r, EventKind::channel, file);
        break;
      }
      case hooks::Event::channel_opened:
        hold(r.channel);
        break;
      case hooks::Event::channel_released:
        release(r.channel);
        break;
      case hooks::Event::start:
        // A new child. It holds the handles its parent held (held_ is inherited with the rest
        // of memory), and its parent listed it as their holder when it forked (spawn below).
        proc_name_ = r.name ? r.name : "";
        t_entry_ = kNoEntry;
        me();
        for (auto& [id, n] : held_) {
          if (ChannelEntry* c = find_channel(id)) add_holder(*c, self_pid());
        }
        record(r, EventKind::start, file);
        break;
      case hooks::Event::exit:
        update([&](ThreadEntry& t) {
          t.state = static_cast<std::uint32_t>(ThreadState::exited);
          t.exit_code = static_cast<std::int32_t>(r.value);
        });
        release_all();
        record(r, EventKind::exit, file);
        break;
      case hooks::Event::spawn:
        // The child holds our handles from the fork on, even before it runs a line: list it
        // now, so a parent blocked before the child starts is never seen as alone.
        for (auto& [id, n] : held_) {
          if (ChannelEntry* c = find_channel(id)) add_holder(*c, r.peer);
        }
        record(r, EventKind::spawn, file);
        break;
      case hooks::Event::block:
      case hooks::Event::join_begin:
        waiting(r, file);
        break;
      case hooks::Event::unblock:
      case hooks::Event::rendezvous:
      case hooks::Event::timeout:
      case hooks::Event::join_end:
        running(r, file);
        break;
      case hooks::Event::close:
        if (ChannelEntry* c = find_channel(r.channel)) c->closed.store(1, std::memory_order_release);
        record(r, EventKind::close, file);
        break;
      case hooks::Event::kill:
        record(r, EventKind::kill, file);
        break;
    }
  } catch (...) {
    // Tracing never breaks the traced program (an allocation failed: this event is lost).
  }
}

void atfork_prepare() {
  if (g_tracer) g_tracer->mu.lock();
}
void atfork_parent() {
  if (g_tracer) g_tracer->mu.unlock();
}
void atfork_child() {
  if (g_tracer) {
    g_tracer->mu.unlock();
    g_tracer->after_fork_child();
  }
}


}  // namespace

}  // namespace ceramic::detail

namespace ceramic::trace {

bool start(const std::string& path) { return detail::tracer_attach(path.c_str()); }

void stop() { hooks::install(nullptr); }

}  // namespace ceramic::trace

namespace ceramic::detail {

bool tracer_autostart() noexcept {
  const char* path = std::getenv(kEnvVar);
  if (path == nullptr || *path == '\0') return false;
  return tracer_attach(path);
}

bool tracer_attach(const char* path) noexcept {
  std::string why;
  AttachedTrace t = attach_trace_file(path, &why);
  if (t.base == nullptr) {
    std::fprintf(stderr, "ceramic: tracing disabled: %s: %s\n", path, why.c_str());
    return false;
  }
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] { pthread_atfork(&atfork_prepare, &atfork_parent, &atfork_child); });
  g_tracer = new Tracer(t.base, t.layout);  // never destroyed: threads may trace until the very end
  hooks::install(g_tracer);
  return true;
}

}  // namespace ceramic::detail
