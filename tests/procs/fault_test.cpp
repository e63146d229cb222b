// Peer death: processes SIGKILLed at random moments (blocked in send or recv, in the middle of
// a 16 MiB transfer, while many others use the channel). The survivors never hang, the channel
// keeps working for them, and exactly-once holds for every value whose send completed.
//
// Here sleeping is the point: a random delay (seeded, the seed printed on failure) decides where
// the SIGKILL lands. Every wait of a survivor is bounded by kPatience; a survivor that times out
// fails its process, and the parent fails the test.
//
// Accounting. Survivors record in MAP_SHARED counters: senders the values whose send_for
// returned ok, receivers the values they received. A receiver killed between recv returning and
// recording loses that one value without any fault of the library, so victims that receive
// mark the window (in_recv) and the test allows one lost value per victim killed inside it.
#include <random>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::Proc;
using ceramic::Status;

constexpr std::size_t kBig = std::size_t{16} << 20;

[[noreturn]] void hang_forever() {
  for (;;) pause();
}

void random_pause(std::mt19937_64& rng, int max_us) {
  std::uniform_int_distribution<int> us(0, max_us);
  std::this_thread::sleep_for(std::chrono::microseconds(us(rng)));
}

// close() from a process of its own, so that a library that hangs in close fails the test
// (within kPatience) instead of hanging it.
template <class T>
::testing::AssertionResult close_in_bounded_time(Chan<T>& c) {
  Proc closer("closer", [&] { c.close(); });
  return exits_with(closer, 0);
}

// 16 MiB values named by a sequence number in their first 8 bytes, with one shared body, so
// that checking a value costs one memcmp and the processes spend their time transferring.
class BigValues {
 public:
  BigValues() : body_(pattern(kBig - 8, 77)) {}
  std::string make(std::uint64_t seq) const {
    std::string v(8, '\0');
    std::memcpy(v.data(), &seq, 8);
    return v + body_;
  }
  // The sequence number of an intact value, or -1 for a torn or malformed one.
  std::int64_t seq_of(const std::string& v) const {
    if (v.size() != kBig || std::memcmp(v.data() + 8, body_.data(), kBig - 8) != 0) return -1;
    std::uint64_t seq = 0;
    std::memcpy(&seq, v.data(), 8);
    return seq < (std::uint64_t{1} << 32) ? std::int64_t(seq) : -1;
  }

 private:
  std::string body_;
};

// How long one 16 MiB transfer between two processes takes here (sanitizers make it slower):
// the window in which a random SIGKILL lands mid-transfer.
std::chrono::nanoseconds measure_big_transfer(const BigValues& values) {
  Chan<std::string> c;
  Proc sender("calibration", [&] {
    const std::string v = values.make(0);
    for (int i = 0; i < 3; ++i) require(c.send_for(v, kPatience) == Status::ok, "calibration");
  });
  std::string v;
  std::chrono::nanoseconds best = kPatience;
  for (int i = 0; i < 3; ++i) {
    auto start = Clock::now();  // the sender is (almost always) already offering
    if (c.recv_for(v, kPatience) != Status::ok) return std::chrono::milliseconds(20);
    best = std::min<std::chrono::nanoseconds>(best, Clock::now() - start);
  }
  (void)exits_with(sender, 0);
  return best;
}

