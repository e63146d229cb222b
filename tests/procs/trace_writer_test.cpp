// The tracer's writer against a trace file it cannot trust: a peer that rewrites the header's
// geometry after attach, and files planted under CERAMIC_TRACE by someone else.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <thread>

#include "ceramic/trace_format.hpp"
#include "support/test_support.hpp"

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::Proc;
using ceramic::Status;
namespace trace = ceramic::trace;

std::string temp_path(const std::string& what) {
  static int counter = 0;
  return "/tmp/ceramic-trace-writer-" + std::to_string(getpid()) + "-" +
         std::to_string(++counter) + "-" + what;
}

// Removes the file when the test ends.
struct Unlinked {
  std::string path;
  ~Unlinked() { unlink(path.c_str()); }
};

// trace::start(path) in a child (so that a tracer installed by mistake does not trace the rest
// of the tests): 1 if it attached, 0 if it refused.
int starts_in_child(const std::string& path) {
  Proc p("starter", [&] { _exit(trace::start(path) ? 1 : 0); });
  return p.join();
}

}  // namespace

// The writer copies the geometry once, at attach: offsets and capacities a peer writes into the
// header afterwards are never used (before: the next event wrote at the forged ring_off).
TEST(TraceWriter, AHeaderRewrittenAfterAttachNeverMovesTheWrites) {
  Unlinked file{temp_path("scribbled")};
  trace::create_file(file.path);
  Chan<int> attached;
  Chan<int> go;
  Proc traced("traced", [&] {
    if (!trace::start(file.path)) _exit(2);
    attached.send(1);
    (void)go.recv();
    // Every kind of write: a new channel, a rendezvous between two threads, a new thread's
    // entry, strings for new names and files.
    Chan<int> c;
    std::thread peer([&] { (void)c.recv(); });
    c.send(1);
    peer.join();
    Proc grandchild("grandchild", [] {});
    _exit(grandchild.join());
  });
  int one = 0;
  ASSERT_EQ(attached.recv_for(one, kPatience), Status::ok);

  int fd = open(file.path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  void* p = mmap(nullptr, sizeof(trace::FileHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(p, MAP_FAILED);
  auto& h = *static_cast<trace::FileHeader*>(p);
  h.ring_off = std::uint64_t{1} << 40;
  h.threads_off = std::uint64_t{1} << 41;
  h.channels_off = std::uint64_t{1} << 42;
  h.strings_off = std::uint64_t{1} << 43;
  h.ring_capacity = 0xffffffffu;
  h.max_threads = 0xffffffffu;
  h.max_channels = 0xffffffffu;
  h.string_bytes = 0xffffffffu;
  munmap(p, sizeof(trace::FileHeader));

  ASSERT_EQ(go.send_for(1, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(traced, 0)) << "the traced process used the forged geometry";
}

TEST(TraceWriter, AFileOthersMayWriteDoesNotReceiveTheTrace) {
  Unlinked file{temp_path("writable")};
  trace::create_file(file.path);
  ASSERT_EQ(starts_in_child(file.path), 1) << "a trace file of our own is accepted";
  ASSERT_EQ(chmod(file.path.c_str(), 0666), 0);
  EXPECT_EQ(starts_in_child(file.path), 0);
}

TEST(TraceWriter, AFileOfAnotherUserDoesNotReceiveTheTrace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file to another user";
  Unlinked file{temp_path("planted")};
  trace::create_file(file.path);
  ASSERT_EQ(chown(file.path.c_str(), 65534, 65534), 0);
  EXPECT_EQ(starts_in_child(file.path), 0);
}

TEST(TraceWriter, ASymlinkUnderTheNameDoesNotRedirectTheTrace) {
  Unlinked target{temp_path("target")};
  Unlinked link{temp_path("link")};
  trace::create_file(target.path);
  ASSERT_EQ(symlink(target.path.c_str(), link.path.c_str()), 0);
  EXPECT_EQ(starts_in_child(link.path), 0);
}
