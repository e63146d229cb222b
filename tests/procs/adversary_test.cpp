// A peer scribbles on a named channel's shared memory (the threat model in core/src/layout.hpp):
// forged offers and lengths. Whatever it writes, a process using the channel never crashes,
// never copies memory it was not offered, never allocates more than the channel's declared
// maximum value size, and never sees an exception other than ChannelError. The channel goes
// on working for the others.
//
// The scribbler is this test process, mapping the channel's region by name (Scribbler); the
// process under attack is a child that receives. A forged "sender" looks alive for as long
// as the test wants it to (kill_owner ends it).
#include <sys/mman.h>

#include <string>

#include "support/scribbler.hpp"
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::ChannelError;
using ceramic::Proc;
using ceramic::Status;
namespace d = ceramic::detail;

constexpr std::size_t kForgedLen = 4096;  // longer than a slot (inline_bytes = 1024)

// Bytes the receiver holds at the same address in every process forked from here: what a
// forged offer would like it to hand out as a value.
alignas(4096) char g_secret[kForgedLen];

// A page that is mapped in no process: the lowest page is never mapped (vm.mmap_min_addr).
constexpr std::uint64_t kUnmapped = 0x1000;

// The receiver (a child, told to start by `go`) meets a forged sender of a long value whose
// offer claims to come from the receiver's own process, at address addr. It must not crash,
// must not receive the bytes at addr, and must go on receiving from real senders.
::testing::AssertionResult forged_own_process_offer(std::uint64_t addr) {
  std::memset(g_secret, 'K', sizeof g_secret);
  const std::string name = unique_name("own-offer");
  auto c = Chan<std::string>::create(name);
  Chan<int> go;
  Proc receiver("receiver", [&] {
    int v = 0;
    require(go.recv_for(v, kPatience) == Status::ok, "go");
    std::string got;
    Status st = c.recv_for(got, kPatience);
    require(st == Status::peer_died, "recv_for from the forged sender returned " + str(st));
    require(got.find('K') == std::string::npos, "received the receiver's own memory");
    st = c.recv_for(got, kPatience);
    require(st == Status::ok && got == "after", "the channel stopped working");
  });
  Scribbler s(name);
  d::ValueRef ref{};
  ref.addr = addr;
  ref.src_pid = receiver.pid();
  s.queue_sender(0, kForgedLen, ref);
  go.send(1);
  // The receiver takes the forged sender. It may not copy from addr: it must ask the sender to
  // park the value (kSpillReq) instead. The forged sender never does, and dies.
  if (!eventually([&] { return s.state(0) == d::kSpillReq || !receiver.running(); })) {
    return ::testing::AssertionFailure() << "the receiver never took the forged sender";
  }
  s.kill_owner(0);
  if (receiver.running()) {
    Status st = c.send_for("after", kPatience);
    if (st != Status::ok) return ::testing::AssertionFailure() << "send after: " << str(st);
  }
  return exits_with(receiver, 0);
}

TEST(Adversary, ForgedOfferOfAnUnmappedAddressInTheReceiversProcessDoesNotCrashIt) {
  EXPECT_TRUE(forged_own_process_offer(kUnmapped));
}

TEST(Adversary, ForgedOfferNeverHandsOutTheReceiversOwnMemory) {
  EXPECT_TRUE(forged_own_process_offer(reinterpret_cast<std::uint64_t>(g_secret)));
}