// A survivor receiver; victim senders are SIGKILLed while they transfer 16 MiB values to it.
// blocking: the survivor uses recv() (which must complete with another sender) instead of
// recv_for (which may report peer_died).
void sender_killed_mid_transfer(bool blocking) {
  const std::uint64_t s = seed();
  SCOPED_TRACE(seed_note(s));
  std::mt19937_64 rng(s);
  const BigValues values;
  const auto transfer = measure_big_transfer(values);
  const int window_us = int(2 * transfer.count() / 1000) + 1;
  Chan<std::string> c;
  const int rounds = 8 * scale();
  Counters stats(2);  // [0] values received intact, [1] peer_died reports
  Counters started{std::size_t(rounds)};
  Proc receiver("survivor", [&] {
    for (;;) {
      std::string v;
      Status st = Status::ok;
      if (blocking) {
        std::optional<std::string> got = c.recv();
        require(got.has_value(), "survivor: recv returned nullopt");
        v = std::move(*got);
      } else {
        st = c.recv_for(v, kPatience);
      }
      if (st == Status::peer_died) {
        stats[1].fetch_add(1);
        continue;
      }
      require(st == Status::ok, "survivor: recv_for returned " + str(st));
      if (v == "done") return;
      if (v == "probe") continue;
      require(values.seq_of(v) >= 0, "survivor: received a torn 16 MiB value");
      stats[0].fetch_add(1);
    }
  });
  for (int r = 0; r < rounds && receiver.running(); ++r) {
    Proc victim("victim-sender", [&, r] {
      const std::string value = values.make(std::uint64_t(r));
      started[std::size_t(r)].store(1);
      for (;;) {
        Status st = c.send_for(value, kPatience);
        require(st == Status::ok, "victim: send_for returned " + str(st));
      }
    });
    ASSERT_TRUE(eventually([&] { return started[std::size_t(r)].load() == 1; }));
    random_pause(rng, window_us);
    victim.kill(SIGKILL);
    // At once, while the survivor may still be busy with the dying victim, a healthy sender
    // offers a value. Whatever the survivor does about the dead victim, it must then take it.
    Status probe = c.send_for("probe", kPatience);
    EXPECT_EQ(probe, Status::ok) << "round " << r << ": the survivor never took the value of "
                                 << "a sender that arrived while its previous sender died";
    EXPECT_EQ(victim.join(), 128 + SIGKILL) << "round " << r;
    if (probe != Status::ok) break;
  }
  // The channel still works: the survivor takes one more value.
  if (receiver.running()) {
    EXPECT_EQ(c.send_for("done", kPatience), Status::ok);
  }
  EXPECT_TRUE(exits_with(receiver, 0));
  ::testing::Test::RecordProperty("transfer_us", int(transfer.count() / 1000));
  ::testing::Test::RecordProperty("values_received", int(stats[0].load()));
  ::testing::Test::RecordProperty("peer_died_reports", int(stats[1].load()));
}

TEST(Fault, SenderKilledMidTransferOfSixteenMiBNeverHangsRecvFor) {
  sender_killed_mid_transfer(false);
}

TEST(Fault, SenderKilledMidTransferOfSixteenMiBLetsBlockingRecvCompleteWithAnotherSender) {
  sender_killed_mid_transfer(true);
}

