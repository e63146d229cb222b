#include "client.hpp"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "ceramic/control.hpp"
#include "ceramic/detail/futex.hpp"
#include "ceramic/chan.hpp"
#include "ceramic/status.hpp"

namespace ceramic::sim::detail {
namespace {

pid_t current_tid() noexcept { return static_cast<pid_t>(syscall(SYS_gettid)); }

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long a parked task spins before it sleeps: the explorer usually answers within a few
// microseconds when it has a core of its own; on a busy machine the futex takes over.
constexpr int kSpins = 200;

class Client final : public control::Controller {
 public:
  Header* header = nullptr;
  Layout layout;
  int task = -1;
  pid_t tid = 0;
  int pending_child = -1;

  Box& box(int i) const noexcept {
    return reinterpret_cast<Box*>(reinterpret_cast<char*>(header) + layout.boxes_off())[i];
  }
  Box& mine() const noexcept { return box(task); }
  char* values() const noexcept {
    return reinterpret_cast<char*>(header) + layout.values_off() +
           static_cast<std::size_t>(task) * layout.value_bytes;
  }

  // Every operation starts here: only the thread the task was started on is scheduled.
  Box& begin(OpKind op, Site site) {
    if (current_tid() != tid) {
      fail_now(Failure::misuse,
               "a channel or process operation from a second thread; the simulator schedules "
               "processes, one thread each (use ceramic::Proc for concurrency)",
               site);
    }
    Box& b = mine();
    b.op = op;
    b.ncases = 0;
    b.code = 0;
    b.target = 0;
    b.timeout_ns = -1;
    b.channel = 0;
    b.line = site.line;
    copy_text(b.file, sizeof b.file, site.file);
    b.text[0] = '\0';
    return b;
  }

  // Publishes the request: the explorer may read it from here on.
  void publish(Box& b) noexcept {
    b.state.store(kParked, std::memory_order_seq_cst);
    header->epoch.fetch_add(1, std::memory_order_seq_cst);
    if (header->sleeping.load(std::memory_order_seq_cst) != 0) {
      std::uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(header->eventfd, &one, sizeof one);
    }
  }

  // Publishes the request and waits for the explorer's reply.
  void park(Box& b) noexcept {
    publish(b);
    for (int i = 0; i < kSpins; ++i) {
      if (b.state.load(std::memory_order_acquire) == kReleased) {
        b.state.store(kRunning, std::memory_order_relaxed);
        return;
      }
      cpu_relax();
    }
    b.sleeping.store(1, std::memory_order_seq_cst);
    while (b.state.load(std::memory_order_seq_cst) != kReleased) {
      ceramic::detail::futex_wait(b.state, kParked, INT64_MAX);
    }
    b.sleeping.store(0, std::memory_order_relaxed);
    b.state.store(kRunning, std::memory_order_relaxed);
  }

  // The exit: publishes it and waits until the explorer has settled what it ends (children die
  // with their parent), through exit_gen (mailbox.hpp); never touches the box afterwards.
  void park_exit(Box& b) noexcept {
    const std::uint32_t gen = b.exit_gen.load(std::memory_order_seq_cst);
    publish(b);
    for (int i = 0; i < kSpins; ++i) {
      if (b.exit_gen.load(std::memory_order_acquire) != gen) return;
      cpu_relax();
    }
    while (b.exit_gen.load(std::memory_order_seq_cst) == gen) {
      ceramic::detail::futex_wait(b.exit_gen, gen, INT64_MAX);
    }
  }

  void put_case(Box& b, CaseKind kind, const control::ChannelRef* ch, std::int64_t timeout,
                std::uint32_t off, std::uint32_t len) {
    CaseRec& c = b.cases[b.ncases++];
    c = CaseRec{};
    c.kind = kind;
    c.timeout_ns = timeout;
    c.value_off = off;
    c.value_len = len;
    if (ch) {
      c.channel = ch->id;
      c.capacity = ch->capacity;
    }
  }

  std::uint32_t put_value(std::uint32_t& used, const void* data, std::size_t len, Site site) {
    if (len > layout.value_bytes - used) {
      fail_now(Failure::misuse,
               "a value of " + std::to_string(len) + " bytes (with this operation's other " +
                   std::to_string(used) + ") exceeds Options::max_value_bytes (" +
                   std::to_string(layout.value_bytes) + ")",
               site);
    }
    if (len) std::memcpy(values() + used, data, len);
    std::uint32_t off = used;
    used += static_cast<std::uint32_t>(len);
    return off;
  }

