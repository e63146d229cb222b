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

std::string unique_name(const std::string& what) {
  static int counter = 0;
  return "test-" + std::to_string(getpid()) + "-sellock-" + std::to_string(++counter) + "-" + what;
}

// The header of the named channel `name`, mapped.
ceramic::detail::Header* map_header(const std::string& name) {
  int fd = shm_open(("/ceramic." + name).c_str(), O_RDWR, 0);
  if (fd < 0) return nullptr;
  void* p = mmap(nullptr, sizeof(ceramic::detail::Header), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<ceramic::detail::Header*>(p);
}

constexpr int kTimedOut = 2;  // the index of on_timeout in the selects below

}  // namespace

TEST(SelectLockDeadline, SelectWithATimeoutEndsAtItsDeadlineWhileALockLooksHeld) {
  const std::string name = unique_name("held");
  auto c = Chan<int>::create(name);
  Chan<int> other;  // never ready, lock free: only c's lock is stuck
  Chan<pid_t> ready;
  // A live process whose identity the scribbled lock word names: the lock looks held, by the
  // living.
  Proc holder("holder", [&] {
    ready.send(getpid());
    for (;;) pause();
  });
  pid_t pid = 0;
  ASSERT_EQ(ready.recv_for(pid, kPatience), ceramic::Status::ok);
  auto id = ceramic::detail::identity_of(pid);
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