// A survivor sender; victim receivers are SIGKILLed while 16 MiB values are transferred to
// them. blocking: the survivor uses send() (which must complete with another receiver)
// instead of send_for (which may report peer_died).
void receiver_killed_mid_transfer(bool blocking) {
  const std::uint64_t s = seed();
  SCOPED_TRACE(seed_note(s));
  std::mt19937_64 rng(s);
  const BigValues values;
  const auto transfer = measure_big_transfer(values);
  const int window_us = int(4 * transfer.count() / 1000) + 1;
  Chan<std::string> c;
  constexpr std::size_t kMaxValues = 4096;
  Counters sent(kMaxValues);
  Counters received(kMaxValues);
  Counters stats(1);  // [0] peer_died reports at the sender
  const int rounds = 8 * scale();
  Counters in_recv{std::size_t(rounds)};

  // Sends 0, 1, 2, ... until the channel is closed; retries a value whose receiver died.
  Proc sender("survivor", [&] {
    for (std::uint64_t seq = 0; seq < kMaxValues; ++seq) {
      const std::string value = values.make(seq);
      for (;;) {
        Status st = Status::ok;
        if (blocking) {
          try {
            c.send(value);
          } catch (const ceramic::ChannelClosed&) {
            return;
          }
        } else {
          st = c.send_for(value, kPatience);
        }
        if (st == Status::closed) return;
        if (st == Status::peer_died) {
          stats[0].fetch_add(1);
          continue;
        }
        require(st == Status::ok, "survivor: send_for returned " + str(st));
        sent[seq].fetch_add(1);
        break;
      }
    }
    require(false, "survivor: ran out of values");
  });
  auto receive = [&](std::atomic<std::uint32_t>* window, int count) {
    for (int i = 0; i < count; ++i) {
      std::string v;
      if (window) window->store(1);
      Status st = c.recv_for(v, kPatience);
      if (st == Status::peer_died) continue;
      require(st == Status::ok, "recv_for returned " + str(st));
      std::int64_t seq = values.seq_of(v);
      require(seq >= 0 && seq < std::int64_t(kMaxValues), "received a torn 16 MiB value");
      received[std::size_t(seq)].fetch_add(1);
      if (window) window->store(0);
    }
  };
  for (int r = 0; r < rounds; ++r) {
    Proc victim("victim-receiver", [&, r] { receive(&in_recv[std::size_t(r)], 1 << 30); });
    ASSERT_TRUE(eventually([&] { return in_recv[std::size_t(r)].load() == 1; }));
    random_pause(rng, window_us);
    victim.kill(SIGKILL);
    // At once, while the survivor may still be waiting on the dying victim, this process
    // arrives as a receiver. Whatever the survivor does about the dead victim, it must then
    // serve this receiver.
    std::string v;
    Status probe = c.recv_for(v, kPatience);
    EXPECT_EQ(probe, Status::ok) << "round " << r << ": a receiver that arrived while the "
                                 << "survivor's previous receiver died was never served";
    if (probe == Status::ok) {
      std::int64_t seq = values.seq_of(v);
      EXPECT_GE(seq, 0) << "round " << r << ": a torn value";
      if (seq >= 0 && seq < std::int64_t(kMaxValues)) received[std::size_t(seq)].fetch_add(1);
    }
    EXPECT_EQ(victim.join(), 128 + SIGKILL) << "round " << r;
    if (probe != Status::ok) break;
  }
  // The channel still works: a healthy receiver gets three more values intact.
  Proc last("healthy-receiver", [&] { receive(nullptr, 3); });
  EXPECT_TRUE(exits_with(last, 0));
  EXPECT_TRUE(close_in_bounded_time(c));
  EXPECT_TRUE(exits_with(sender, 0));

  std::uint32_t allowed_losses = 0;
  for (int r = 0; r < rounds; ++r) allowed_losses += in_recv[std::size_t(r)].load();
  std::uint32_t lost = 0;
  std::uint32_t delivered = 0;
  for (std::size_t seq = 0; seq < kMaxValues; ++seq) {
    EXPECT_LE(received[seq].load(), 1u) << "value " << seq << " received twice";
    EXPECT_LE(sent[seq].load(), 1u) << "value " << seq << " reported sent twice";
    if (sent[seq].load() == 1 && received[seq].load() == 0) ++lost;
    if (received[seq].load() == 1) {
      ++delivered;
      EXPECT_EQ(sent[seq].load(), 1u) << "value " << seq << " received but its send failed";
    }
  }
  EXPECT_LE(lost, allowed_losses) << "values reported sent but never received";
  ::testing::Test::RecordProperty("transfer_us", int(transfer.count() / 1000));
  ::testing::Test::RecordProperty("values_received", int(delivered));
  ::testing::Test::RecordProperty("values_lost_with_their_receiver", int(lost));
  ::testing::Test::RecordProperty("peer_died_reports", int(stats[0].load()));
}

TEST(Fault, ReceiverKilledMidTransferOfSixteenMiBNeverHangsSendFor) {
  receiver_killed_mid_transfer(false);
}

TEST(Fault, ReceiverKilledMidTransferOfSixteenMiBLetsBlockingSendCompleteWithAnotherReceiver) {
  receiver_killed_mid_transfer(true);
}

