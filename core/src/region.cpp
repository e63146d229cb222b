#include "region.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>
#include <tuple>
#include <utility>

#include "ceramic/detail/futex.hpp"

namespace ceramic::detail {
namespace {

constexpr std::size_t round_up(std::size_t v, std::size_t a) { return (v + a - 1) / a * a; }

[[noreturn]] void fail(const std::string& what) { throw ChannelError("ceramic: " + what); }
[[noreturn]] void fail_errno(const std::string& what, int err) {
  fail(what + ": " + std::strerror(err));
}

std::uint64_t random_id() {
  std::uint64_t v = 0;
  if (getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
    v = static_cast<std::uint64_t>(now_ns()) ^ (static_cast<std::uint64_t>(getpid()) << 32);
  }
  return v == 0 ? 1 : v;
}

// Holding a named channel. Every process that holds a named channel (it created or opened it,
// or inherited a handle by fork) shares an open file description of its object that carries an
// OFD read lock on byte 0. The lock lasts while any process keeps that description open, so "no
// live process holds the channel" is exactly "a write lock can be taken" (whatever pids were
// reused meanwhile). Read locks are taken right after the object is opened (by the creator, right
// after O_EXCL made it); write locks only ever probe, briefly. A reclaimer (create() of a name no
// live process holds) unlinks the name only while holding the write lock, and only after
// checking that the object it locked still has that name (st_nlink): the creator's destructor
// unlinks while it holds its read lock, so the two never unlink the same name.
constexpr int kLockAttempts = 1000;  // 1 ms apart: a probe holds a write lock for microseconds

bool set_lock(int fd, short type) noexcept {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  int rc;
  while ((rc = fcntl(fd, F_OFD_SETLK, &fl)) != 0 && errno == EINTR) {
  }
  return rc == 0;
}

void pause_1ms() noexcept {
  timespec ts{0, 1000000};
  nanosleep(&ts, nullptr);
}

// The same user, and nobody else may write it: anything else is a peer who can scribble on the
// channel (see the threat model in layout.hpp).
std::string foreign_reason(const struct stat& st) {
  if (st.st_uid != geteuid()) {
    return "belongs to uid " + std::to_string(st.st_uid) + ", not to this process's uid " +
           std::to_string(geteuid());
  }
  if ((st.st_mode & 0022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::string("is writable by other users (mode ") + mode + ")";
  }
  return {};
}

// Reads the magic word of an object at least a header long, without keeping a mapping.
std::uint64_t peek_magic(int fd) noexcept {
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < sizeof(Header)) return 0;
  void* p = mmap(nullptr, sizeof(Header), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 0;
  std::uint64_t m = static_cast<Header*>(p)->info.magic.load(std::memory_order_acquire);
  munmap(p, sizeof(Header));
  return m;
}

// create() found the name taken. Removes it if no live process holds the object and it is a
// finished channel (or debris that stayed unfinished for a whole second: a creator killed between
// creating and publishing). Returns false when it must stay: a live holder, a creator still
// initialising, or another user's object.
bool reclaim(const std::string& shm_name) {
  for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
    int fd = shm_open(shm_name.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) return errno == ENOENT;  // gone meanwhile: create again
    struct stat st {};
    bool ok = fstat(fd, &st) == 0 && st.st_uid == geteuid() && set_lock(fd, F_WRLCK);
    if (!ok) {  // held by a live process, or not ours to remove
      close(fd);
      return false;
    }
    if (fstat(fd, &st) != 0 || st.st_nlink == 0) {  // unlinked since we opened it
      close(fd);
      return true;
    }
    if (peek_magic(fd) == kMagic || attempt + 1 == kLockAttempts) {
      shm_unlink(shm_name.c_str());  // under the write lock: see "Holding a named channel"
      close(fd);                      // releases the lock
      return true;
    }
    close(fd);  // a creator between O_EXCL and its read lock: let it take it
    pause_1ms();
  }
  return false;
}

// This process's pid namespace, as (device, inode) of /proc/self/ns/pid; {0, 0} if unknown.
std::pair<std::uint64_t, std::uint64_t> pid_namespace() noexcept {
  struct stat st {};
  if (stat("/proc/self/ns/pid", &st) != 0) return {0, 0};
  return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

}  // namespace

Geometry Geometry::compute(std::uint32_t elem_size, std::size_t capacity, std::size_t max_waiters,
                           std::size_t inline_bytes, std::uint64_t max_value_bytes) {
  if (max_waiters < 1 || max_waiters > kMaxWaiters) {
    fail("max_waiters must be 1.." + std::to_string(kMaxWaiters) + ", got " +
         std::to_string(max_waiters));
  }
  // Every queued waiter can be met by at most one partner at a time, and a partner that needs
  // a slot of its own (a proposal to a select, a large transfer) takes it from the transfer
  // pool: so meeting a waiter never waits for a slot that only the waiters could free.
  const std::size_t slot_count = 2 * max_waiters;
  if (capacity > kMaxCapacity) {
    fail("capacity must be at most " + std::to_string(kMaxCapacity) + ", got " +
         std::to_string(capacity));
  }
  if (elem_size == 0 && (inline_bytes < 8 || inline_bytes > kMaxInlineBytes)) {
    fail("inline_bytes must be 8.." + std::to_string(kMaxInlineBytes) + ", got " +
         std::to_string(inline_bytes));
  }
  if (elem_size == 0 && max_value_bytes > kMaxValueBytes) {
    fail("max_value_bytes must be at most " + std::to_string(kMaxValueBytes) + ", got " +
         std::to_string(max_value_bytes));
  }
  if (elem_size > kMaxInlineBytes) {
    fail("values larger than " + std::to_string(kMaxInlineBytes) +
         " bytes need Chan<std::string>");
  }
  Geometry g;
  g.elem_size = elem_size;
  g.capacity = static_cast<std::uint32_t>(capacity);
  g.slot_count = static_cast<std::uint32_t>(slot_count);
  g.queue_slots = static_cast<std::uint32_t>(max_waiters);
  g.mask_words = static_cast<std::uint32_t>((slot_count + 63) / 64);
  g.inline_bytes = static_cast<std::uint32_t>(elem_size ? elem_size : inline_bytes);
  g.max_value = elem_size ? elem_size : max_value_bytes;
  std::size_t off = sizeof(Header);
  g.masks_off = off;
  off += 2 * (g.mask_words - 1) * sizeof(std::uint64_t);
  off = round_up(off, 64);
  g.slots_off = off;
  g.tail_off = round_up(kSlotDataOffset + std::max<std::size_t>(g.inline_bytes, 8), 8);
  g.slot_stride = round_up(g.tail_off + sizeof(SlotTail), 64);
  off += g.slot_stride * slot_count;
  g.ring_off = off;
  g.entry_stride = round_up(sizeof(RingEntry) + g.inline_bytes, 8);
  off += g.entry_stride * capacity;
  g.total = round_up(off, 4096);
  if (g.total > kMaxRegionBytes) fail("channel too large: reduce capacity, max_waiters or inline_bytes");
  return g;
}

Region::Region(unsigned char* base, Geometry geo) : base_(base), geo_(geo) {}

Region::~Region() {
  munmap(base_, geo_.total);
  if (value_fd_ >= 0) close(value_fd_);
  if (hold_fd_ >= 0 && hold_fd_ != value_fd_) close(hold_fd_);
}

unsigned char* Region::map(int fd, std::size_t bytes) {
  int flags = MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (p == MAP_FAILED) fail_errno("cannot map channel memory", errno);
  return static_cast<unsigned char*>(p);
}

void Region::init(Shape shape, Site site) {
  // The mapping is fresh (zero-filled); construct what needs constructing, publish magic last.
  Header& h = hdr();
  h.info.version = kVersion;
  h.info.elem_size = shape.elem_size;
  h.info.type_tag = shape.type_tag;
  h.info.region_bytes = geo_.total;
  h.info.channel_id = id_ = random_id();
  h.info.max_value_bytes = geo_.max_value;
  h.info.capacity = geo_.capacity;
  h.info.max_waiters = geo_.queue_slots;
  h.info.inline_bytes = geo_.inline_bytes;
  h.info.creator_pid = getpid();
  std::tie(h.info.pidns_dev, h.info.pidns_ino) = pid_namespace();
  h.info.creator_line = site.line;
  std::strncpy(h.info.creator_file, site.file ? site.file : "", sizeof h.info.creator_file - 1);
  h.l.lock.store(0, std::memory_order_relaxed);  // free (published with magic)
  for (std::uint32_t i = 0; i < geo_.slot_count; ++i) new (&slot(i)) SlotHead{};  // kFree, no owner
  h.info.magic.store(kMagic, std::memory_order_release);  // pairs with open_named's acquire
}

std::unique_ptr<Region> Region::create_anonymous(Shape shape, const ChanOptions& o, Site site) {
  Geometry g = Geometry::compute(shape.elem_size, o.capacity, o.max_waiters, o.inline_bytes,
                                 o.max_value_bytes);
  if (!keeps_value_file(shape.elem_size)) {
    std::unique_ptr<Region> r(new Region(map(-1, g.total), g));
    r->init(shape, site);
    return r;
  }
  // A memfd instead of MAP_ANONYMOUS: forked children inherit the descriptor with the mapping,
  // so all of them can reach values parked past the region.
  int fd = memfd_create("ceramic-channel", MFD_CLOEXEC);
  if (fd < 0) fail_errno("cannot create channel memory", errno);
  if (ftruncate(fd, static_cast<off_t>(g.total)) != 0) {
    int err = errno;
    close(fd);
    fail_errno("cannot size channel memory", err);
  }
  unsigned char* base = nullptr;
  try {
    base = map(fd, g.total);
  } catch (...) {
    close(fd);
    throw;
  }
  std::unique_ptr<Region> r(new Region(base, g));
  r->value_fd_ = fd;
  r->init(shape, site);
  return r;
}

std::unique_ptr<Region> Region::create_named(const std::string& shm_name, Shape shape,
                                             const ChanOptions& o, Site site) {
  Geometry g = Geometry::compute(shape.elem_size, o.capacity, o.max_waiters, o.inline_bytes,
                                 o.max_value_bytes);
  const std::string name = shm_name.substr(9);
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    fd = shm_open(shm_name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST) fail_errno("cannot create channel '" + name + "'", errno);
    if (attempt == 8 || !reclaim(shm_name)) fail("channel '" + name + "' exists already");
  }
  // Hold it at once, so that a reclaimer never takes a channel being made for unheld debris.
  // Only a probe's write lock can be in the way, for microseconds.
  bool held = false;
  for (int i = 0; i < kLockAttempts && !(held = set_lock(fd, F_RDLCK)); ++i) pause_1ms();
  if (!held || fchmod(fd, 0600) != 0 || ftruncate(fd, static_cast<off_t>(g.total)) != 0) {
    int err = held ? errno : EAGAIN;
    close(fd);
    shm_unlink(shm_name.c_str());
    fail_errno("cannot size channel '" + name + "'", err);
  }
  unsigned char* base = nullptr;
  try {
    base = map(fd, g.total);
  } catch (...) {
    close(fd);
    shm_unlink(shm_name.c_str());
    throw;
  }
  std::unique_ptr<Region> r(new Region(base, g));
  r->hold_fd_ = fd;
  if (keeps_value_file(shape.elem_size)) r->value_fd_ = fd;
  r->init(shape, site);
  return r;
}

namespace {

// Opens the object and holds it (a read lock), once the object is one that may be trusted: see
// "Holding a named channel" above.
int open_and_hold(const std::string& shm_name, const std::string& name, const OpenOptions& o) {
  for (int attempt = 0; attempt < kLockAttempts; ++attempt) {
    int fd = shm_open(shm_name.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
      if (errno == ENOENT) fail("no channel named '" + name + "'");
      fail_errno("cannot open channel '" + name + "'", errno);
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      fail_errno("cannot stat channel '" + name + "'", err);
    }
    if (!o.allow_foreign_owner) {
      if (std::string why = foreign_reason(st); !why.empty()) {
        close(fd);
        fail("channel '" + name + "' " + why +
             "; OpenOptions{.allow_foreign_owner = true} accepts it");
      }
    }
    if (set_lock(fd, F_RDLCK) && fstat(fd, &st) == 0 && st.st_nlink > 0) return fd;
    close(fd);  // being reclaimed, or reclaimed and replaced: open the name again
    pause_1ms();
  }
  fail("channel '" + name + "' stays locked by a process that is reclaiming it");
}

}  // namespace

std::unique_ptr<Region> Region::open_named(const std::string& shm_name, Shape shape,
                                           const OpenOptions& o) {
  const std::string name = shm_name.substr(9);
  int fd = open_and_hold(shm_name, name, o);
  struct stat st {};
  // A creator between shm_open and ftruncate shows a zero size: give it a moment (bounded).
  for (int i = 0; i < 200; ++i) {
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      fail_errno("cannot stat channel '" + name + "'", err);
    }
    if (st.st_size != 0) break;
    timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
  }
  auto size = static_cast<std::size_t>(st.st_size);
  if (size < sizeof(Header)) {
    close(fd);
    fail("'" + name + "' is not a ceramic channel (size " + std::to_string(size) + ")");
  }
  // Map the header alone first: the geometry, once validated, says how much to map.
  unsigned char* base = nullptr;
  try {
    base = map(fd, sizeof(Header));
  } catch (...) {
    close(fd);
    throw;
  }
  Geometry header_only;
  header_only.total = sizeof(Header);
  std::unique_ptr<Region> guard(new Region(base, header_only));  // unmaps on any failure below
  guard->value_fd_ = fd;                                          // closed with it
  auto& info = guard->hdr().info;
  // The creator publishes magic after initialising; give a racing creator a moment (bounded).
  std::uint64_t magic = info.magic.load(std::memory_order_acquire);
  for (int i = 0; i < 1000 && magic == 0; ++i) {
    timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
    magic = info.magic.load(std::memory_order_acquire);
  }
  if (magic != kMagic) fail("'" + name + "' is not a ceramic channel (bad magic)");
  if (info.version != kVersion) {
    fail("channel '" + name + "' has layout version " + std::to_string(info.version) +
         ", this library speaks " + std::to_string(kVersion));
  }
  if (const auto [dev, ino] = pid_namespace();
      info.pidns_ino != 0 && ino != 0 && (info.pidns_dev != dev || info.pidns_ino != ino)) {
    fail("channel '" + name + "' was made in another pid namespace: ceramic names its peers by "
         "pid, which means nothing across pid namespaces (share the pid namespace, or do not "
         "share the channel)");
  }
  if (info.elem_size != shape.elem_size || info.type_tag != shape.type_tag) {
    fail("channel '" + name + "' carries another type (element size " +
         std::to_string(info.elem_size) + ", expected " + std::to_string(shape.elem_size) + ")");
  }
  Geometry g;
  try {
    // The maximum value length is the creator's, read here once: every length found in the
    // region later is checked against this private copy.
    g = Geometry::compute(info.elem_size, info.capacity, info.max_waiters, info.inline_bytes,
                          info.max_value_bytes);
  } catch (const ChannelError& e) {
    fail("channel '" + name + "' has a corrupt header (" + e.what() + ")");
  }
  const bool value_file = keeps_value_file(g.elem_size);
  // Values parked past the region make a string channel's file longer than it.
  if (info.region_bytes != g.total || size < g.total || (!value_file && size != g.total)) {
    fail("channel '" + name + "' has a corrupt header (size mismatch)");
  }
  // Finished and checked: is anyone else holding it? A write lock that we can take says no: its
  // creator ended without destroying it, and nobody opened it since (a creator holds its lock
  // before it publishes magic, so an unfinished channel never gets this far).
  if (set_lock(fd, F_WRLCK)) {
    fail("channel '" + name + "' is held by no live process (its creator ended without " +
         "destroying it; create() reclaims the name)");
  }
  const std::uint64_t id = info.channel_id;
  std::unique_ptr<Region> r(new Region(map(fd, g.total), g));
  r->id_ = id;
  r->hold_fd_ = fd;
  guard->value_fd_ = -1;  // now held by r
  if (value_file) r->value_fd_ = fd;
  return r;
}

std::string shm_name_for(std::string_view name) {
  if (name.empty()) fail("a channel name must not be empty");
  if (name.size() > 200) fail("channel name too long (" + std::to_string(name.size()) + " > 200)");
  if (name[0] == '.') fail("channel name '" + std::string(name) + "' must not start with '.'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      fail("channel name '" + std::string(name) +
           "' may contain only letters, digits, '.', '_' and '-'");
    }
  }
  return "/ceramic." + std::string(name);
}

void corrupt(const char* what) {
  throw ChannelError(std::string("ceramic: channel state corrupt: ") + what);
}

}  // namespace ceramic::detail