// A forged offer names another live process (a bystander holding a secret) and an address in
// it: the receiver must not hand out the bystander's memory, whether the offer carries no
// record of itself (proof 0) or points at bytes that are not one (proof = the secret).
::testing::AssertionResult forged_other_process_offer(bool with_proof) {
  std::memset(g_secret, 'K', sizeof g_secret);
  const std::string name = unique_name("other-offer");
  auto c = Chan<std::string>::create(name);
  Chan<int> go;
  Chan<int> ready;
  Chan<int> stop;
  Proc bystander("bystander", [&] {
    std::memset(g_secret, 'V', sizeof g_secret);
    require(ready.send_for(1, kPatience) == Status::ok, "ready");
    int v = 0;
    (void)stop.recv_for(v, kPatience);
  });
  Proc receiver("receiver", [&] {
    int v = 0;
    require(go.recv_for(v, kPatience) == Status::ok, "go");
    std::string got;
    Status st = c.recv_for(got, kPatience);
    require(st == Status::peer_died, "recv_for from the forged sender returned " + str(st));
    require(got.find('V') == std::string::npos, "received the bystander's memory");
    st = c.recv_for(got, kPatience);
    require(st == Status::ok && got == "after", "the channel stopped working");
  });
  int v = 0;
  if (ready.recv_for(v, kPatience) != Status::ok) {
    return ::testing::AssertionFailure() << "the bystander never started";
  }
  Scribbler s(name);
  d::ValueRef ref{};
  ref.addr = reinterpret_cast<std::uint64_t>(g_secret);
  ref.src_pid = bystander.pid();
  if (with_proof) ref.proof = reinterpret_cast<std::uint64_t>(g_secret);
  s.queue_sender(0, kForgedLen, ref);
  go.send(1);
  if (!eventually([&] { return s.state(0) == d::kSpillReq || !receiver.running(); })) {
    return ::testing::AssertionFailure() << "the receiver never took the forged sender";
  }
  s.kill_owner(0);
  if (receiver.running()) {
    Status st = c.send_for("after", kPatience);
    if (st != Status::ok) return ::testing::AssertionFailure() << "send after: " << str(st);
  }
  stop.send(1);
  auto r = exits_with(receiver, 0);
  if (!r) return r;
  return exits_with(bystander, 0);
}

TEST(Adversary, ForgedOfferWithoutARecordNeverHandsOutAnotherProcesssMemory) {
  EXPECT_TRUE(forged_other_process_offer(false));
}

TEST(Adversary, ForgedOfferWithAFalseRecordNeverHandsOutAnotherProcesssMemory) {
  EXPECT_TRUE(forged_other_process_offer(true));
}

// ---- lengths -----------------------------------------------------------------------------

constexpr std::uint64_t kHugeLen = std::uint64_t{1} << 39;  // 512 GiB, under the old 2^40 cap

// The child's receive meets a forged length: it must throw ChannelError (and nothing else,
// such as std::bad_alloc), then receive "after" from a real sender.
void receive_expecting_corruption(Chan<std::string>& c, Chan<int>& go) {
  int v = 0;
  require(go.recv_for(v, kPatience) == Status::ok, "go");
  std::string got;
  try {
    Status st = c.recv_for(got, kPatience);
    require(false, "recv_for returned " + str(st) + " instead of throwing ChannelError");
  } catch (const ChannelError&) {
  }
  Status st = c.recv_for(got, kPatience);
  require(st == Status::ok && got == "after",
          "after the corrupt value: " + str(st) + ", " + std::to_string(got.size()) + " bytes");
}

