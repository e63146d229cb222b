// Peer death on the large-value paths: a sender whose pid is reused by another process while a
// receiver reads its memory, senders killed while they spill a value, receivers killed while
// they take a parked value. Nothing may be delivered from the wrong process, and nothing may
// be left behind in /dev/shm or in a channel's file once the survivors are done.
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <functional>
#include <random>
#include <string>

#include "support/scribbler.hpp"
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

// ---- senders killed while they park a value ------------------------------------------------

// Entries of /dev/shm whose name starts with prefix.
int count_shm_objects(const std::string& prefix) {
  int n = 0;
  if (DIR* dir = opendir("/dev/shm")) {
    while (dirent* e = readdir(dir)) {
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) ++n;
    }
    closedir(dir);
  }
  return n;
}

// Bytes of memory the named channel's shared-memory object holds past its region, where
// values are parked (the data extents of the file from region_bytes on), or -1.
long long parked_bytes(const std::string& channel_name, std::size_t region_bytes) {
  int fd = ::open(("/dev/shm/ceramic." + channel_name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  long long total = 0;
  off_t at = static_cast<off_t>(region_bytes);
  for (;;) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0) break;  // ENXIO: no data past `at`
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) break;
    total += hole - data;
    at = hole;
  }
  ::close(fd);
  return total;
}

// Makes this process unable to read a non-dumpable process's memory even as root: drops
// CAP_SYS_PTRACE from its effective capabilities (ptrace rules, as under Yama ptrace_scope).
void give_up_ptrace() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return;
  data[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective &= ~CAP_TO_MASK(CAP_SYS_PTRACE);
  syscall(SYS_capset, &hdr, data);
}

// The first send slot of process pid in state st, or -1.
int send_slot_in(Scribbler& s, std::uint32_t st, pid_t pid) {
  for (std::uint32_t i = 0; i < s.geo().slot_count; ++i) {
    if (s.state(i) == st && s.tail(i).pid == pid &&
        (s.slot(i).kind & ceramic::detail::kKindMask) == ceramic::detail::kSendKind) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Victim senders may not be read by the survivor receiver (they are not dumpable, and it has
// given up CAP_SYS_PTRACE), so each value is parked in the channel's file for it: the path
// every transfer takes under Yama ptrace_scope=1. Each victim is SIGKILLed a random time after
// the receiver asked it to park, often while it writes. Once the survivor is done, no
// shared-memory object is left under the channel's id, and the channel's file holds no
// parked bytes.
TEST(LargeFault, SendersKilledWhileParkingAValueForTheirReceiverLeaveNothingBehind) {
  const std::uint64_t seed_value = seed();
  SCOPED_TRACE(seed_note(seed_value));
  std::mt19937_64 rng(seed_value);
  constexpr std::size_t n = std::size_t{4} << 20;
  const std::string name = unique_name("park-kill");
  auto c = Chan<std::string>::create(name);
  Scribbler s(name);
  char id[32];
  std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(c.id()));
  const std::string spill_prefix = std::string("ceramic-spill.") + id;

  Counters stats(2);  // [0] intact values received, [1] peer_died reports
  Proc receiver("survivor", [&] {
    give_up_ptrace();
    for (;;) {
      std::string v;
      Status st = c.recv_for(v, kPatience);
      if (st == Status::peer_died) {
        stats[1].fetch_add(1);
        continue;
      }
      require(st == Status::ok, "survivor: recv_for returned " + str(st));
      if (v == "done") return;
      require(v.size() == n && pattern_mismatch(v, n, 5).empty(),
              "survivor: a torn value");
      stats[0].fetch_add(1);
    }
  });
  const int rounds = 50 * scale();
  int killed_while_parking = 0;
  for (int round = 0; round < rounds && receiver.running(); ++round) {
    Proc victim("victim", [&] {
      prctl(PR_SET_DUMPABLE, 0);
      const std::string value = pattern(n, 5);
      for (;;) {
        Status st = c.send_for(value, kPatience);
        require(st == Status::ok, "victim: send_for returned " + str(st));
      }
    });
    // The receiver asked the victim to park its value: kill it a little later.
    const auto end = Clock::now() + kPatience;
    while (send_slot_in(s, ceramic::detail::kSpillReq, victim.pid()) < 0 && Clock::now() < end) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, 5000)(rng)));
    if (send_slot_in(s, ceramic::detail::kSpillReq, victim.pid()) >= 0) ++killed_while_parking;
    victim.kill(SIGKILL);
    EXPECT_EQ(victim.join(), 128 + SIGKILL);
  }
  if (receiver.running()) {
    EXPECT_EQ(c.send_for("done", kPatience), Status::ok);
  }
  EXPECT_TRUE(exits_with(receiver, 0));
  EXPECT_GT(stats[0].load() + stats[1].load(), 0u) << "no value was ever parked";
  EXPECT_EQ(count_shm_objects(spill_prefix), 0) << "shared-memory objects left behind";
  EXPECT_EQ(parked_bytes(name, s.geo().total), 0) << "parked bytes left in the channel's file";
  ::testing::Test::RecordProperty("killed_while_parking", killed_while_parking);
  ::testing::Test::RecordProperty("values_received", int(stats[0].load()));
  ::testing::Test::RecordProperty("peer_died_reports", int(stats[1].load()));
  std::printf("killed while parking: %d of %d rounds; %u values received, %u peer_died\n",
              killed_while_parking, rounds, stats[0].load(), stats[1].load());
}

