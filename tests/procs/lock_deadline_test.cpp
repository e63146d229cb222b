// A timed operation is bounded even when the channel lock is not released: its holder stopped,
// or a peer wrote a live process's identity into the lock word (the lock looks held by it
// forever).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "identity.hpp"  // core/src: process identities, as the lock word holds them
#include "layout.hpp"  // core/src: the region's layout, to play the scribbling peer
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::Proc;
using ceramic::Status;
using namespace std::chrono_literals;

// The header of the named channel `name`, mapped.
ceramic::detail::Header* map_header(const std::string& name) {
  int fd = shm_open(("/ceramic." + name).c_str(), O_RDWR, 0);
  if (fd < 0) return nullptr;
  void* p = mmap(nullptr, sizeof(ceramic::detail::Header), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<ceramic::detail::Header*>(p);
}

}  // namespace

TEST(LockDeadline, TimedOperationsEndAtTheirDeadlineWhileTheLockLooksHeld) {
  const std::string name = unique_name("held");
  auto c = Chan<int>::create(name);
  Chan<pid_t> ready;
  // A live process whose identity the scribbled lock word names: the lock looks held, by the
  // living.
  Proc holder("holder", [&] {
    ready.send(getpid());
    for (;;) pause();
  });
  pid_t pid = 0;
  ASSERT_EQ(ready.recv_for(pid, kPatience), Status::ok);
  auto id = ceramic::detail::identity_of(pid);
  ASSERT_TRUE(id.has_value());
  ceramic::detail::Header* h = map_header(name);
  ASSERT_NE(h, nullptr);
  const std::uint64_t saved = h->l.lock.load();
  h->l.lock.store(*id);

  // Before: pthread_mutex_lock waited for the lock forever, whatever the timeout.
  Proc sender("sender", [&] { _exit(static_cast<int>(c.send_for(1, 100ms))); });
  Proc receiver("receiver", [&] {
    int v = 0;
    _exit(static_cast<int>(c.recv_for(v, 100ms)));
  });
  auto s = sender.join_for(kPatience);
  auto r = receiver.join_for(kPatience);
  ASSERT_TRUE(s.has_value()) << "send_for(100ms) did not return while the lock looked held";
  ASSERT_TRUE(r.has_value()) << "recv_for(100ms) did not return while the lock looked held";
  EXPECT_EQ(*s, static_cast<int>(Status::timeout));
  EXPECT_EQ(*r, static_cast<int>(Status::timeout));

  h->l.lock.store(saved);  // the peer stops scribbling: the channel works again
  Proc again("again", [&] { c.send(7); });
  int v = 0;
  EXPECT_EQ(c.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(exits_with(again, 0));
  munmap(h, sizeof *h);
}