TEST(Adversary, ForgedHugeLengthOfAQueuedSenderIsAChannelError) {
  const std::string name = unique_name("huge-queued");
  auto c = Chan<std::string>::create(name);
  Chan<int> go;
  Proc receiver("receiver", [&] { receive_expecting_corruption(c, go); });
  Scribbler s(name);
  d::ValueRef ref{};
  ref.addr = kUnmapped;
  ref.src_pid = getpid();
  s.queue_sender(0, kHugeLen, ref);
  go.send(1);
  if (eventually([&] { return s.state(0) != d::kWaiting || !receiver.running(); })) {
    s.kill_owner(0);
  }
  if (receiver.running()) {
    EXPECT_EQ(c.send_for("after", kPatience), Status::ok);
  }
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(Adversary, ForgedHugeLengthOfABufferedValueIsAChannelError) {
  const std::string name = unique_name("huge-buffered");
  auto c = Chan<std::string>::create(name, ChanOptions{.capacity = 2});
  Chan<int> go;
  Proc receiver("receiver", [&] { receive_expecting_corruption(c, go); });
  {
    Scribbler s(name);
    s.entry(0).len = kHugeLen;
    s.entry(0).spill = 1;
    s.hdr().r.ring_state = std::uint64_t{1} << 32;  // head 0, one value
  }
  go.send(1);
  EXPECT_EQ(c.send_for("after", kPatience), Status::ok);
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(Adversary, ForgedHugeLengthOfALargeOfferToAWaitingReceiverIsAChannelError) {
  const std::string name = unique_name("huge-offer");
  auto c = Chan<std::string>::create(name);
  Chan<int> go;
  Proc receiver("receiver", [&] { receive_expecting_corruption(c, go); });
  Scribbler s(name);
  go.send(1);
  // Find the receiver's queued slot, then complete it with a forged offer of a huge value
  // from a forged sender (a transfer slot in kPulling).
  std::uint32_t mine = 0;
  ASSERT_TRUE(eventually([&] {
    for (std::uint32_t i = 0; i < s.geo().queue_slots; ++i) {
      if (s.state(i) == d::kWaiting && (s.slot(i).kind & d::kKindMask) == d::kRecvKind) {
        mine = i;
        return true;
      }
    }
    return false;
  }));
  const std::uint32_t fake = s.geo().queue_slots;  // the first transfer slot
  d::ValueRef ref{};
  ref.addr = kUnmapped;
  ref.src_pid = getpid();
  s.forge_slot(fake, d::kSendKind, kHugeLen, ref, d::kPulling);
  s.hdr().l.recv_mask0 &= ~(std::uint64_t{1} << mine);
  s.slot(mine).len = kHugeLen;
  s.tail(mine).ref = s.tail(fake).ref;
  s.slot(mine).state.store(d::kLargeOffer);
  syscall(SYS_futex, &s.slot(mine).state, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  ASSERT_TRUE(eventually([&] { return s.state(mine) != d::kLargeOffer || !receiver.running(); }));
  s.kill_owner(fake);
  if (receiver.running()) {
    EXPECT_EQ(c.send_for("after", kPatience), Status::ok);
  }
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(Adversary, LengthAboveTheDeclaredMaximumIsAChannelErrorBeforeAnyAllocation) {
  const std::string name = unique_name("above-max");
  constexpr std::size_t kMax = 64 << 10;
  auto c = Chan<std::string>::create(name, ChanOptions{.max_value_bytes = kMax});
  Chan<int> go;
  Proc receiver("receiver", [&] { receive_expecting_corruption(c, go); });
  Scribbler s(name);
  d::ValueRef ref{};
  ref.addr = kUnmapped;
  ref.src_pid = getpid();
  s.queue_sender(0, kMax + 1, ref);
  go.send(1);
  if (eventually([&] { return s.state(0) != d::kWaiting || !receiver.running(); })) {
    s.kill_owner(0);
  }
  if (receiver.running()) {
    EXPECT_EQ(c.send_for("after", kPatience), Status::ok);
  }
  EXPECT_TRUE(exits_with(receiver, 0));
}

// ---- the declared maximum ----------------------------------------------------------------

TEST(MaxValueBytes, ASendOfALongerValueIsRefusedBeforeItReachesTheChannel) {
  Chan<std::string> c(ChanOptions{.max_value_bytes = 100});
  EXPECT_THROW(c.send_for(std::string(101, 'x'), 0ns), std::invalid_argument);
  EXPECT_EQ(c.send_for(std::string(100, 'x'), 0ns), Status::timeout);
}

TEST(MaxValueBytes, AnOpenerTakesTheCreatorsMaximum) {
  const std::string name = unique_name("max-open");
  auto c = Chan<std::string>::create(name, ChanOptions{.max_value_bytes = 5000});
  auto o = Chan<std::string>::open(name);
  EXPECT_THROW(o.send_for(std::string(5001, 'x'), 0ns), std::invalid_argument);
  Proc receiver("receiver", [&] {
    std::string got;
    require(c.recv_for(got, kPatience) == Status::ok && got == std::string(5000, 'y'), "recv");
  });
  EXPECT_EQ(o.send_for(std::string(5000, 'y'), kPatience), Status::ok);
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(MaxValueBytes, AboveTwoToTheFortyIsRefusedAtCreation) {
  EXPECT_THROW(Chan<std::string>(ChanOptions{.max_value_bytes = (std::size_t{1} << 40) + 1}),
               ChannelError);
}

}  // namespace
