// ceramic bench — the same ping-pong against value size as latency_sizes.cpp (8 B to 16 MiB, two
// processes), through the libraries a C++ user would pick instead of a channel:
//
//   BM_boost_mq_pingpong_size_proc   Boost.Interprocess message_queue, one per direction, one
//                                    message deep. send copies the value into the queue's shared
//                                    memory, receive copies it out into the receiver's buffer.
//   BM_iceoryx_pingpong_size_proc    iceoryx (2.x, posh): one publisher and one subscriber per
//                                    direction; a receiver that finds no sample waits on a WaitSet.
//                                    The sender copies its value into a loaned chunk (one copy,
//                                    like ceramic's); the receiver reads it in place, and the peer
//                                    echoes it by copying the received chunk into a new loan.
//
// ceramic, socketpair and pipe run the same sweep in latency_sizes.cpp; the ratio table compares
// them. Each message carries the round-trip number in its first and last 8 bytes and the
// receiving side checks both (stream.hpp), so a short, torn or stale message is an error.
//
// Each library is optional at configure time (bench/CMakeLists.txt): without it the benchmark is
// still listed and reports "built without ...". scripts/bench.sh installs the Debian packages.
//
// iceoryx needs its daemon, RouDi, and a runtime per process that cannot be re-made in a forked
// child of a process that has one. So: the first iceoryx benchmark starts `iox-roudi` (the path
// found at configure time) with a configuration of its own (a memory pool per value size), as a
// child of the benchmark process, and stops it when the process exits; the measuring side's
// runtime lives as long as the process; and each peer is a fresh image (this binary, exec'd
// with --ceramic_iceoryx_peer=...), whose shared control block is a memfd it inherits.
#include <benchmark/benchmark.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "handoff.hpp"
#include "peer.hpp"
#include "pingpong.hpp"
#include "settings.hpp"
#include "stream.hpp"

#if CERAMIC_BENCH_BOOST
#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>
#endif

#if CERAMIC_BENCH_ICEORYX
#include <fcntl.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#endif

