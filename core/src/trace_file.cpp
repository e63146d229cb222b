// ceramic — the trace file's setup (see trace_file.hpp): create, check, map.

#include "trace_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

#include "ceramic/detail/futex.hpp"
#include "ceramic/trace_format.hpp"

namespace ceramic::detail {
namespace {

using namespace ceramic::trace;

// Creates and initialises a trace file; false if it exists already.
bool create_file(const char* path, std::string* err) {
  try {
    trace::create_file(path);
    return true;
  } catch (const std::system_error& e) {
    if (e.code().value() != EEXIST) *err = e.what();
    return false;
  }
}


// Why this process must not write into the file st describes ("" when it may).
std::string untrusted(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_uid != geteuid()) {
    return "belongs to uid " + std::to_string(st.st_uid) + ", not to this process's uid " +
           std::to_string(geteuid());
  }
  if ((st.st_mode & 0022) != 0) return "writable by other users";
  return {};
}

}  // namespace

void init_trace_file(unsigned char* base, std::uint32_t threads, std::uint32_t channels,
                     std::uint32_t ring, std::uint32_t strings) {
  Geometry g = geometry(threads, channels, ring, strings);
  auto& h = *reinterpret_cast<FileHeader*>(base);
  h.version = kVersion;
  h.header_bytes = sizeof(FileHeader);
  h.max_threads = threads;
  h.max_channels = channels;
  h.ring_capacity = ring;
  h.string_bytes = strings;
  h.threads_off = g.threads_off;
  h.channels_off = g.channels_off;
  h.ring_off = g.ring_off;
  h.strings_off = g.strings_off;
  h.file_bytes = g.file_bytes;
  h.created_mono_ns = now_ns();
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h.created_real_ns = static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  h.root_pid = getpid();
  h.strings_used.store(1);  // offset 0: the empty string
  h.ring_head.store(0);
  h.magic.store(kMagic, std::memory_order_release);  // pairs with attach's acquire
}

AttachedTrace attach_trace_file(const char* path, std::string* why) noexcept {
  AttachedTrace out;
  try {
    std::string err;
    create_file(path, &err);
    // O_NOFOLLOW: a symlink planted under the name does not redirect the trace.
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      *why = err.empty() ? std::string(std::strerror(errno)) : err;
      return out;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      *why = std::strerror(errno);
      close(fd);
      return out;
    }
    if (std::string bad = untrusted(st); !bad.empty()) {
      *why = bad;
      close(fd);
      return out;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size < sizeof(FileHeader)) {
      *why = "not a ceramic trace file (too short)";
      close(fd);
      return out;
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
      *why = std::string("cannot map it: ") + std::strerror(errno);
      return out;
    }
    auto* base = static_cast<unsigned char*>(p);
    const auto& h = *reinterpret_cast<const FileHeader*>(base);
    // Each field read once, into the private layout; the checks then use the copies.
    TraceLayout l;
    l.max_threads = h.max_threads;
    l.max_channels = h.max_channels;
    l.ring_capacity = h.ring_capacity;
    l.string_bytes = h.string_bytes;
    l.threads_off = h.threads_off;
    l.channels_off = h.channels_off;
    l.ring_off = h.ring_off;
    l.strings_off = h.strings_off;
    l.file_bytes = h.file_bytes;
    l.created_mono_ns = h.created_mono_ns;
    const bool magic = h.magic.load(std::memory_order_acquire) == kMagic && h.version == kVersion;
    Geometry g = geometry(l.max_threads, l.max_channels, l.ring_capacity, l.string_bytes);
    bool ok = magic && l.ring_capacity != 0 && (l.ring_capacity & (l.ring_capacity - 1)) == 0 &&
              g.file_bytes == l.file_bytes && g.file_bytes <= size &&
              g.threads_off == l.threads_off && g.channels_off == l.channels_off &&
              g.ring_off == l.ring_off && g.strings_off == l.strings_off;
    if (!ok) {
      munmap(base, size);
      *why = err.empty() ? "not a ceramic trace file" : err;
      return out;
    }
    out.base = base;
    out.layout = l;
  } catch (...) {
    *why = "out of memory";
  }
  return out;
}

}  // namespace ceramic::detail

namespace ceramic::trace {

void create_file(const std::string& path, Capacities c) {
  std::uint32_t ring = 1;
  while (ring < c.events && ring < (1u << 26)) ring <<= 1;
  Geometry g = geometry(c.threads, c.channels, ring, c.string_bytes);
  if (g.file_bytes > kMaxFileBytes) {  // readers would refuse it
    throw std::system_error(EFBIG, std::generic_category(),
                            "cannot create " + path + ": its capacities make a trace of " +
                                std::to_string(g.file_bytes) + " bytes, more than " +
                                std::to_string(kMaxFileBytes));
  }
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + path);
  unsigned char* base = nullptr;
  int err = 0;
  if (ftruncate(fd, static_cast<off_t>(g.file_bytes)) == 0) {
    void* p = mmap(nullptr, g.file_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) base = static_cast<unsigned char*>(p);
  }
  if (base == nullptr) err = errno;
  close(fd);
  if (base == nullptr) {
    unlink(path.c_str());
    throw std::system_error(err, std::generic_category(), "cannot size " + path);
  }
  detail::init_trace_file(base, c.threads, c.channels, ring, c.string_bytes);
  munmap(base, g.file_bytes);
}

}  // namespace ceramic::trace
