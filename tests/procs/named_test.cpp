// Named channels: unrelated processes meet by name; creation is exclusive; names are validated;
// opening checks that the object is a ceramic channel of the right type; the creator removes
// the name.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "support/test_support.hpp"

extern char** environ;

namespace {

using namespace ceramic_test;
using ceramic::Chan;
using ceramic::ChanOptions;
using ceramic::ChannelError;
using ceramic::Proc;
using ceramic::Status;

// A name no other test (nor a concurrent run of this binary) uses.
// The file under /dev/shm that backs the named channel `name`. The prefix is discovered by
// creating a channel and looking for it, so that the tests follow the library's naming.
std::string shm_file(const std::string& name) {
  static const std::string prefix = [] {
    const std::string probe = unique_name("probe");
    auto c = Chan<int>::create(probe);
    std::string found = "ceramic.";
    if (DIR* d = opendir("/dev/shm")) {
      while (dirent* e = readdir(d)) {
        std::string entry = e->d_name;
        if (entry.size() > probe.size() &&
            entry.compare(entry.size() - probe.size(), probe.size(), probe) == 0) {
          found = entry.substr(0, entry.size() - probe.size());
        }
      }
      closedir(d);
    }
    return found;
  }();
  return "/dev/shm/" + prefix + name;
}

bool shm_exists(const std::string& name) { return access(shm_file(name).c_str(), F_OK) == 0; }

// Creates a shared-memory object under the library's prefix that is not a channel.
class ForeignObject {
 public:
  ForeignObject(const std::string& name, const std::string& bytes) : path_(shm_file(name)) {
    shm_name_ = "/" + path_.substr(std::string("/dev/shm/").size());
    int fd = shm_open(shm_name_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw std::runtime_error("shm_open " + shm_name_ + ": " + std::strerror(errno));
    if (!bytes.empty() && write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size())) {
      close(fd);
      throw std::runtime_error("write " + shm_name_);
    }
    close(fd);
  }
  ~ForeignObject() { shm_unlink(shm_name_.c_str()); }
  ForeignObject(const ForeignObject&) = delete;
  ForeignObject& operator=(const ForeignObject&) = delete;