// ---- receivers killed while they take a parked value --------------------------------------

// Victim receivers of a buffered named channel are SIGKILLed while they read a parked 4 MiB
// value out of the channel's file (a random 0-3 ms after they took it from the ring). The next
// receiver that needs a transfer slot reclaims the dead one's (max_waiters = 1: there is only
// one), with the value it held. Once the channel is drained, its file holds no parked bytes.
TEST(LargeFault, ReceiversKilledWhileTakingAParkedValueLeaveNoParkedBytes) {
  const std::uint64_t seed_value = seed();
  SCOPED_TRACE(seed_note(seed_value));
  std::mt19937_64 rng(seed_value);
  constexpr std::size_t n = std::size_t{4} << 20;
  const std::string name = unique_name("unpark-kill");
  auto c = Chan<std::string>::create(name, ChanOptions{.capacity = 4, .max_waiters = 1});
  Scribbler s(name);
  Proc sender("survivor", [&] {
    const std::string value = pattern(n, 9);
    for (;;) {
      Status st = c.send_for(value, kPatience);
      if (st == Status::closed) return;
      require(st == Status::ok || st == Status::peer_died, "survivor: send_for " + str(st));
    }
  });
  // The victim holds a parked value: its transfer slot records it (kReserved, spill != 0).
  auto holding = [&](pid_t pid) {
    for (std::uint32_t i = s.geo().queue_slots; i < s.geo().slot_count; ++i) {
      if (s.state(i) == ceramic::detail::kReserved && s.tail(i).pid == pid &&
          s.tail(i).ref.spill != 0) {
        return true;
      }
    }
    return false;
  };
  const int rounds = 30 * scale();
  int killed_while_holding = 0;
  for (int round = 0; round < rounds; ++round) {
    Proc victim("victim", [&] {
      for (;;) {
        std::string v;
        require(c.recv_for(v, kPatience) == Status::ok, "victim: recv_for");
      }
    });
    // It spends nearly all its time reading parked values (the survivor keeps the ring full):
    // wait until it holds one (at most 50 ms), then kill it a random moment later.
    const auto end = Clock::now() + 50ms;
    while (!holding(victim.pid()) && Clock::now() < end) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(
        std::uniform_int_distribution<int>(0, 5000)(rng)));
    if (holding(victim.pid())) ++killed_while_holding;
    victim.kill(SIGKILL);
    EXPECT_EQ(victim.join(), 128 + SIGKILL);
  }
  c.close();
  EXPECT_TRUE(exits_with(sender, 0));
  std::string v;
  int drained = 0;
  while (c.recv_for(v, kPatience) == Status::ok) {
    EXPECT_EQ(pattern_mismatch(v, n, 9), "");
    ++drained;
  }
  EXPECT_EQ(parked_bytes(name, s.geo().total), 0) << "parked bytes left in the channel's file";
  ::testing::Test::RecordProperty("killed_while_holding", killed_while_holding);
  std::printf("killed while holding a parked value: %d of %d rounds; %d drained\n",
              killed_while_holding, rounds, drained);
}

}  // namespace
