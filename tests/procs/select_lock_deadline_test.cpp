// A select with a timeout is bounded by it even when a case's channel lock is not released: its
// holder stopped, or a peer wrote a live thread's id into the lock word (the lock looks held by
// it forever). As send_for and recv_for are (lock_deadline_test.cpp).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <optional>

#include "identity.hpp"  // core/src: process identities, as the lock word holds them
#include "layout.hpp"  // core/src: the region's layout, to play the scribbling peer
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::Proc;
using namespace std::chrono_literals;

// The header of the named channel `name`, mapped.
ceramic::detail::Header* map_header(const std::string& name) {
  int fd = shm_open(("/ceramic." + name).c_str(), O_RDWR, 0);
  if (fd < 0) return nullptr;
  void* p = mmap(nullptr, sizeof(ceramic::detail::Header), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<ceramic::detail::Header*>(p);
}

constexpr int kTimedOut = 2;  // the index of on_timeout in the selects below

// Starts a live process (it pauses until killed) in holder and returns its identity, for a
// scribbled lock word to name: the lock then looks held, by the living.
std::optional<std::uint64_t> start_live_process(std::optional<Proc>& holder) {
  Chan<pid_t> ready;
  holder.emplace("holder", [ready]() mutable {
    ready.send(getpid());
    for (;;) pause();
  });
  pid_t pid = 0;
  if (ready.recv_for(pid, kPatience) != ceramic::Status::ok) return std::nullopt;
  return ceramic::detail::identity_of(pid);
}

}  // namespace

TEST(SelectLockDeadline, SelectWithATimeoutEndsAtItsDeadlineWhileALockLooksHeld) {
  const std::string name = unique_name("held");
  auto c = Chan<int>::create(name);
  Chan<int> other;  // never ready, lock free: only c's lock is stuck
  std::optional<Proc> holder;
  const std::optional<std::uint64_t> id = start_live_process(holder);
  ASSERT_TRUE(id.has_value());
  ceramic::detail::Header* h = map_header(name);
  ASSERT_NE(h, nullptr);
  const std::uint64_t saved = h->l.lock.load();
  h->l.lock.store(*id);

  // Before: the select took c's lock with pthread_mutex_lock, waiting for ever whatever its
  // timeout. A receive case and a send case, each with c first and second in the cases.
  Proc receiver("receiver", [&] {
    _exit(static_cast<int>(ceramic::select(ceramic::on_recv(c, [](std::optional<int>) {}),
                                           ceramic::on_recv(other, [](std::optional<int>) {}),
                                           ceramic::on_timeout(100ms, [] {}))));
  });
  Proc sender("sender", [&] {
    _exit(static_cast<int>(ceramic::select(ceramic::on_recv(other, [](std::optional<int>) {}),
                                           ceramic::on_send(c, 1, [] {}),
                                           ceramic::on_timeout(100ms, [] {}))));
  });
  auto r = receiver.join_for(kPatience);
  auto s = sender.join_for(kPatience);
  ASSERT_TRUE(r.has_value()) << "select(recv, recv, 100ms) did not return while a lock looked held";
  ASSERT_TRUE(s.has_value()) << "select(recv, send, 100ms) did not return while a lock looked held";
  EXPECT_EQ(*r, kTimedOut);
  EXPECT_EQ(*s, kTimedOut);

  h->l.lock.store(saved);  // the peer stops scribbling: the channel works again
  Proc again("again", [&] { c.send(7); });
  int got = 0;
  const std::size_t fired = ceramic::select(ceramic::on_recv(c, [&](std::optional<int> v) { got = v.value_or(0); }),
                                            ceramic::on_recv(other, [](std::optional<int>) {}),
                                            ceramic::on_timeout(kPatience, [] {}));
  EXPECT_EQ(fired, 0u);
  EXPECT_EQ(got, 7);
  EXPECT_TRUE(exits_with(again, 0));
  munmap(h, sizeof *h);
}

// The select queued its cases with every lock free; while it waits, a case's lock comes to look
// held for ever. At its timeout it must withdraw that case's slot: by the lock taken by the
// deadline plus the grace, else by one compare-and-swap without it (before: it waited for the
// lock for ever). The channel then works again once the lock is free.
TEST(SelectLockDeadline, SelectWithATimeoutWithdrawsItsCasesWhileALockLooksHeld) {
  const std::string name = unique_name("settle");
  auto c = Chan<int>::create(name);
  Chan<int> other;
  std::optional<Proc> holder;
  const std::optional<std::uint64_t> id = start_live_process(holder);
  ASSERT_TRUE(id.has_value());
  ceramic::detail::Header* h = map_header(name);
  ASSERT_NE(h, nullptr);

  Proc selecter("selecter", [&] {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t fired = ceramic::select(ceramic::on_recv(c, [](std::optional<int>) {}),
                                              ceramic::on_recv(other, [](std::optional<int>) {}),
                                              ceramic::on_timeout(300ms, [] {}));
    const auto took = std::chrono::steady_clock::now() - start;
    require(fired == static_cast<std::size_t>(kTimedOut), "the select timed out");
    require(took < 300ms + 1s + 2s, "the select ended by its deadline plus the grace (and slack)");
  });
  // Queued on c (its lock was free): its slot's bit in c's receive queue.
  ASSERT_TRUE(eventually([&] { return __atomic_load_n(&h->l.recv_mask0, __ATOMIC_ACQUIRE) != 0; }));
  const std::uint64_t saved = h->l.lock.load();
  ASSERT_EQ(saved, 0u);
  h->l.lock.store(*id);  // from now on c's lock looks held by a live process
  auto r = selecter.join_for(kPatience);
  h->l.lock.store(saved);
  ASSERT_TRUE(r.has_value()) << "the select did not return while a lock looked held";
  EXPECT_EQ(*r, 0);

  // Its withdrawn slot is gone from c for the next operations (its queue bit, left set, is
  // dropped by the next dequeue): a send meets the next receiver, not the withdrawn select.
  Proc again("again", [&] { c.send(7); });
  int got = 0;
  EXPECT_EQ(c.recv_for(got, kPatience), ceramic::Status::ok);
  EXPECT_EQ(got, 7);
  EXPECT_TRUE(exits_with(again, 0));
  munmap(h, sizeof *h);
}