 private:
  std::string path_;
  std::string shm_name_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs ceramic-test-named-peer (fork+exec: shares no memory with the test) and returns its
// exit code, or -1 if it did not finish within kPatience (it is then killed).
class Peer {
 public:
  Peer(const std::string& name, const std::string& mode) {
    std::string path = CERAMIC_TEST_NAMED_PEER;
    std::vector<char*> argv = {path.data(), const_cast<char*>(name.c_str()),
                               const_cast<char*>(mode.c_str()), nullptr};
    if (posix_spawn(&pid_, path.c_str(), nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~Peer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  int wait() {
    if (pid_ <= 0) return -1;
    if (!await_process_exit(pid_, kPatience)) return -1;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

TEST(Named, ChildOpensByNameAndExchangesValues) {
  const std::string name = unique_name("child");
  auto c = Chan<std::string>::create(name);
  Proc child("opener", [&] {
    auto mine = Chan<std::string>::open(name);
    std::string v;
    require(mine.recv_for(v, kPatience) == Status::ok, "recv");
    require(mine.send_for(v + " world", kPatience) == Status::ok, "send");
  });
  EXPECT_EQ(c.send_for("hello", kPatience), Status::ok);
  std::string back;
  EXPECT_EQ(c.recv_for(back, kPatience), Status::ok);
  EXPECT_EQ(back, "hello world");
  EXPECT_TRUE(exits_with(child, 0));
}

TEST(Named, UnrelatedProcessOpensByNameAndExchangesValues) {
  const std::string name = unique_name("exec");
  auto c = Chan<std::int64_t>::create(name);
  Peer peer(name, "echo");
  EXPECT_EQ(c.send_for(20, kPatience), Status::ok);
  std::int64_t back = 0;
  EXPECT_EQ(c.recv_for(back, kPatience), Status::ok);
  EXPECT_EQ(back, 41);
  EXPECT_EQ(peer.wait(), 0);
}

TEST(Named, UnrelatedProcessOpeningWithAnotherTypeGetsChannelError) {
  const std::string name = unique_name("exec-type");
  auto c = Chan<std::int64_t>::create(name);
  Peer peer(name, "wrong-type");
  EXPECT_EQ(peer.wait(), 0);
}

TEST(Named, UnrelatedProcessOpeningAMissingNameGetsChannelError) {
  Peer peer(unique_name("exec-missing"), "missing");
  EXPECT_EQ(peer.wait(), 0);
}

TEST(Named, OpenedHandleSharesCloseWithTheCreator) {
  const std::string name = unique_name("close");
  auto creator = Chan<int>::create(name);
  auto opener = Chan<int>::open(name);
  EXPECT_EQ(creator.id(), opener.id());
  opener.close();
  EXPECT_TRUE(creator.closed());
  EXPECT_EQ(creator.send_for(1, 0ns), Status::closed);
}

TEST(Named, OpenerSeesTheCreatorsCapacity) {
  const std::string name = unique_name("cap");
  auto creator = Chan<int>::create(name, ChanOptions{.capacity = 3});
  auto opener = Chan<int>::open(name);
  EXPECT_EQ(opener.capacity(), 3u);
  EXPECT_EQ(creator.send_for(5, 0ns), Status::ok);
  int v = 0;
  EXPECT_EQ(opener.recv_for(v, 0ns), Status::ok);
  EXPECT_EQ(v, 5);
}

TEST(Named, SecondCreateOfTheSameNameThrowsChannelError) {
  const std::string name = unique_name("twice");
  auto first = Chan<int>::create(name);
  EXPECT_THROW(Chan<int>::create(name), ChannelError);
  EXPECT_THROW(Chan<std::string>::create(name), ChannelError);
  // The failed create must not have removed the first channel's name.
  EXPECT_NO_THROW(Chan<int>::open(name));
}

TEST(Named, CreateInAChildOfAnExistingNameThrowsChannelError) {
  const std::string name = unique_name("twice-child");
  auto first = Chan<int>::create(name);
  Proc child("creator", [&] {
    try {
      auto second = Chan<int>::create(name);
    } catch (const ChannelError&) {
      return;
    }
    require(false, "a second create succeeded");
  });
  EXPECT_TRUE(exits_with(child, 0));
  EXPECT_TRUE(shm_exists(name));
}

TEST(Named, BadNamesThrowChannelErrorSayingWhatIsWrong) {
  const std::string bad[] = {"",        "/",          "a/b",          "/leading-slash",
                             ".hidden", "has space",  "tab\there",    "new\nline",
                             "star*",   "..",         "ünïcödé",      std::string(201, 'x'),
                             std::string("nul\0byte", 8)};
  for (const std::string& name : bad) {
    SCOPED_TRACE("name \"" + name + "\" (" + std::to_string(name.size()) + " chars)");
    try {
      auto c = Chan<int>::create(name);
      ADD_FAILURE() << "create accepted a bad name";
    } catch (const ChannelError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("name"), std::string::npos) << "unclear message: " << what;
    }
    EXPECT_THROW(Chan<int>::open(name), ChannelError);
  }
}

TEST(Named, LongestAndPunctuatedValidNamesAreAccepted) {
  std::string longest = unique_name("long");
  longest += std::string(200 - longest.size(), 'y');
  ASSERT_EQ(longest.size(), 200u);
  const std::string names[] = {longest, unique_name("a.b_C-9"), unique_name("x") + "..y"};
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    EXPECT_NO_THROW({
      auto c = Chan<int>::create(name);
      auto o = Chan<int>::open(name);
    });
  }
}

TEST(Named, OpeningAMissingNameThrowsChannelError) {
  const std::string name = unique_name("missing");
  try {
    auto c = Chan<int>::open(name);
    ADD_FAILURE() << "open of a missing name succeeded";
  } catch (const ChannelError& e) {
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos)
        << "the message should name the channel: " << e.what();
  }
}

TEST(Named, OpeningWithAnotherTypeThrowsChannelError) {
  const std::string name = unique_name("type");
  auto c = Chan<std::uint32_t>::create(name);
  EXPECT_THROW(Chan<float>::open(name), ChannelError) << "same size, another type";
  EXPECT_THROW(Chan<std::int32_t>::open(name), ChannelError) << "same size, other signedness";
  EXPECT_THROW(Chan<std::uint64_t>::open(name), ChannelError);
  EXPECT_THROW(Chan<std::string>::open(name), ChannelError);
  EXPECT_NO_THROW(Chan<std::uint32_t>::open(name));
}

TEST(Named, OpeningAStringChannelAsAFixedSizeTypeThrowsChannelError) {
  const std::string name = unique_name("string");
  auto c = Chan<std::string>::create(name);
  EXPECT_THROW(Chan<char>::open(name), ChannelError);
  EXPECT_THROW(Chan<int>::open(name), ChannelError);
}

TEST(Named, OpeningAForeignSharedMemoryObjectThrowsChannelError) {
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::string garbage(64 * 1024, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = char(splitmix64(i));
  const Case cases[] = {{"empty", ""},
                        {"tiny", "ceramic"},
                        {"a page of 0xAB", std::string(4096, '\xAB')},
                        {"64 KiB of random bytes", garbage},
                        {"a page of zeros", std::string(4096, '\0')}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string name = unique_name("foreign");
    ForeignObject object(name, c.bytes);
    ASSERT_TRUE(shm_exists(name)) << "the test did not find the library's shm prefix";
    EXPECT_THROW(Chan<int>::open(name), ChannelError);
    EXPECT_THROW(Chan<std::string>::open(name), ChannelError);
  }
}

TEST(Named, OpeningATruncatedOrPaddedCopyOfAChannelThrowsChannelError) {
  const std::string real = unique_name("real");
  auto c = Chan<int>::create(real, ChanOptions{.capacity = 4});
  const std::string image = read_file(shm_file(real));
  ASSERT_GT(image.size(), 0u);
  {
    const std::string name = unique_name("truncated");
    ForeignObject object(name, image.substr(0, image.size() / 2));
    EXPECT_THROW(Chan<int>::open(name), ChannelError);
  }
  {
    const std::string name = unique_name("padded");
    ForeignObject object(name, image + std::string(image.size(), '\0'));
    EXPECT_THROW(Chan<int>::open(name), ChannelError);
  }
}

TEST(Named, ChannelIsCreatedReadableOnlyByItsOwner) {
  const std::string name = unique_name("mode");
  mode_t old_umask = umask(0);  // the library must not rely on the umask
  auto c = Chan<int>::create(name);
  umask(old_umask);
  struct stat st {};
  ASSERT_EQ(stat(shm_file(name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Named, NameIsRemovedWhenTheCreatorsHandleIsDestroyed) {
  const std::string name = unique_name("gone");
  {
    auto c = Chan<int>::create(name);
    auto copy = c;
    EXPECT_TRUE(shm_exists(name));
    { auto c2 = std::move(c); }
    EXPECT_TRUE(shm_exists(name)) << "removed while a copy of the handle was alive";
  }
  EXPECT_FALSE(shm_exists(name));
  EXPECT_THROW(Chan<int>::open(name), ChannelError);
  EXPECT_NO_THROW(Chan<int>::create(name)) << "the name can be created again";
}

TEST(Named, ChildDroppingItsInheritedHandleDoesNotRemoveTheName) {
  const std::string name = unique_name("inherited");
  std::optional<Chan<int>> c = Chan<int>::create(name);
  Proc child("dropper", [&] { c.reset(); });  // the child's copy of the last handle
  EXPECT_TRUE(exits_with(child, 0));
  EXPECT_TRUE(shm_exists(name));
  EXPECT_NO_THROW(Chan<int>::open(name));
  c.reset();
  EXPECT_FALSE(shm_exists(name));
}

TEST(Named, OpenersKeepTalkingAfterTheCreatorDropsItsHandle) {
  const std::string name = unique_name("orphan");
  std::optional<Chan<int>> creator = Chan<int>::create(name);
  Chan<int> opened;  // each child reports here once it has opened the named channel
  Chan<int> result;
  Chan<int> go;
  Proc sender("sender", [&] {
    auto c = Chan<int>::open(name);
    require(opened.send_for(1, kPatience) == Status::ok, "report opened");
    int v = 0;
    require(go.recv_for(v, kPatience) == Status::ok, "go");
    require(c.send_for(77, kPatience) == Status::ok, "send on orphaned name");
  });
  Proc receiver("receiver", [&] {
    auto c = Chan<int>::open(name);
    require(opened.send_for(1, kPatience) == Status::ok, "report opened");
    int v = 0;
    require(c.recv_for(v, kPatience) == Status::ok, "recv on orphaned name");
    require(result.send_for(v, kPatience) == Status::ok, "report");
  });
  int v = 0;
  ASSERT_EQ(opened.recv_for(v, kPatience), Status::ok);
  ASSERT_EQ(opened.recv_for(v, kPatience), Status::ok);
  creator.reset();
  EXPECT_FALSE(shm_exists(name));
  EXPECT_EQ(go.send_for(1, kPatience), Status::ok);
  EXPECT_EQ(result.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 77);
  EXPECT_TRUE(exits_with(sender, 0));
  EXPECT_TRUE(exits_with(receiver, 0));
}

TEST(Named, ManyNamedChannelsCanCoexist) {
  std::vector<Chan<int>> channels;
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) {
    names.push_back(unique_name("many"));
    channels.push_back(Chan<int>::create(names.back(), ChanOptions{.capacity = 1}));
  }
  for (int i = 0; i < 50; ++i) ASSERT_EQ(channels[i].send_for(i, 0ns), Status::ok);
  for (int i = 0; i < 50; ++i) {
    int v = -1;
    EXPECT_EQ(Chan<int>::open(names[i]).recv_for(v, 0ns), Status::ok);
    EXPECT_EQ(v, i);
  }
  channels.clear();
  for (const std::string& n : names) EXPECT_FALSE(shm_exists(n)) << n;
}

}  // namespace

namespace {

// ChannelError's message, or "" when f() does not throw it.
template <typename F>
std::string channel_error_of(F f) {
  try {
    f();
  } catch (const ChannelError& e) {
    return e.what();
  }
  return "";
}

// A creator that makes `name` (capacity 2, one value buffered in it), says so, and hangs until
// it is killed: the killed server of a restart.
Proc killed_later_creator(const std::string& name, Chan<int>& ready) {
  return Proc("creator", [name, &ready] {
    auto c = Chan<int>::create(name, ChanOptions{.capacity = 2});
    c.send(7);  // left in the buffer when the creator dies
    ready.send(1);
    for (;;) pause();
  });
}

}  // namespace

TEST(NamedOwnership, OpenRefusesAChannelOthersMayWrite) {
  const std::string name = unique_name("writable");
  auto c = Chan<int>::create(name);
  ASSERT_EQ(chmod(shm_file(name).c_str(), 0666), 0);
  std::string why = channel_error_of([&] { (void)Chan<int>::open(name); });
  EXPECT_NE(why.find("writable by other users (mode 0666)"), std::string::npos) << why;
  EXPECT_NE(why.find("allow_foreign_owner"), std::string::npos) << why;
  EXPECT_NO_THROW(Chan<int>::open(name, ceramic::OpenOptions{.allow_foreign_owner = true}));
}

TEST(NamedOwnership, OpenRefusesAChannelOfAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the object to another user";
  const std::string name = unique_name("foreign-owner");
  auto c = Chan<int>::create(name);
  ASSERT_EQ(chown(shm_file(name).c_str(), 65534, 65534), 0);
  std::string why = channel_error_of([&] { (void)Chan<int>::open(name); });
  EXPECT_NE(why.find("belongs to uid 65534"), std::string::npos) << why;
  auto opened = Chan<int>::open(name, ceramic::OpenOptions{.allow_foreign_owner = true});
  Proc sender("sender", [&] { c.send(5); });
  int v = 0;
  EXPECT_EQ(opened.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 5);
  EXPECT_TRUE(exits_with(sender, 0));
}

TEST(NamedReclaim, AKilledCreatorsNameIsReclaimedEmptyByCreate) {
  const std::string name = unique_name("restart");
  Chan<int> ready;
  Proc creator = killed_later_creator(name, ready);
  int one = 0;
  ASSERT_EQ(ready.recv_for(one, kPatience), Status::ok);
  creator.kill(SIGKILL);
  EXPECT_EQ(creator.join(), 128 + SIGKILL);
  ASSERT_TRUE(shm_exists(name)) << "the killed creator's destructor never ran";

  std::string why = channel_error_of([&] { (void)Chan<int>::open(name); });
  EXPECT_NE(why.find("held by no live process"), std::string::npos) << why;

  auto fresh = Chan<int>::create(name, ChanOptions{.capacity = 2});  // the restarted server
  int v = 0;
  EXPECT_EQ(fresh.recv_for(v, std::chrono::milliseconds(0)), Status::timeout)
      << "the old channel's buffered value reached the new one: " << v;
  auto opened = Chan<int>::open(name);
  ASSERT_EQ(opened.send_for(8, kPatience), Status::ok);
  ASSERT_EQ(fresh.recv_for(v, kPatience), Status::ok);
  EXPECT_EQ(v, 8);
}

TEST(NamedReclaim, ANameALiveOpenerStillHoldsIsNotReclaimed) {
  const std::string name = unique_name("held");
  Chan<int> ready;
  Chan<int> opened;
  Chan<int> done;
  Proc creator = killed_later_creator(name, ready);
  int one = 0;
  ASSERT_EQ(ready.recv_for(one, kPatience), Status::ok);
  Proc opener("opener", [&] {
    auto c = Chan<int>::open(name);
    opened.send(1);
    int v = 0;
    (void)done.recv_for(v, kPatience);
  });
  ASSERT_EQ(opened.recv_for(one, kPatience), Status::ok);
  creator.kill(SIGKILL);
  EXPECT_EQ(creator.join(), 128 + SIGKILL);

  std::string why = channel_error_of([&] { (void)Chan<int>::create(name); });
  EXPECT_NE(why.find("exists already"), std::string::npos) << why;
  auto second = Chan<int>::open(name);  // the opener still holds it: a live channel
  int v = 0;
  EXPECT_EQ(second.recv_for(v, kPatience), Status::ok) << "the buffered value is still there";
  EXPECT_EQ(v, 7);

  ASSERT_EQ(done.send_for(1, kPatience), Status::ok);
  EXPECT_TRUE(exits_with(opener, 0));
  EXPECT_TRUE(shm_exists(name));
  // `second` is ours: the name is still held, by this process.
  EXPECT_NE(channel_error_of([&] { (void)Chan<int>::create(name); }).find("exists already"),
            std::string::npos);
}

TEST(NamedReclaim, UnfinishedDebrisNobodyHoldsIsReclaimedAfterASecond) {
  const std::string name = unique_name("debris");
  ForeignObject object(name, std::string(4096, '\0'));  // a creator killed before it published
  EXPECT_NO_THROW(Chan<int>::create(name)) << "unfinished debris nobody holds stays forever";
}

// A pid names a process only inside its pid namespace: a channel's slots name peers by pid, so
// a process of another pid namespace (another container sharing /dev/shm) must not attach.
TEST(NamedNamespaces, AProcessOfAnotherPidNamespaceCannotOpen) {
  const std::string name = unique_name("pidns");
  auto c = Chan<int>::create(name);
  Proc outer("outer", [&] {
    if (unshare(CLONE_NEWPID) != 0) _exit(77);  // needs CAP_SYS_ADMIN
    Proc inner("inner", [&] {  // pid 1 of the new namespace
      try {
        (void)Chan<int>::open(name);
        _exit(1);
      } catch (const ChannelError& e) {
        _exit(std::string(e.what()).find("another pid namespace") != std::string::npos ? 0 : 2);
      }
    });
    _exit(inner.join());
  });
  int code = outer.join();
  if (code == 77) GTEST_SKIP() << "cannot make a pid namespace here (needs CAP_SYS_ADMIN)";
  EXPECT_EQ(code, 0) << "1: opened across pid namespaces; 2: refused for another reason";
  EXPECT_NO_THROW(Chan<int>::open(name)) << "the same namespace still opens it";
}