// Receivers blocked in recv are killed before any sender arrives. A later sender must not hand
// its value to a dead receiver and report success: it completes with the live receiver (or
// reports peer_died and retries). reap: the dead receivers are reaped (gone) or left zombies.
void dead_blocked_receivers_are_skipped(bool reap) {
  Chan<int> c;
  BlockWatch watch(c.id());
  constexpr int kVictims = 3;
  constexpr int kValues = 20;
  Counters victim_got(kValues);
  Counters live_got(kValues);
  std::vector<Proc> victims;
  for (int i = 0; i < kVictims; ++i) {
    victims.emplace_back("victim-receiver", [&] {
      int v = c.recv().value_or(-1);
      if (v >= 0 && v < kValues) victim_got[std::size_t(v)].fetch_add(1);
    });
  }
  ASSERT_TRUE(watch.await_receivers(kVictims));
  for (Proc& v : victims) {
    v.kill(SIGKILL);
    if (reap) {
      EXPECT_EQ(v.join(), 128 + SIGKILL);
    } else {
      EXPECT_TRUE(await_process_exit(v.pid(), std::chrono::milliseconds(kPatience)));
    }
  }
  Proc live("live-receiver", [&] {
    for (;;) {
      int v = -1;
      Status st = c.recv_for(v, kPatience);
      if (st == Status::closed) return;
      require(st == Status::ok && v >= 0 && v < kValues, "live: recv_for returned " + str(st));
      live_got[std::size_t(v)].fetch_add(1);
    }
  });
  for (int v = 0; v < kValues; ++v) {
    Status st = Status::peer_died;
    for (int attempt = 0; attempt < 100 && st == Status::peer_died; ++attempt) {
      st = c.send_for(v, kPatience);
    }
    ASSERT_EQ(st, Status::ok) << "value " << v;
  }
  c.close();
  EXPECT_TRUE(exits_with(live, 0));
  for (int v = 0; v < kValues; ++v) {
    EXPECT_EQ(victim_got[std::size_t(v)].load(), 0u);
    EXPECT_EQ(live_got[std::size_t(v)].load(), 1u)
        << "value " << v << " was reported sent but the live receiver never got it";
  }
}

TEST(Fault, ReceiversKilledWhileBlockedAreSkippedBySenders) {
  dead_blocked_receivers_are_skipped(true);
}

TEST(Fault, ReceiversKilledWhileBlockedAreSkippedEvenBeforeTheyAreReaped) {
  dead_blocked_receivers_are_skipped(false);
}

// Senders blocked in send (inline and out-of-line strings) are killed before any receiver
// arrives. A later receiver gets intact values only: from the live sender, or (if the library
// had copied a dead sender's value in full) that value, whole.
void dead_blocked_senders_never_deliver_garbage(bool reap) {
  Chan<std::string> c;
  BlockWatch watch(c.id());
  constexpr int kVictims = 4;
  std::vector<Proc> victims;
  for (int i = 0; i < kVictims; ++i) {
    // ids 1000+: 1000 % 9 -> lengths cycle through inline and large values
    victims.emplace_back("victim-sender", [&, i] {
      c.send(tagged_value(std::uint64_t(1000 + i * 4 + 3)));
      hang_forever();
    });
  }
  ASSERT_TRUE(watch.await_senders(kVictims));
  for (Proc& v : victims) {
    v.kill(SIGKILL);
    if (reap) {
      EXPECT_EQ(v.join(), 128 + SIGKILL);
    } else {
      EXPECT_TRUE(await_process_exit(v.pid(), std::chrono::milliseconds(kPatience)));
    }
  }
  constexpr int kValues = 18;
  Proc live("live-sender", [&] {
    for (int i = 0; i < kValues; ++i) {
      Status st = Status::peer_died;
      while (st == Status::peer_died) st = c.send_for(tagged_value(std::uint64_t(i)), kPatience);
      require(st == Status::ok, "live: send_for returned " + str(st));
    }
  });
  std::vector<int> live_values;
  int dead_values = 0;
  while (int(live_values.size()) < kValues) {
    std::string v;
    Status st = c.recv_for(v, kPatience);
    if (st == Status::peer_died) continue;
    ASSERT_EQ(st, Status::ok);
    std::int64_t id = tagged_id(v);
    ASSERT_GE(id, 0) << "a torn value of " << v.size() << " bytes";
    if (id >= 1000) {
      ++dead_values;
    } else {
      live_values.push_back(int(id));
    }
  }
  EXPECT_LE(dead_values, kVictims);
  for (int i = 0; i < kValues; ++i) EXPECT_EQ(live_values[std::size_t(i)], i);
  EXPECT_TRUE(exits_with(live, 0));
}