  // The received value, from the value area into the caller's sink.
  void take_value(Box& b, control::Receiver sink, Site site) {
    std::size_t len = b.value_len;
    if (len > layout.value_bytes) fail_now(Failure::misuse, "corrupt reply from the explorer", site);
    void* dst = sink.prepare(sink.ctx, len);
    if (!dst) {
      fail_now(Failure::misuse,
               "received a value of " + std::to_string(len) +
                   " bytes that does not fit the receiving type (a channel used with two types?)",
               site);
    }
    if (len) std::memcpy(dst, values(), len);
  }

  void log(control::Handle h, const control::ChannelRef& ch, Site site) noexcept {
    if (current_tid() != tid) return;  // a second thread: reported at its first operation
    Box& b = mine();
    if (b.nlog == kLogEntries) {
      begin(OpKind::sync, site);
      park(b);  // the explorer empties the log
    }
    LogRec& r = b.log[b.nlog];
    r.channel = ch.id;
    r.capacity = ch.capacity;
    r.line = site.line;
    r.kind = h == control::Handle::created  ? LogKind::created
             : h == control::Handle::opened ? LogKind::opened
                                            : LogKind::released;
    copy_text(r.file, sizeof r.file, site.file);
    std::size_t n = std::min(ch.name.size(), sizeof r.name - 1);
    std::memcpy(r.name, ch.name.data(), n);
    r.name[n] = '\0';
    ++b.nlog;
  }

  // ---- control::Controller ----

  void handle(control::Handle h, const control::ChannelRef& ch, Site site) noexcept override {
    log(h, ch, site);
  }

  void named(Site site) override { park(begin(OpKind::named, site)); }

  Status send(const control::ChannelRef& ch, const void* data, std::size_t len,
              std::int64_t timeout_ns, Site site) override {
    Box& b = begin(OpKind::send, site);
    b.timeout_ns = timeout_ns;
    std::uint32_t used = 0;
    std::uint32_t off = put_value(used, data, len, site);
    put_case(b, CaseKind::send, &ch, 0, off, static_cast<std::uint32_t>(len));
    park(b);
    return static_cast<Status>(b.status);
  }

  Status recv(const control::ChannelRef& ch, control::Receiver sink, std::int64_t timeout_ns,
              Site site) override {
    Box& b = begin(OpKind::recv, site);
    b.timeout_ns = timeout_ns;
    put_case(b, CaseKind::recv, &ch, 0, 0, 0);
    park(b);
    auto st = static_cast<Status>(b.status);
    if (st == Status::ok) take_value(b, sink, site);
    return st;
  }

  void close(const control::ChannelRef& ch, Site site) override {
    Box& b = begin(OpKind::close, site);
    b.channel = ch.id;
    put_case(b, CaseKind::recv, &ch, 0, 0, 0);  // carries the capacity for unseen channels
    park(b);
  }

  bool closed(const control::ChannelRef& ch) override {
    Box& b = begin(OpKind::closed, Site{});
    b.channel = ch.id;
    put_case(b, CaseKind::recv, &ch, 0, 0, 0);
    park(b);
    return b.answer != 0;
  }

  std::size_t select(const control::Select& sel, bool* closed, Site site) override {
    using K = control::Case::Kind;
    const control::Case* cs = sel.cases;
    const std::size_t n = sel.n;
    if (n > kMaxCases) {
      fail_now(Failure::misuse, "a select of more than " + std::to_string(kMaxCases) +
                                    " cases (the simulator's limit)", site);
    }
    Box& b = begin(OpKind::select, site);
    std::uint32_t used = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& c = cs[i];
      switch (c.kind) {
        case K::recv: put_case(b, CaseKind::recv, &c.channel, 0, 0, 0); break;
        case K::send: {
          std::uint32_t off = put_value(used, c.data, c.len, site);
          put_case(b, CaseKind::send, &c.channel, 0, off, static_cast<std::uint32_t>(c.len));
          break;
        }
        case K::fallback: put_case(b, CaseKind::fallback, nullptr, 0, 0, 0); break;
        case K::timeout:
          // Only the timeout the core chose can fire; the others are inert cases.
          put_case(b, static_cast<int>(i) == sel.timeout ? CaseKind::timeout : CaseKind::inert,
                   nullptr, c.timeout_ns, 0, 0);
          break;
      }
    }
    park(b);
    std::size_t fired = b.fired;
    if (fired >= n) fail_now(Failure::misuse, "corrupt reply from the explorer", site);
    auto st = static_cast<Status>(b.status);
    *closed = false;
    if (cs[fired].kind == K::send && st == Status::closed) throw ChannelClosed();
    if (cs[fired].kind == K::recv) {
      if (st == Status::ok) {
        take_value(b, cs[fired].into, site);
      } else {
        *closed = true;
      }
    }
    return fired;
  }

