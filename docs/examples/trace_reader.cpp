// Reading a trace file with nothing but ceramic/trace_format.hpp: this program traces itself
// (what CERAMIC_TRACE or ceramic-run would arrange), makes one rendezvous with a child, then
// maps the file and prints its threads and events.
#include <ceramic/ceramic.hpp>
#include <ceramic/trace_format.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "example_check.hpp"

namespace trace = ceramic::trace;

int main() {
  char dir[] = "/tmp/ceramic-trace-reader.XXXXXX";
  expect(mkdtemp(dir) != nullptr, "a temporary directory");
  std::string path = std::string(dir) + "/run.trace";
  expect(trace::start(path), "tracing starts");
  {
    ceramic::Chan<int> chan;
    ceramic::Proc child("child", [&] { chan.send(42); });
    chan.recv();
    child.join();
  }
  trace::stop();

  // [doc:read]
  int fd = open(path.c_str(), O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  auto* base = static_cast<const char*>(
      mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0));
  const auto& h = *reinterpret_cast<const trace::FileHeader*>(base);
  if (h.magic.load(std::memory_order_acquire) != trace::kMagic || h.version != trace::kVersion ||
      h.file_bytes > static_cast<std::uint64_t>(st.st_size)) {
    std::fprintf(stderr, "not a ceramic trace (or another version)\n");
    return 2;
  }
  // Strings are NUL-terminated, at an offset into the string section (0 is "").
  auto str = [&](std::uint32_t off) { return off < h.string_bytes ? base + h.strings_off + off : ""; };

  auto* threads = reinterpret_cast<const trace::ThreadEntry*>(base + h.threads_off);
  std::uint32_t n_threads = std::min(h.threads_used.load(), h.max_threads);
  for (std::uint32_t i = 0; i < n_threads; ++i) {
    const trace::ThreadEntry& t = threads[i];
    std::uint32_t seq = t.seq.load(std::memory_order_acquire);
    if (seq == 0 || seq % 2 == 1) continue;   // never published, or being written right now
    std::printf("thread pid %d name '%s' state %u ops %llu\n", t.pid, str(t.name), t.state,
                static_cast<unsigned long long>(t.ops));
  }

  auto* ring = reinterpret_cast<const trace::Event*>(base + h.ring_off);
  std::uint64_t head = h.ring_head.load(std::memory_order_acquire);   // next sequence number
  std::uint64_t first = head > h.ring_capacity ? head - h.ring_capacity : 1;
  for (std::uint64_t s = first; s < head; ++s) {
    const trace::Event& e = ring[s & (h.ring_capacity - 1)];
    if (e.seq.load(std::memory_order_acquire) != s) continue;   // overwritten, or unfinished
    if (e.kind == static_cast<std::uint8_t>(trace::EventKind::rendezvous)) {
      std::printf("rendezvous: pid %d met pid %d at %s:%d\n", e.pid, e.peer, str(e.file), e.line);
    }
  }
  // [/doc:read]
  int rendezvous = 0;
  for (std::uint64_t s = first; s < head; ++s) {
    const trace::Event& e = ring[s & (h.ring_capacity - 1)];
    if (e.seq.load() == s && e.kind == static_cast<std::uint8_t>(trace::EventKind::rendezvous)) {
      ++rendezvous;
    }
  }
  expect(n_threads >= 2, "the parent and the child are in the thread table");
  expect(rendezvous >= 1, "the rendezvous is in the event ring");
  munmap(const_cast<char*>(base), static_cast<std::size_t>(st.st_size));
  close(fd);
  unlink(path.c_str());
  rmdir(dir);
  return 0;
}
