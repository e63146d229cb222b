// A timed operation is bounded by its deadline plus the grace (kWithdrawGrace, 1 s) even when
// its partner is stopped in the middle of the transfer: here a receiver that stops (SIGSTOP)
// while it pulls a sender's long value. The sender withdraws its offer and reports timeout;
// the receiver, resumed, finds the offer gone and waits for another value. Counting what was
// received shows that nothing was lost or delivered twice. And a sender that stops while a
// receiver, which may not read its memory, waits for it to park its value: recv_for is bounded
// the same way.
#include <signal.h>

#include <optional>

#include "ceramic/detail/channel.hpp"
#include "offers.hpp"  // core/src: force_spill, the receiver's parked path
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::Proc;
using ceramic::Status;
using namespace std::chrono_literals;

constexpr std::size_t kLong = 1 << 20;  // pulled from the sender's memory (inline: 1024)
// The deadline plus the grace, plus a margin for a loaded machine (and sanitizers). The
// operation waited for ever before.
constexpr auto kBound = 100ms + 1s + 2s;

// A receiver's sink that stops its own process (SIGSTOP) when asked for room for the first
// long value: the receiver is then stopped in the middle of a pull, after it took the offer.
struct StoppingSink {
  std::string value;
  bool stopped = false;
  static void* prepare(void* ctx, std::size_t len) {
    auto* self = static_cast<StoppingSink*>(ctx);
    if (len > 1024 && !self->stopped) {
      self->stopped = true;
      raise(SIGSTOP);
    }
    self->value.resize(len);
    return self->value.data();
  }
};

// The receiver: receives until the channel is closed, untimed, stopping itself in its first
// pull, and reports how many values it received with each tag (the first byte).
void receive_and_count(Chan<std::string> c, Chan<int> ready, Chan<int> counts) {
  ready.send(1);
  int a = 0;
  int b = 0;
  for (;;) {
    StoppingSink sink;
    Status st = c.raw().recv_for(ceramic::detail::Sink{&StoppingSink::prepare, &sink}, -1,
                                 ceramic::Site{});
    if (st != Status::ok) break;
    (sink.value.size() == kLong && sink.value[0] == 'A' ? a : b) += 1;
  }
  counts.send(a);
  counts.send(b);
}

bool stopped(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'T';
}

// Sends 'A' with `timed` (send_for or a select with a timeout) to a receiver that stops while
// pulling it, then 'B' normally; checks the bound and the counts.
template <class TimedSend>
void check_stopped_puller(TimedSend timed) {
  Chan<std::string> c;
  Chan<int> ready;
  Chan<int> counts;
  Proc receiver("receiver", [&] { receive_and_count(c, ready, counts); });
  int one = 0;
  ASSERT_EQ(ready.recv_for(one, kPatience), Status::ok);
  // The receiver is on its way to recv: the timed send meets it queued, or queues and is met
  // by it within the 100 ms. Either way the receiver stops in its pull (checked below).

  const auto start = Clock::now();
  const bool sent = timed(c, std::string(kLong, 'A'));
  const auto took = Clock::now() - start;
  EXPECT_LT(took, kBound) << "a timed send waited past its deadline for a stopped receiver";
  // The path was taken: the receiver stopped in its pull (sent is then false: it stopped
  // before copying anything).
  ASSERT_TRUE(eventually([&] { return stopped(receiver.pid()); }, kPatience));
  EXPECT_FALSE(sent);

  receiver.kill(SIGCONT);
  ASSERT_EQ(c.send_for(std::string(kLong, 'B'), kPatience), Status::ok);
  c.close();
  int a = -1;
  int b = -1;
  ASSERT_EQ(counts.recv_for(a, kPatience), Status::ok);
  ASSERT_EQ(counts.recv_for(b, kPatience), Status::ok);
  EXPECT_EQ(a, sent ? 1 : 0) << "a value whose send timed out was delivered (or one sent was lost)";
  EXPECT_EQ(b, 1);
  EXPECT_TRUE(exits_with(receiver, 0));
}

}  // namespace