  void spawn(const std::string& name, Site site) override {
    Box& b = begin(OpKind::spawn, site);
    copy_text(b.text, sizeof b.text, name.c_str());
    park(b);
    pending_child = b.child_task;
  }

  void spawned(pid_t child) noexcept override {
    if (pending_child >= 0 && static_cast<std::size_t>(pending_child) < layout.max_tasks) {
      box(pending_child).pid.store(child, std::memory_order_release);
    }
  }

  void started(const std::string&) noexcept override {
    task = pending_child;
    pending_child = -1;
    tid = current_tid();
    if (task < 0 || static_cast<std::size_t>(task) >= layout.max_tasks) _exit(125);
    mine().tid = tid;
    mine().pid.store(getpid(), std::memory_order_release);
  }

  void exiting(int code, const char* why) noexcept override {
    if (current_tid() != tid) return;  // std::exit from another thread: seen as an exit
    Box& b = begin(OpKind::exit, Site{});
    b.code = code;
    copy_text(b.text, sizeof b.text, why);
    park_exit(b);
  }

  std::optional<int> join(pid_t child, std::int64_t timeout_ns, Site site) override {
    Box& b = begin(OpKind::join, site);
    b.target = child;
    b.timeout_ns = timeout_ns;
    park(b);
    if (b.answer == 0) return std::nullopt;
    return b.exit_code;
  }

  bool running(pid_t child, int* code) override {
    Box& b = begin(OpKind::running, Site{});
    b.target = child;
    park(b);
    *code = b.exit_code;
    return b.answer != 0;
  }

  void discard(pid_t child) noexcept override {
    if (current_tid() != tid) return;  // reported at the thread's first operation
    Box& b = begin(OpKind::discard, Site{});
    b.target = child;
    park(b);
  }

  void kill(pid_t child, int sig) override {
    Box& b = begin(OpKind::kill, Site{});
    b.target = child;
    b.code = sig;
    park(b);
  }
};

Client g_client;

}  // namespace

bool in_tree() noexcept { return g_client.task >= 0 && control::active() == &g_client; }

void fail_now(Failure kind, std::string_view text, Site site) noexcept {
  Header* h = g_client.header;
  if (h) {
    std::uint32_t expected = 0;
    if (h->fail_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
      h->fail_task = g_client.task;
      h->fail_line = site.line;
      h->fail_kind = static_cast<std::uint8_t>(kind);
      copy_text(h->fail_file, sizeof h->fail_file, site.file);
      std::size_t n = std::min(text.size(), sizeof h->fail_text - 1);
      std::memcpy(h->fail_text, text.data(), n);
      h->fail_text[n] = '\0';
      h->fail_state.store(2, std::memory_order_release);
    }
  }
  std::fflush(nullptr);
  _exit(125);
}

void run_root(Header* header, const Layout& layout, const std::function<void()>& body,
              std::uint32_t start_gen, pid_t explorer) noexcept {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // the tree never outlives its explorer
  if (getppid() != explorer) _exit(125);  // it died before the line above: nobody will start us
  setpgid(0, 0);
  if (header->output_fd >= 0) {
    dup2(header->output_fd, STDOUT_FILENO);
    dup2(header->output_fd, STDERR_FILENO);
  }
  // A standby until the explorer starts this schedule (mailbox.hpp): the previous schedule may
  // still be using the rest of the region.
  while (header->start_gen.load(std::memory_order_seq_cst) == start_gen) {
    ceramic::detail::futex_wait(header->start_gen, start_gen, INT64_MAX);
  }
  g_client.header = header;
  g_client.layout = layout;
  g_client.pending_child = 0;
  g_client.started("main");
  control::install(&g_client);
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
  if (!why.empty()) std::fprintf(stderr, "ceramic: main (pid %d): %s\n", getpid(), why.c_str());
  std::fflush(nullptr);
  g_client.exiting(code, why.empty() ? nullptr : why.c_str());
  _exit(code);
}

}  // namespace ceramic::sim::detail
