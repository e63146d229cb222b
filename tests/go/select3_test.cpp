// Go's test/chan/select3.go, written again in ceramic's API: what must block blocks, what must
// not block does not, and a send on a closed channel fails (Go panics; ceramic's send and a
// select's send case throw ChannelClosed, send_for returns Status::closed).
//
// How blocking is observed without depending on timing: the operation runs in a goroutine
// (thread or Proc, see go_support.hpp) that reports its outcome on a buffered channel. "Blocks":
// no outcome within a short observation window (kWindow), then the test releases the operation
// (a partner arrives, or the channel is closed) and the outcome must be the release's, within
// the test's patience. A slow machine can only make the window see nothing, which is what a
// blocking operation shows anyway; the outcome after the release is what proves the operation
// was waiting on that channel and completed the right way. "Never blocks": the outcome must
// arrive within the test's patience (kPatience, 30 s), a bound only a real block reaches.
//
// Differences by design:
//   - Go's nil channel (never ready) is `never`, an unbuffered channel that nobody but the
//     operation holds. A send or receive on it blocks like one on nil; unlike nil, closing it
//     releases the operation, which is how the test ends each blocked goroutine and checks that
//     a blocked send fails (ChannelClosed) and a blocked receive reports closed when the channel
//     is closed under them.
//   - Go's three forms of a receive case on a closed channel (`<-c`, `x := <-c`, `x, ok := <-c`)
//     are one in ceramic: on_recv's callback gets std::nullopt. Go's `<-closedch` zero value is
//     ceramic's std::nullopt (recv) and Status::closed (recv_for, Go's ok == false).
//   - Go's empty `select {}` is ceramic::select(), which never returns: its goroutine can never
//     be released, so it runs in a Proc in both modes, is seen still waiting after the window,
//     then killed; its exit must be the kill's (128 + SIGKILL), not an exit of its own.
#include <csignal>
#include <functional>
#include <string>

#include "go_support.hpp"

namespace {

using namespace ceramic_go;
using namespace std::chrono_literals;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::ChannelClosed;
using ceramic::on_default;
using ceramic::on_recv;
using ceramic::on_send;
using ceramic::select;
using ceramic::Status;

// How long a blocking operation is watched before it is released (Go's test: 0.1 s).
constexpr auto kWindow = 100ms;

// What an operation did, as its goroutine reports it (trivially copyable: crosses processes).
struct Outcome {
  enum Kind : int { value, closed, threw_closed, fired } kind;
  int n;  // value: the value received; fired: the index of the select case that fired
};

std::string describe(const Outcome& o) {
  switch (o.kind) {
    case Outcome::value: return "received " + std::to_string(o.n);
    case Outcome::closed: return "reported closed";
    case Outcome::threw_closed: return "threw ChannelClosed";
    case Outcome::fired: return "fired case " + std::to_string(o.n);
  }
  return "?";
}

bool operator==(const Outcome& a, const Outcome& b) { return a.kind == b.kind && a.n == b.n; }

// Runs op in a goroutine; ChannelClosed thrown by op is its outcome threw_closed.
class Watched {
 public:
  Watched(std::string what, std::function<Outcome()> op) : what_(std::move(what)) {
    g_.go(what_, [this, op = std::move(op)] {
      Outcome o{Outcome::closed, 0};
      try {
        o = op();
      } catch (const ChannelClosed&) {
        o = Outcome{Outcome::threw_closed, 0};
      }
      require(put(result_, o), "result channel closed");
    });
  }
  // The outcome if op completes within `limit`.
  std::optional<Outcome> outcome_within(std::chrono::nanoseconds limit) {
    Outcome o{Outcome::closed, 0};
    Status st = result_.recv_for(o, limit);
    if (st == Status::ok) return o;
    require(st == Status::timeout, what_ + ": result channel: " + str(st));
    return std::nullopt;
  }
  std::string wait() { return g_.wait(); }
  const std::string& what() const { return what_; }