TEST(Fault, SendersKilledWhileBlockedNeverDeliverTornValues) {
  dead_blocked_senders_never_deliver_garbage(true);
}

TEST(Fault, SendersKilledWhileBlockedNeverDeliverTornValuesEvenBeforeTheyAreReaped) {
  dead_blocked_senders_never_deliver_garbage(false);
}

// Waiter slots are a fixed pool (max_waiters). Slots held by waiters that were SIGKILLed must be
// reclaimed, or a few crashes would make the channel unusable for everyone else.
TEST(Fault, SlotsOfKilledWaitersAreReclaimed) {
  Chan<int> c(ChanOptions{.capacity = 0, .max_waiters = 2});
  BlockWatch watch(c.id());
  std::vector<Proc> victims;
  for (int i = 0; i < 2; ++i) victims.emplace_back("victim", [&] { (void)c.recv(); });
  ASSERT_TRUE(watch.await_receivers(2)) << "both slots should be taken";
  for (Proc& v : victims) {
    v.kill(SIGKILL);
    EXPECT_EQ(v.join(), 128 + SIGKILL);
  }
  for (int round = 0; round < 3; ++round) {
    Proc a("sender-a", [&] { require(c.send_for(1, kPatience) == Status::ok, "send a"); });
    Proc b("sender-b", [&] { require(c.send_for(2, kPatience) == Status::ok, "send b"); });
    int x = 0;
    int y = 0;
    ASSERT_EQ(c.recv_for(x, kPatience), Status::ok);
    ASSERT_EQ(c.recv_for(y, kPatience), Status::ok);
    EXPECT_EQ(x + y, 3);
    EXPECT_TRUE(exits_with(a, 0));
    EXPECT_TRUE(exits_with(b, 0));
  }
}

// Values of type T named by a sequence number: std::string (tagged_value: long enough to be
// checked for tearing), or the number itself (std::uint64_t: an unbuffered channel of 8-byte
// values, where a lone receiver waits on the express line, core/src/express.hpp).
std::string make_value(std::string*, std::uint64_t id) { return tagged_value(id); }
std::int64_t id_of(const std::string& v) { return tagged_id(v); }
std::uint64_t make_value(std::uint64_t*, std::uint64_t id) { return id; }
std::int64_t id_of(std::uint64_t v) { return v < (std::uint64_t{1} << 62) ? std::int64_t(v) : -1; }