namespace bench {

// The flag that makes ceramic-bench an iceoryx peer (main.cpp checks it before anything else).
extern const char* const kIceoryxPeerFlag;
const char* const kIceoryxPeerFlag = "--ceramic_iceoryx_peer=";
int iceoryx_peer_main(const char* args);

namespace {

[[maybe_unused]] std::size_t message_size(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

// bytes_per_second: one message per one-way trip (two per iteration), as in latency_sizes.cpp.
[[maybe_unused]] void count_bytes(benchmark::State& state) {
  if (!state.error_occurred())
    state.SetBytesProcessed(state.iterations() * 2 * static_cast<std::int64_t>(state.range(0)));
}

// The round-trip number a received message of `size` bytes carries, if its two stamps agree.
[[maybe_unused]] bool read_stamp(const void* msg, std::size_t size, std::uint64_t& v) {
  std::uint64_t head = 0;
  std::memcpy(&head, msg, sizeof head);
  if (!has_stamp(static_cast<const char*>(msg), size, head)) return false;
  v = head;
  return true;
}

// A name no other run of this binary uses at the same time: pid and a counter.
[[maybe_unused]] std::string unique_tag() {
  static std::atomic<unsigned> serial{0};
  return std::to_string(getpid()) + "-" + std::to_string(serial.fetch_add(1));
}

// ---- Boost.Interprocess ----

#if CERAMIC_BENCH_BOOST
namespace bip = boost::interprocess;

// Two message queues (ping: parent -> peer, pong: peer -> parent), each one message of `size`
// bytes deep, in shared memory made before the fork. A blocked send or receive waits at most
// kStopPoll at a time and gives up once unblock() (the watchdog) has set the stop flag.
class SizedBoostMqLink {
 public:
  explicit SizedBoostMqLink(std::size_t size)
      : size_(size),
        ping_name_("ceramic-bench-mq-" + unique_tag() + "-ping"),
        pong_name_("ceramic-bench-mq-" + unique_tag() + "-pong"),
        ping_(bip::create_only, ping_name_.c_str(), 1, size),
        pong_(bip::create_only, pong_name_.c_str(), 1, size) {
    // Fault the queues' pages in now, so that the first round trips do not pay for it.
    std::string warm(size, 'w');
    for (bip::message_queue* q : {&ping_, &pong_}) {
      q->send(warm.data(), size, 0);
      bip::message_queue::size_type got = 0;
      unsigned prio = 0;
      q->receive(warm.data(), size, got, prio);
    }
  }
  SizedBoostMqLink(const SizedBoostMqLink&) = delete;
  SizedBoostMqLink& operator=(const SizedBoostMqLink&) = delete;
  // The names go at once; the memory when both processes have unmapped it. (A peer leaves with
  // _exit and never gets here.)
  ~SizedBoostMqLink() {
    bip::message_queue::remove(ping_name_.c_str());
    bip::message_queue::remove(pong_name_.c_str());
  }

  bool send(std::uint64_t v) { return put(ping_, mine_, v); }
  bool recv(std::uint64_t& v) { return take(pong_, mine_, v); }
  bool peer_recv(std::uint64_t& v) { return take(ping_, peer_, v); }
  bool peer_send(std::uint64_t v) { return put(pong_, peer_, v); }
  void in_peer() { peer_ = std::string(size_, 'p'); }
  void in_parent() { mine_ = std::string(size_, 'm'); }
  void unblock() { stop_->store(1); }

 private:
  static boost::posix_time::ptime poll_deadline() {
    return boost::posix_time::microsec_clock::universal_time() +
           boost::posix_time::milliseconds(kStopPoll.count());
  }
  bool put(bip::message_queue& q, std::string& msg, std::uint64_t v) {
    stamp(msg.data(), size_, v);
    try {
      while (!q.timed_send(msg.data(), size_, 0, poll_deadline()))
        if (stop_->load() != 0) return false;
      return true;
    } catch (const bip::interprocess_exception&) {
      return false;
    }
  }
  bool take(bip::message_queue& q, std::string& into, std::uint64_t& v) {
    bip::message_queue::size_type got = 0;
    unsigned prio = 0;
    try {
      while (!q.timed_receive(into.data(), size_, got, prio, poll_deadline()))
        if (stop_->load() != 0) return false;
    } catch (const bip::interprocess_exception&) {
      return false;
    }
    return got == size_ && read_stamp(into.data(), size_, v);
  }

  std::size_t size_;
  std::string ping_name_, pong_name_;
  bip::message_queue ping_, pong_;
  SharedMapping<StopFlag> stop_;  // seen by both processes
  std::string mine_;              // the measuring side's buffer (touched after the fork)
  alignas(64) std::string peer_;  // the peer's
};

void BM_boost_mq_pingpong_size_proc(benchmark::State& state) {
  try {
    SizedBoostMqLink link(message_size(state));
    pingpong_processes<ForkedPeer>(state, link);
  } catch (const bip::interprocess_exception& e) {
    state.SkipWithError((std::string("Boost.Interprocess: ") + e.what()).c_str());
    return;
  }
  count_bytes(state);
}
#else
void BM_boost_mq_pingpong_size_proc(benchmark::State& state) {
  state.SkipWithError("built without Boost.Interprocess (Debian: libboost-dev; reconfigure)");
}
#endif
BENCHMARK(BM_boost_mq_pingpong_size_proc)->Apply(timed_value_sizes);

// ---- iceoryx ----

#if CERAMIC_BENCH_ICEORYX

// RouDi's memory pools: one per size class of the sweep (sizes are payload bytes; iceoryx adds
// its chunk header). A ping-pong holds at most a few chunks per direction at a time.
constexpr const char* kRouDiConfig = R"([general]
version = 1

[[segment]]

[[segment.mempool]]
size = 128
count = 64

[[segment.mempool]]
size = 1024
count = 32

[[segment.mempool]]
size = 8192
count = 32

[[segment.mempool]]
size = 131072
count = 16

[[segment.mempool]]
size = 2097152
count = 16

[[segment.mempool]]
size = 16781312
count = 6
)";

// This process's runtime, registered under `name`; iceoryx's own log down to warnings (its
// default prints every registration and deregistration on stderr).
void init_iceoryx_runtime(const std::string& name) {
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn,
                                                           iox::log::LogLevelOutput::kHideLogLevel);
  iox::runtime::PoshRuntime::initRuntime(
      iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
}

// iox-roudi as a child of the benchmark process: started by the first iceoryx benchmark, stopped
// when the process exits (after the measuring side's runtime has deregistered: see ensure()).
// Its output goes to a log file, which is also how we learn that it is ready.
class RouDiDaemon {
 public:
  // Starts RouDi and the runtime of this process once; an empty string when both are up, else
  // what went wrong (every later call returns the same).
  static const std::string& ensure() {
    static std::once_flag once;
    static std::string error;
    std::call_once(once, [] {
      error = instance().start();
      if (!error.empty()) return;
      // Registered after the atexit handler that stops RouDi, so destroyed before it runs: the
      // runtime deregisters from a RouDi that is still there, and RouDi has nobody to stop.
      init_iceoryx_runtime("ceramic-bench-" + std::to_string(getpid()));
    });
    return error;
  }

