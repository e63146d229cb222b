// The simulator's model on its own, without forking: which transitions are enabled in a state,
// and what applying one does (sim/src/model.hpp). The states are built by hand, as the
// explorer would build them from the processes' mailboxes.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "model.hpp"

namespace {

using namespace ceramic::sim::detail;
using K = Transition::Kind;

constexpr std::uint64_t kA = 11, kB = 22;

class ModelTest : public ::testing::Test {
 protected:
  Model m;

  void SetUp() override {
    chan(kA, 0, "main#1");
    chan(kB, 0, "main#2");
  }
  void TearDown() override { EXPECT_EQ(m.check_invariants(), ""); }

  void chan(std::uint64_t id, std::size_t capacity, const std::string& label) {
    Chan c;
    c.id = id;
    c.label = label;
    c.capacity = capacity;
    m.chans.emplace(id, c);
  }
  int task(const std::string& name, int parent = -1) {
    Task t;
    t.index = static_cast<int>(m.tasks.size());
    t.parent = parent;
    t.name = name;
    t.pid = 100 + t.index;
    t.box = t.index;
    m.tasks.push_back(t);
    return t.index;
  }
  static Case send_case(std::uint64_t ch, std::string value = "v") {
    Case c;
    c.kind = CaseKind::send;
    c.channel = ch;
    c.value = std::move(value);
    return c;
  }
  static Case recv_case(std::uint64_t ch) {
    Case c;
    c.kind = CaseKind::recv;
    c.channel = ch;
    return c;
  }
  void park(int t, OpKind op, std::vector<Case> cases, std::int64_t timeout_ns = -1) {
    Pending p;
    p.op = op;
    p.cases = std::move(cases);
    for (std::size_t i = 0; i < p.cases.size(); ++i) {
      if (p.cases[i].kind == CaseKind::fallback) p.has_fallback = p.poll = true;
    }
    if (timeout_ns >= 0) {
      p.timed = true;
      p.poll = p.poll || timeout_ns == 0;
      p.deadline = m.now + timeout_ns;
    }
    m.tasks[t].pending = p;
    m.tasks[t].state = TaskState::parked;
  }
  void park_select_with_default(int t, Case c) {
    Case d;
    d.kind = CaseKind::fallback;
    park(t, OpKind::select, {std::move(c), d});
  }
  bool has(const std::vector<Transition>& e, K kind, int t) {
    return std::any_of(e.begin(), e.end(),
                       [&](const Transition& x) { return x.kind == kind && x.task == t; });
  }
};

TEST_F(ModelTest, ADefaultMayRunWhileABlockingPartnerIsParkedOrMeetIt) {
  int poller = task("poller"), sender = task("sender");
  park_select_with_default(poller, recv_case(kA));
  park(sender, OpKind::send, {send_case(kA)});
  auto e = m.enabled();
  EXPECT_TRUE(has(e, K::fallback, poller));   // the sender may not have arrived yet
  EXPECT_TRUE(has(e, K::pair, sender));       // or it had, and the poll finds it
}

TEST_F(ModelTest, TwoNonBlockingOperationsNeverMeet) {
  int a = task("a"), b = task("b");
  park_select_with_default(a, send_case(kA));
  park(b, OpKind::recv, {recv_case(kA)}, 0);   // recv_for(0): tries once
  auto e = m.enabled();
  EXPECT_FALSE(has(e, K::pair, a));
  EXPECT_TRUE(has(e, K::fallback, a));
  EXPECT_TRUE(has(e, K::fallback, b));
}

TEST_F(ModelTest, ABufferedValueMakesADefaultImpossible) {
  chan(33, 1, "main#3");
  m.chans.at(33).buffer.push_back("x");
  int poller = task("poller");
  park_select_with_default(poller, recv_case(33));
  auto e = m.enabled();
  EXPECT_TRUE(has(e, K::pop, poller));
  EXPECT_FALSE(has(e, K::fallback, poller));
}

TEST_F(ModelTest, ABlockedTimedWaitMayTimeOutWhileItsPartnerIsThere) {
  int r = task("receiver"), s = task("sender");
  park(r, OpKind::recv, {recv_case(kA)}, 1000000);
  park(s, OpKind::send, {send_case(kA)});
  auto e = m.enabled();
  EXPECT_TRUE(has(e, K::pair, s));
  EXPECT_TRUE(has(e, K::timeout, r));
  m.timeouts = ceramic::sim::Timeouts::when_idle;
  e = m.enabled();
  EXPECT_TRUE(has(e, K::pair, s));
  EXPECT_FALSE(has(e, K::timeout, r)) << "when_idle: only when nothing else can happen";
}

TEST_F(ModelTest, DeadlinesKeepTheirOrder) {
  int early = task("early"), late = task("late");
  park(late, OpKind::recv, {recv_case(kA)}, 5000000);
  park(early, OpKind::recv, {recv_case(kB)}, 1000000);
  auto e = m.enabled();
  EXPECT_TRUE(has(e, K::timeout, early));
  EXPECT_FALSE(has(e, K::timeout, late));
  Transition t = *std::find_if(e.begin(), e.end(), [&](const Transition& x) { return x.kind == K::timeout; });
  Effects fx = m.apply(t);
  EXPECT_EQ(m.now, 1000000);
  ASSERT_EQ(fx.replies.size(), 1u);
  EXPECT_EQ(fx.replies[0].status, ceramic::Status::timeout);
  EXPECT_TRUE(has(m.enabled(), K::timeout, late));
}

TEST_F(ModelTest, APairCarriesTheValueAndReleasesBoth) {
  int r = task("receiver"), s = task("sender");
  park(r, OpKind::recv, {recv_case(kA)});
  park(s, OpKind::send, {send_case(kA, "hello")});
  auto e = m.enabled();
  ASSERT_EQ(e.size(), 1u);
  Effects fx = m.apply(e[0]);
  ASSERT_EQ(fx.replies.size(), 2u);
  EXPECT_EQ(fx.replies[0].task, s);
  EXPECT_EQ(fx.replies[1].task, r);
  EXPECT_TRUE(fx.replies[1].has_value);
  EXPECT_EQ(fx.replies[1].value, "hello");
  EXPECT_EQ(m.tasks[r].state, TaskState::running);
  EXPECT_EQ(m.tasks[s].state, TaskState::running);
  EXPECT_EQ(m.tasks[r].last_peer, s);
}

TEST_F(ModelTest, CloseReleasesAWaitingReceiverWithClosed) {
  int r = task("receiver"), c = task("closer");
  park(r, OpKind::recv, {recv_case(kA)});
  park(c, OpKind::close, {});
  m.tasks[c].pending.channel = kA;
  auto e = m.enabled();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kind, K::close);
  m.apply(e[0]);
  e = m.enabled();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].kind, K::closed);
  Effects fx = m.apply(e[0]);
  EXPECT_EQ(fx.replies[0].status, ceramic::Status::closed);
}

