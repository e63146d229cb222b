// Peer death on the large-value paths: a sender whose pid is reused by another process while a
// receiver reads its memory, senders killed while they spill a value, receivers killed while
// they take a parked value. Nothing may be delivered from the wrong process, and nothing may
// be left behind in /dev/shm or in a channel's file once the survivors are done.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <functional>
#include <random>
#include <string>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;

// Forks a process that gets pid `pid` (free: its previous owner has been reaped), by writing
// pid - 1 to /proc/sys/kernel/ns_last_pid just before fork(). The impostor pauses until it is
// killed. Returns -1 when this is not permitted here or another process took the pid first.
pid_t fork_impostor_with_pid(pid_t pid) {
  int fd = ::open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  pid_t impostor = -1;
  int st = 0;
  for (int attempt = 0; attempt < 100 && impostor != pid; ++attempt) {
    if (impostor > 0) {
      ::kill(impostor, SIGKILL);
      ::waitpid(impostor, &st, 0);
    }
    std::string last = std::to_string(pid - 1);
    if (::pwrite(fd, last.data(), last.size(), 0) < 0) {
      impostor = -1;
      break;
    }
    impostor = ::fork();
    if (impostor == 0) {
      for (;;) ::pause();
    }
  }
  ::close(fd);
  if (impostor > 0 && impostor != pid) {
    ::kill(impostor, SIGKILL);
    ::waitpid(impostor, &st, 0);
    impostor = -1;
  }
  return impostor;
}

// A receiving sink that runs `before` once, when the channel asks for room for the value:
// at that moment the receiver has taken its sender and is about to read the value.
struct HookedSink {
  std::string out;
  std::function<void()> before;

  static void* prepare(void* ctx, std::size_t len) {
    auto* self = static_cast<HookedSink*>(ctx);
    if (self->before) {
      auto f = std::move(self->before);
      self->before = nullptr;
      f();
    }
    self->out.resize(len);
    return self->out.data();
  }
  ceramic::detail::Sink sink() { return {&HookedSink::prepare, this}; }
};

// The sender is SIGKILLed and reaped after the receiver took it and before it reads the value;
// a new process takes the sender's pid and has other bytes at the value's address. The
// receiver must see a dead sender, never the impostor's memory with status ok.
TEST(LargeFault, SenderReplacedByAProcessWithItsPidIsReportedDeadNotRead) {
  constexpr std::size_t n = std::size_t{1} << 20;
  // Private memory at one address in every process forked from here: the sender writes its
  // value there, the impostor (forked later from this process) still holds 'P'.
  auto* buf = static_cast<char*>(
      ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(buf, MAP_FAILED);
  std::memset(buf, 'P', n);
  Chan<std::string> c;
  Proc sender("sender", [&] {
    std::memset(buf, 'S', n);
    c.raw().send_for(buf, n, -1, ceramic::Site::current());
  });
  pid_t impostor = -1;
  bool reused = true;
  HookedSink hook;
  hook.before = [&] {
    sender.kill(SIGKILL);
    sender.join();
    impostor = fork_impostor_with_pid(sender.pid());
    reused = impostor > 0;
  };
  const auto patience = std::chrono::duration_cast<std::chrono::nanoseconds>(kPatience).count();
  Status st = c.raw().recv_for(hook.sink(), patience, ceramic::Site::current());
  if (impostor > 0) {
    ::kill(impostor, SIGKILL);
    int ws = 0;
    ::waitpid(impostor, &ws, 0);
  }
  ::munmap(buf, n);
  if (!reused) GTEST_SKIP() << "cannot force pid reuse here (ns_last_pid not writable, or "
                               "another process took the pid first)";
  EXPECT_EQ(st, Status::peer_died);
  EXPECT_TRUE(hook.out.find('P') == std::string::npos)
      << "received the bytes of the process that reused the sender's pid";
}

}  // namespace