// Survivor senders and receivers keep the channel busy; victims (senders and receivers) are
// started and SIGKILLed at random moments among them.
template <class T = std::string>
void random_kills_during_traffic(std::size_t capacity) {
  const std::uint64_t s = seed();
  SCOPED_TRACE(seed_note(s));
  std::mt19937_64 rng(s);
  Chan<T> c(ChanOptions{.capacity = capacity});

  constexpr int kSurvivorSenders = 2;
  constexpr int kSurvivorReceivers = 2;
  constexpr std::uint64_t kPerSurvivor = 100000;
  constexpr std::uint64_t kPerVictim = 2000;
  const int rounds = 16 * scale();
  const std::uint64_t victims_base = kSurvivorSenders * kPerSurvivor;
  const std::uint64_t final_value = victims_base + std::uint64_t(rounds) * kPerVictim;
  const std::size_t total = final_value + 1;
  Counters sent(total);
  Counters received(total);
  Counters stop(1);
  Counters in_recv{std::size_t(rounds)};

  auto send_range = [&](std::uint64_t first, std::uint64_t count, bool until_stopped) {
    for (std::uint64_t id = first; id < first + count; ++id) {
      if (until_stopped && stop[0].load() != 0) return;
      Status st = Status::peer_died;
      while (st == Status::peer_died) {
        st = c.send_for(make_value(static_cast<T*>(nullptr), id), kPatience);
      }
      require(st == Status::ok, "send_for returned " + str(st));
      sent[id].fetch_add(1);
    }
  };
  auto receive = [&](std::atomic<std::uint32_t>* window) {
    for (;;) {
      T v{};
      if (window) window->store(1);
      Status st = c.recv_for(v, kPatience);
      if (st == Status::closed) return;
      if (st == Status::peer_died) continue;
      require(st == Status::ok, "recv_for returned " + str(st));
      std::int64_t id = id_of(v);
      require(id >= 0 && std::uint64_t(id) < total, "received a torn or unknown value");
      received[std::size_t(id)].fetch_add(1);
      if (window) window->store(0);
    }
  };

  std::vector<Proc> survivors;
  for (int r = 0; r < kSurvivorReceivers; ++r) {
    survivors.emplace_back("survivor-receiver", [&] { receive(nullptr); });
  }
  for (int i = 0; i < kSurvivorSenders; ++i) {
    survivors.emplace_back("survivor-sender",
                           [&, i] { send_range(std::uint64_t(i) * kPerSurvivor, kPerSurvivor, true); });
  }
  std::uniform_int_distribution<int> coin(0, 1);
  for (int r = 0; r < rounds; ++r) {
    const bool victim_sends = coin(rng) == 1;
    Proc victim(victim_sends ? "victim-sender" : "victim-receiver", [&, r, victim_sends] {
      if (victim_sends) {
        send_range(victims_base + std::uint64_t(r) * kPerVictim, kPerVictim, false);
        hang_forever();
      }
      receive(&in_recv[std::size_t(r)]);
    });
    random_pause(rng, 5000);
    victim.kill(SIGKILL);
    EXPECT_EQ(victim.join(), 128 + SIGKILL) << "round " << r << " (" << victim.name() << ")";
  }
  stop[0].store(1);
  for (int i = kSurvivorReceivers; i < kSurvivorReceivers + kSurvivorSenders; ++i) {
    EXPECT_TRUE(exits_with(survivors[std::size_t(i)], 0));
  }
  // The channel still works for the survivors.
  EXPECT_EQ(c.send_for(make_value(static_cast<T*>(nullptr), final_value), kPatience), Status::ok);
  sent[final_value].fetch_add(1);
  EXPECT_TRUE(close_in_bounded_time(c));
  for (int i = 0; i < kSurvivorReceivers; ++i) {
    EXPECT_TRUE(exits_with(survivors[std::size_t(i)], 0));
  }

  std::uint32_t allowed_losses = 0;
  for (int r = 0; r < rounds; ++r) allowed_losses += in_recv[std::size_t(r)].load();
  std::uint32_t lost = 0;
  std::uint64_t delivered = 0;
  for (std::size_t id = 0; id < total; ++id) {
    ASSERT_LE(received[id].load(), 1u) << "value " << id << " received twice";
    if (sent[id].load() == 1 && received[id].load() == 0) ++lost;
    if (id < victims_base) {
      // Survivor senders are never killed: a value someone received was reported sent.
      EXPECT_LE(received[id].load(), sent[id].load()) << "survivor value " << id;
    }
    delivered += received[id].load();
  }
  EXPECT_LE(lost, allowed_losses) << "values reported sent but never received";
  EXPECT_GT(delivered, 0u);
  ::testing::Test::RecordProperty("values_delivered", int(delivered));
}

TEST(Fault, RandomKillsDuringUnbufferedTrafficKeepExactlyOnce) { random_kills_during_traffic(0); }
TEST(Fault, RandomKillsDuringBufferedTrafficKeepExactlyOnce) { random_kills_during_traffic(4); }
TEST(Fault, RandomKillsDuringExpressTrafficKeepExactlyOnce) {
  random_kills_during_traffic<std::uint64_t>(0);
}

}  // namespace