 private:
  static RouDiDaemon& instance() {
    static RouDiDaemon d;
    return d;
  }

  std::string start() {
    const std::string base = "/tmp/ceramic-bench-roudi-" + std::to_string(getpid());
    config_ = base + ".toml";
    log_ = base + ".log";
    {
      std::ofstream cfg(config_);
      cfg << kRouDiConfig;
      if (!cfg) return "cannot write " + config_;
    }
    flush_before_fork();
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(126);
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
      execl(CERAMIC_BENCH_IOX_ROUDI, "iox-roudi", "-c", config_.c_str(), "-l", "info",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    std::atexit([] { instance().stop(); });
    // Ready when it says so; gone if it exits first (another RouDi already running, say).
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      const std::string log = read_log();
      if (log.find("RouDi is ready for clients") != std::string::npos) return "";
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "iox-roudi exited (" + std::to_string(exit_code(status)) + "): " + last_line(log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "iox-roudi did not get ready within 10 s: " + last_line(read_log());
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ForkedPeerReaper::reap(pid_, std::chrono::seconds(5));
      pid_ = -1;
    }
    ::unlink(config_.c_str());
    ::unlink(log_.c_str());
  }

  std::string read_log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::string last_line(const std::string& log) {
    std::string s = log;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    const auto nl = s.rfind('\n');
    return nl == std::string::npos ? s : s.substr(nl + 1);
  }

  // Waits up to a bound for a child, then kills it (SIGKILL) and reaps it.
  struct ForkedPeerReaper {
    static void reap(pid_t pid, std::chrono::nanoseconds limit) {
      const auto until = std::chrono::steady_clock::now() + limit;
      int status = 0;
      while (waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= until) {
          ::kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  };

  pid_t pid_ = -1;
  std::string config_, log_;
};

iox::capro::IdString_t id_string(const std::string& s) {
  return iox::capro::IdString_t(iox::cxx::TruncateToCapacity, s.c_str());
}

// One side of an iceoryx ping-pong: a publisher on `out`, a subscriber on `in` (both of the
// service "ceramic-bench" / tag), and a WaitSet for the subscriber. Needs this process's runtime.
class IceoryxEnd {
 public:
  IceoryxEnd(const std::string& tag, const char* out, const char* in, std::size_t size,
             const StopFlag& stop)
      : pub_({"ceramic-bench", id_string(tag), id_string(out)}),
        sub_({"ceramic-bench", id_string(tag), id_string(in)}),
        size_(size),
        stop_(stop),
        own_(size, 'i') {
    if (ws_.attachState(sub_, iox::popo::SubscriberState::HAS_DATA).has_error())
      throw std::runtime_error("iceoryx: cannot attach the subscriber to a WaitSet");
  }
  IceoryxEnd(const IceoryxEnd&) = delete;
  IceoryxEnd& operator=(const IceoryxEnd&) = delete;
  ~IceoryxEnd() { release_held(); }

  // Both directions connected (RouDi connects ports in its discovery loop, asynchronously).
  bool wait_connected(std::chrono::nanoseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!(pub_.hasSubscribers() &&
             sub_.getSubscriptionState() == iox::SubscribeState::SUBSCRIBED)) {
      if (stop_.load() != 0 || std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  // Copies this side's own value, stamped with v, into a loaned chunk and publishes it.
  bool send_own(std::uint64_t v) {
    stamp(own_.data(), size_, v);
    return publish_copy(own_.data());
  }

  // Takes the next sample (waiting on the WaitSet while there is none) and checks its stamps;
  // keep = true holds it for echo() instead of releasing it at once.
  bool take(std::uint64_t& v, bool keep) {
    for (;;) {
      auto taken = sub_.take();
      if (!taken.has_error()) {
        const void* chunk = taken.value();
        const bool ok = read_stamp(chunk, size_, v);
        if (keep)
          held_ = chunk;
        else
          sub_.release(chunk);
        return ok;
      }
      if (stop_.load() != 0) return false;
      (void)ws_.timedWait(iox::units::Duration::fromMilliseconds(kStopPoll.count()));
    }
  }

  // Sends back the sample take(v, true) held: copied into a new loan (one copy), then released.
  bool echo() {
    if (held_ == nullptr) return false;
    const bool ok = publish_copy(held_);
    release_held();
    return ok;
  }

 private:
  bool publish_copy(const void* from) {
    auto loaned = pub_.loan(static_cast<std::uint32_t>(size_));
    if (loaned.has_error()) return false;
    void* chunk = loaned.value();
    std::memcpy(chunk, from, size_);
    pub_.publish(chunk);
    return true;
  }
  void release_held() {
    if (held_ != nullptr) sub_.release(held_);
    held_ = nullptr;
  }

  iox::popo::UntypedPublisher pub_;
  iox::popo::UntypedSubscriber sub_;
  iox::popo::WaitSet<> ws_;  // after sub_: detaches before sub_ goes
  std::size_t size_;
  const StopFlag& stop_;
  std::string own_;  // this side's value, touched in the process that uses it
  const void* held_ = nullptr;
};

// A T in a memfd mapping: shared with the children forked later, and with the images they exec,
// which map it again from the inherited descriptor (its number is passed on the command line).
template <class T>
class InheritedMapping {
  static_assert(std::is_trivially_destructible_v<T>, "shared state must not need a destructor");

 public:
  InheritedMapping() {
    fd_ = memfd_create("ceramic-bench-control", 0);  // no MFD_CLOEXEC: the peer's image needs it
    if (fd_ < 0 || ftruncate(fd_, sizeof(T)) != 0) throw std::runtime_error("memfd failed");
    ptr_ = new (map(fd_)) T{};
  }
  InheritedMapping(const InheritedMapping&) = delete;
  InheritedMapping& operator=(const InheritedMapping&) = delete;
  ~InheritedMapping() {
    munmap(ptr_, sizeof(T));
    ::close(fd_);
  }
  static void* map(int fd) {
    void* p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap of the control block failed");
    return p;
  }

  int fd() const noexcept { return fd_; }
  T* operator->() const noexcept { return ptr_; }
  T& operator*() const noexcept { return *ptr_; }

 private:
  int fd_ = -1;
  T* ptr_ = nullptr;
};

// The measuring side (ping out, pong in). Its value is stamped and copied into a loan; the
// answer is checked in place and released.
class IceoryxParentLink {
 public:
  IceoryxParentLink(const std::string& tag, std::size_t size)
      : end_(tag, "ping", "pong", size, stop_) {}
  bool connect() { return end_.wait_connected(kStallLimit); }
  bool send(std::uint64_t v) { return end_.send_own(v); }
  bool recv(std::uint64_t& v) { return end_.take(v, false); }
  void unblock() { stop_.store(1); }

 private:
  StopFlag stop_{0};
  IceoryxEnd end_;
};

// The peer's side (ping in, pong out): echoes each sample it takes.
class IceoryxPeerLink {
 public:
  IceoryxPeerLink(const std::string& tag, std::size_t size, const StopFlag& stop)
      : end_(tag, "pong", "ping", size, stop) {}
  bool connect() { return end_.wait_connected(kStallLimit); }
  bool peer_recv(std::uint64_t& v) { return end_.take(v, true); }
  bool peer_send(std::uint64_t) { return end_.echo(); }

 private:
  IceoryxEnd end_;
};

// pingpong_processes (pingpong.hpp), with a peer that is a fresh image of this binary.
void BM_iceoryx_pingpong_size_proc(benchmark::State& state) {
  if (const std::string& error = RouDiDaemon::ensure(); !error.empty()) {
    state.SkipWithError(("iceoryx: " + error).c_str());
    return;
  }
  const std::size_t size = message_size(state);
  const std::string tag = unique_tag();
  InheritedMapping<PeerControl> ctl;
  std::optional<IceoryxParentLink> link;
  try {
    link.emplace(tag, size);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  // Built before the fork: the child of a process with threads (the runtime's) only execs.
  const std::string flag = kIceoryxPeerFlag + std::to_string(ctl.fd()) + ":" +
                           std::to_string(size) + ":" + std::to_string(state.max_iterations) +
                           ":" + tag;
  ForkedPeer peer([&flag] {
    execl("/proc/self/exe", "ceramic-bench", flag.c_str(), static_cast<char*>(nullptr));
    throw PeerFailed("exec of the iceoryx peer failed");
  });
  const pid_t pid = peer.pid();
  Watchdog dog(ctl->progress, kStallLimit, [&link, &ctl, pid] {
    ::kill(pid, SIGKILL);
    ctl->stop.store(1);
    link->unblock();
  });
  if (!link->connect()) {
    state.SkipWithError(("iceoryx: the ports did not connect; " + explain_peer(peer, ctl->stop))
                            .c_str());
    return;
  }
  measure_round_trips(state, *link, *ctl, [&] { return explain_peer(peer, ctl->stop); });
  if (dog.disarm() && !state.error_occurred()) state.SkipWithError("watchdog fired");
  if (state.error_occurred()) return;  // ~ForkedPeer kills and reaps the peer
  const auto code = peer.join_for(kJoinLimit);
  if (!code || *code != 0) state.SkipWithError(("after the run: " + explain_exit(code)).c_str());
  else count_bytes(state);
}
#else
void BM_iceoryx_pingpong_size_proc(benchmark::State& state) {
  state.SkipWithError(
      "built without iceoryx (Debian: iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev; "
      "reconfigure)");
}
#endif
BENCHMARK(BM_iceoryx_pingpong_size_proc)->Apply(timed_value_sizes);

}  // namespace

#if CERAMIC_BENCH_ICEORYX
// The peer image: fd:size:iterations:tag. Registers its own runtime, connects, then echoes like
// echo_peer (it publishes `ready` once connected). Exit status 0 after all iterations.
int iceoryx_peer_main(const char* args) {
  int fd = -1;
  std::size_t size = 0;
  long long n = 0;
  char tag[128] = {};
  if (std::sscanf(args, "%d:%zu:%lld:%127s", &fd, &size, &n, tag) != 4 || size < 8 || n < 0) {
    std::fprintf(stderr, "ceramic-bench: bad %s%s\n", kIceoryxPeerFlag, args);
    return 2;
  }
  try {
    auto* ctl = static_cast<PeerControl*>(InheritedMapping<PeerControl>::map(fd));
    ::close(fd);
    init_iceoryx_runtime("ceramic-bench-peer-" + std::to_string(getpid()));
    IceoryxPeerLink link(tag, size, ctl->stop);
    if (!link.connect()) return 1;
    echo_peer(link, *ctl, n, false);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ceramic-bench iceoryx peer: %s\n", e.what());
    return 1;
  }
}
#else
int iceoryx_peer_main(const char*) {
  std::fprintf(stderr, "ceramic-bench: built without iceoryx\n");
  return 2;
}
#endif

}  // namespace bench