 private:
  std::string what_;
  Chan<Outcome> result_{ChanOptions{.capacity = 1}};
  Group g_;
};

// Go's testBlock(always, op): op has not completed after kWindow; release() ends the wait and
// then op's outcome must satisfy `want`.
void expect_blocks(const std::string& what, std::function<Outcome()> op,
                   const std::function<void()>& release,
                   const std::function<bool(const Outcome&)>& want, const char* wanted) {
  Watched w(what, std::move(op));
  if (std::optional<Outcome> early = w.outcome_within(kWindow)) {
    ADD_FAILURE() << kMode << ": " << what << ": did not block (" << describe(*early) << ")";
    release();  // in case the goroutine is still waiting on something else
  } else {
    release();
    std::optional<Outcome> o = w.outcome_within(kPatience);
    if (!o) {
      ADD_FAILURE() << kMode << ": " << what << ": not released within the test's patience";
    } else {
      EXPECT_TRUE(want(*o)) << kMode << ": " << what << ": after the release it "
                            << describe(*o) << ", want it " << wanted;
    }
  }
  EXPECT_EQ(w.wait(), "") << kMode << ": " << what;
}

// Go's testBlock(never, op): op completes within the test's patience, with outcome `want`.
void expect_does_not_block(const std::string& what, std::function<Outcome()> op, Outcome want) {
  Watched w(what, std::move(op));
  std::optional<Outcome> o = w.outcome_within(kPatience);
  if (!o) {
    ADD_FAILURE() << kMode << ": " << what << ": blocked for the test's patience";
  } else {
    EXPECT_EQ(*o, want) << kMode << ": " << what << ": it " << describe(*o) << ", want it "
                        << describe(want);
  }
  EXPECT_EQ(w.wait(), "") << kMode << ": " << what;
}

auto is(Outcome want) {
  return [want](const Outcome& o) { return o == want; };
}

// A receive-case callback that must never run (Go's unreachable()).
void unreachable_recv(std::optional<int>) { throw std::logic_error("unreachable case fired"); }
void unreachable() { throw std::logic_error("unreachable case fired"); }

TEST(GoSelect3, SendAndReceiveOnANeverReadyChannelBlock) {
  // nilch <- 7 and <-nilch: released by closing the channel under them.
  {
    Chan<int> never;
    expect_blocks("send on never", [&] { never.send(7); return Outcome{Outcome::fired, 0}; },
                  [&] { never.close(); }, is({Outcome::threw_closed, 0}), "throw ChannelClosed");
  }
  {
    Chan<int> never;
    expect_blocks(
        "receive on never",
        [&] {
          std::optional<int> v = never.recv();
          return v ? Outcome{Outcome::value, *v} : Outcome{Outcome::closed, 0};
        },
        [&] { never.close(); }, is({Outcome::closed, 0}), "report closed");
  }
}

TEST(GoSelect3, NeverReadyCasesBesideADefaultAreNeverChosen) {
  Chan<int> never;
  expect_does_not_block(
      "select { never <- 7; default }",
      [&] {
        return Outcome{Outcome::fired,
                       static_cast<int>(select(on_send(never, 7, unreachable), on_default([] {})))};
      },
      {Outcome::fired, 1});
  expect_does_not_block(
      "select { <-never; default }",
      [&] {
        return Outcome{Outcome::fired, static_cast<int>(select(on_recv(never, unreachable_recv),
                                                               on_default([] {})))};
      },
      {Outcome::fired, 1});
}

TEST(GoSelect3, SendWithFreeBufferSpaceDoesNotBlock) {
  expect_does_not_block(
      "send on a buffered channel with room",
      [] {
        Chan<int> ch(ChanOptions{.capacity = 1});
        ch.send(7);
        return Outcome{Outcome::value, *ch.recv()};
      },
      {Outcome::value, 7});
}

TEST(GoSelect3, ReceiveFromAClosedChannelDoesNotBlock) {
  Chan<int> closed_ch;
  closed_ch.close();
  expect_does_not_block(
      "ten receives from a closed channel",
      [&] {
        for (int i = 0; i < 10; ++i) {
          require(!closed_ch.recv().has_value(), "recv on a closed channel gave a value");
          int x = 99;
          Status st = closed_ch.recv_for(x, kPatience);
          require(st == Status::closed, "recv_for on a closed channel: " + str(st));
        }
        return Outcome{Outcome::closed, 0};
      },
      {Outcome::closed, 0});
}

TEST(GoSelect3, SendOnAClosedChannelFails) {
  Chan<int> closed_ch;
  closed_ch.close();
  expect_does_not_block(
      "send on a closed channel", [&] { closed_ch.send(7); return Outcome{Outcome::fired, 0}; },
      {Outcome::threw_closed, 0});
  expect_does_not_block(
      "send_for on a closed channel",
      [&] {
        Status st = closed_ch.send_for(7, kPatience);
        return st == Status::closed ? Outcome{Outcome::closed, 0} : Outcome{Outcome::fired, 0};
      },
      {Outcome::closed, 0});
}

TEST(GoSelect3, ReceiveFromANonReadyChannelBlocks) {
  Chan<int> ch;
  expect_blocks(
      "receive on an unbuffered channel",
      [&] {
        std::optional<int> v = ch.recv();
        return v ? Outcome{Outcome::value, *v} : Outcome{Outcome::closed, 0};
      },
      [&] { require(put(ch, 41), "closed"); }, is({Outcome::value, 41}),
      "receive the partner's 41");
}

TEST(GoSelect3, EmptySelectBlocksForever) {
  ceramic::Proc p("select {}", [] { select(); });
  std::optional<int> early = p.join_for(kWindow);
  EXPECT_FALSE(early.has_value()) << kMode << ": select {} returned, exit code " << *early;
  p.kill(SIGKILL);
  std::optional<int> code = p.join_for(kPatience);
  ASSERT_TRUE(code.has_value()) << kMode << ": select {} not ended by SIGKILL";
  if (!early) {
    EXPECT_EQ(*code, 128 + SIGKILL) << kMode << ": select {}";
  }
}

TEST(GoSelect3, SelectWithOnlyNeverReadyCasesBlocks) {
  // Released by closing `never`: the receive case fires with std::nullopt, the send case throws.
  {
    Chan<int> never;
    expect_blocks(
        "select { <-never }",
        [&] {
          std::optional<int> got = 1;
          std::size_t i = select(on_recv(never, [&](std::optional<int> v) { got = v; }));
          return got ? Outcome{Outcome::value, *got} : Outcome{Outcome::fired, static_cast<int>(i)};
        },
        [&] { never.close(); }, is({Outcome::fired, 0}), "fire its receive case, closed");
  }
  {
    Chan<int> never;
    expect_blocks(
        "select { never <- 7 }",
        [&] { return Outcome{Outcome::fired, static_cast<int>(select(on_send(never, 7, [] {})))}; },
        [&] { never.close(); }, is({Outcome::threw_closed, 0}), "throw ChannelClosed");
  }
  {
    // Both cases on one channel, as Go's test has it (nilch twice): closing it makes both
    // ready, and either may be chosen.
    Chan<int> never;
    expect_blocks(
        "select { <-never; never <- 7 }",
        [&] {
          std::optional<int> got = 1;
          std::size_t i = select(on_recv(never, [&](std::optional<int> v) { got = v; }),
                                 on_send(never, 7, [] {}));
          return got ? Outcome{Outcome::value, *got} : Outcome{Outcome::fired, static_cast<int>(i)};
        },
        [&] { never.close(); },
        [](const Outcome& o) {
          return o == Outcome{Outcome::fired, 0} || o == Outcome{Outcome::threw_closed, 0};
        },
        "fire its receive case (closed) or throw ChannelClosed");
  }
}

TEST(GoSelect3, SelectWithANonReadyChannelBlocks) {
  Chan<int> ch;
  expect_blocks(
      "select { <-ch }",
      [&] {
        int got = -1;
        select(on_recv(ch, [&](std::optional<int> v) { got = v.value_or(-2); }));
        return Outcome{Outcome::value, got};
      },
      [&] { require(put(ch, 43), "closed"); }, is({Outcome::value, 43}),
      "receive the partner's 43");
}

TEST(GoSelect3, SelectWithADefaultDoesNotBlock) {
  expect_does_not_block(
      "select { default }",
      [] { return Outcome{Outcome::fired, static_cast<int>(select(on_default([] {})))}; },
      {Outcome::fired, 0});
  // With never-ready cases beside the default: NeverReadyCasesBesideADefaultAreNeverChosen.
}

TEST(GoSelect3, SelectWithAReadyChannelDoesNotBlock) {
  expect_does_not_block(
      "select { ch <- 7; default } with room in ch",
      [] {
        Chan<int> ch(ChanOptions{.capacity = 1});
        std::size_t i = select(on_send(ch, 7, [] {}), on_default(unreachable));
        require(ch.recv() == std::optional<int>(7), "the buffered value is not 7");
        return Outcome{Outcome::fired, static_cast<int>(i)};
      },
      {Outcome::fired, 0});
  expect_does_not_block(
      "select { <-ch; default } with a value in ch",
      [] {
        Chan<int> ch(ChanOptions{.capacity = 1});
        ch.send(7);
        int got = -1;
        select(on_recv(ch, [&](std::optional<int> v) { got = v.value_or(-2); }),
               on_default(unreachable));
        return Outcome{Outcome::value, got};
      },
      {Outcome::value, 7});
}

TEST(GoSelect3, SelectOnAClosedChannelActsLikeTheOperation) {
  Chan<int> closed_ch;
  closed_ch.close();
  expect_does_not_block(
      "select { <-closed }",
      [&] {
        std::optional<int> got = 1;
        std::size_t i = select(on_recv(closed_ch, [&](std::optional<int> v) { got = v; }));
        return got ? Outcome{Outcome::value, *got} : Outcome{Outcome::fired, static_cast<int>(i)};
      },
      {Outcome::fired, 0});
  expect_does_not_block(
      "select { closed <- 7 }",
      [&] { return Outcome{Outcome::fired, static_cast<int>(select(on_send(closed_ch, 7, [] {})))}; },
      {Outcome::threw_closed, 0});
}

TEST(GoSelect3, SelectDoesNotMeetItself) {
  // A send and a receive case on one unbuffered channel: the select must not be its own partner.
  // Released by a receiver: the send case must fire and the receiver get its 1.
  Chan<int> c;
  expect_blocks(
      "select { c <- 1; <-c }",
      [&] {
        std::optional<int> got;
        std::size_t i = select(on_send(c, 1, [] {}),
                               on_recv(c, [&](std::optional<int> v) { got = v; }));
        return got ? Outcome{Outcome::value, *got} : Outcome{Outcome::fired, static_cast<int>(i)};
      },
      [&] {
        std::optional<int> v = take(c);
        require(v == std::optional<int>(1), "the receiver did not get the select's 1");
      },
      is({Outcome::fired, 0}), "fire its send case");
}

}  // namespace