TEST(TimedBound, SendForEndsWhileItsReceiverIsStoppedMidPull) {
  check_stopped_puller([](Chan<std::string>& c, const std::string& v) {
    const Status st = c.send_for(v, 100ms);
    EXPECT_TRUE(st == Status::timeout || st == Status::ok) << ceramic::to_string(st);
    return st == Status::ok;
  });
}

TEST(TimedBound, SelectWithATimeoutEndsWhileTheReceiverOfItsOfferIsStopped) {
  check_stopped_puller([](Chan<std::string>& c, const std::string& v) {
    Chan<int> never;
    const std::size_t fired =
        ceramic::select(ceramic::on_send(c, v, [] {}), ceramic::on_recv(never, [](std::optional<int>) {}),
                        ceramic::on_timeout(100ms, [] {}));
    EXPECT_TRUE(fired == 0 || fired == 2) << fired;
    return fired == 0;
  });
}

namespace {

// Stops the calling process when it is about to wait as a sender, once.
struct StopWhenBlocked final : ceramic::hooks::Observer {
  bool done = false;
  void on_event(const ceramic::hooks::Record& r) noexcept override {
    if (r.event == ceramic::hooks::Event::block && r.op == ceramic::hooks::Op::send && !done) {
      done = true;
      raise(SIGSTOP);
    }
  }
};

}  // namespace

TEST(TimedBound, RecvForEndsWhileTheSenderItAskedToParkIsStopped) {
  Chan<std::string> c;
  Proc sender("sender", [&] {
    static StopWhenBlocked stop;
    ceramic::hooks::install(&stop);
    c.send(std::string(kLong, 'A'));  // stops once queued; untimed: retries until received
    c.send("end");
  });
  ASSERT_TRUE(eventually([&] { return stopped(sender.pid()); }, kPatience));
  const bool was_forced = ceramic::detail::spill_forced();
  ceramic::detail::force_spill(true);  // we may not read its memory: it must park the value

  std::string v;
  const auto start = Clock::now();
  const Status st = c.recv_for(v, 100ms);
  const auto took = Clock::now() - start;
  ceramic::detail::force_spill(was_forced);
  EXPECT_LT(took, kBound) << "recv_for waited past its deadline for a stopped sender";
  EXPECT_EQ(st, Status::timeout) << ceramic::to_string(st);

  sender.kill(SIGCONT);
  // The value is received exactly once: A (whole), then the sender's next value.
  ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, std::string(kLong, 'A'));
  ASSERT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, "end");
  EXPECT_TRUE(exits_with(sender, 0));
}

namespace {

// Stops the calling process once its select has queued its cases.
struct StopWhenSelectBlocks final : ceramic::hooks::Observer {
  bool done = false;
  void on_event(const ceramic::hooks::Record& r) noexcept override {
    if (r.event == ceramic::hooks::Event::block && r.op == ceramic::hooks::Op::select && !done) {
      done = true;
      raise(SIGSTOP);
    }
  }
};

}  // namespace

// A recv_for that meets a select's queued send proposes to it and waits for its answer; the
// select is stopped. The receiver withdraws its proposal at its deadline plus the grace
// (before, it waited for ever), and the select, resumed, still delivers its value once.
TEST(TimedBound, RecvForEndsWhileTheSelectItProposedToIsStopped) {
  Chan<int> c;
  Chan<int> never;
  Proc selecter("selecter", [&] {
    StopWhenSelectBlocks stop;
    ceramic::hooks::install(&stop);
    const std::size_t fired = ceramic::select(ceramic::on_send(c, 7, [] {}),
                                              ceramic::on_recv(never, [](std::optional<int>) {}));
    ceramic::hooks::install(nullptr);
    require(fired == 0, "the select sent its value");
  });
  ASSERT_TRUE(eventually([&] { return stopped(selecter.pid()); }, kPatience));
  int v = 0;
  const auto start = Clock::now();
  EXPECT_EQ(c.recv_for(v, 100ms), Status::timeout);
  const auto took = Clock::now() - start;
  EXPECT_LT(took, kBound) << "a timed recv waited past its deadline for a stopped select";
  // It did meet the select (a receiver that found no one would have returned at 100 ms).
  EXPECT_GE(took, 1s);
  selecter.kill(SIGCONT);
  v = 0;
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(exits_with(selecter, 0));
}