TEST_F(ModelTest, AWatchedExitIsAChoiceAndAnUnwatchedOneIsNot) {
  int main = task("main"), child = task("child", 0);
  park(child, OpKind::exit, {});
  EXPECT_TRUE(m.invisible(m.tasks[child]));
  park(main, OpKind::running, {});
  m.tasks[main].pending.target = m.tasks[child].pid;
  EXPECT_FALSE(m.invisible(m.tasks[child]));
  auto e = m.enabled();
  EXPECT_TRUE(has(e, K::exit, child));
  EXPECT_TRUE(has(e, K::query, main));   // running() may still see it running
}

TEST_F(ModelTest, AnExitEndsWhatTheTaskStartedAndLeftRunning) {
  int main = task("main"), child = task("child", 0), grandchild = task("grandchild", 1);
  park(child, OpKind::recv, {recv_case(kA)});
  park(grandchild, OpKind::send, {send_case(kB)});
  park(main, OpKind::exit, {});
  Effects fx = m.apply_invisible(main);
  EXPECT_EQ(m.tasks[main].state, TaskState::exited);
  EXPECT_EQ(m.tasks[child].state, TaskState::ended);
  EXPECT_EQ(m.tasks[grandchild].state, TaskState::ended);
  EXPECT_EQ(fx.ended.size(), 2u);
}

TEST_F(ModelTest, TheSecondOfTwoReadyCasesIsATransitionOfItsOwn) {
  int s = task("selector"), p = task("partner");
  park(s, OpKind::select, {send_case(kA), send_case(kB)});
  park(p, OpKind::select, {recv_case(kA), recv_case(kB)});
  auto e = m.enabled();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].case_index, 0);
  EXPECT_EQ(e[1].case_index, 1);
  EXPECT_EQ(e[1].partner_case, 1);
}

}  // namespace
