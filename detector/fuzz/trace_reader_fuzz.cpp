// libFuzzer target: arbitrary bytes as a trace file, through everything that reads one.
//
// The trace file is untrusted input (ceramic/trace_format.hpp, THREAT MODEL): whatever the
// bytes, TraceFile::from_bytes either throws TraceError or parses; a parsed file's snapshot,
// events, deadlock analysis and every printer must then run without crashing, hanging,
// reading out of bounds, undefined behaviour or any other exception.
//
// The same bytes are also written to a file (a memfd) and opened the two other ways, which
// read with pread: load() and map() must agree with from_bytes (both refuse, or both read the
// same entries). Then the file is cut to a length taken from the input, under the open map():
// its next snapshot and events must read the same or throw TraceError, never crash.
//
// Build and run: detector/fuzz/run.sh [SECONDS]   (clang, -fsanitize=fuzzer,address,undefined)
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/chrome_trace.hpp"
#include "ceramic/detector/leaks.hpp"
#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"

namespace {

using namespace ceramic::detector;

// A file holding bytes, closed on destruction.
class MemFile {
 public:
  MemFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("trace", MFD_CLOEXEC)) {
    if (fd_ < 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }
  void truncate(std::size_t size) const {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) std::abort();
  }

 private:
  int fd_;
};

std::optional<TraceFile> open_or_refuse(TraceFile (*open)(const std::string&),
                                        const std::string& path) {
  try {
    return open(path);
  } catch (const TraceError&) {
    return std::nullopt;
  }
}

// The parts of a snapshot that do not depend on when it was taken.
void expect_same(const Snapshot& a, const Snapshot& b) {
  if (a.threads.size() != b.threads.size() || a.channels.size() != b.channels.size() ||
      a.dead != b.dead) {
    std::abort();
  }
  for (std::size_t i = 0; i < a.threads.size(); ++i) {
    if (a.threads[i].pid != b.threads[i].pid || a.threads[i].seq != b.threads[i].seq ||
        a.threads[i].name != b.threads[i].name || a.threads[i].file != b.threads[i].file) {
      std::abort();
    }
  }
  for (std::size_t i = 0; i < a.channels.size(); ++i) {
    if (a.channels[i].id != b.channels[i].id || a.channels[i].holders != b.channels[i].holders) {
      std::abort();
    }
  }
}

// Everything a reader of a parsed file does; none of it may throw once the file is read.
void exercise(const Snapshot& snapshot, const std::vector<EventInfo>& events) {
  Report report = analyze(snapshot);
  volatile std::size_t sink = 0;
  sink = sink + to_text(report).size();
  sink = sink + to_json(report).size();
  sink = sink + to_dot(report).size();
  sink = sink + to_chrome_json(snapshot, events).size();
  (void)confirms(report, analyze(snapshot));
  Report leaks = find_leaks(snapshot, events);  // what ceramic-run reads at the program's end
  sink = sink + to_text(leaks).size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<TraceFile> file;
  try {
    file.emplace(TraceFile::from_bytes(std::vector<unsigned char>(data, data + size)));
  } catch (const TraceError&) {
  }

  MemFile mem(data, size);
  std::optional<TraceFile> loaded = open_or_refuse(&TraceFile::load, mem.path());
  std::optional<TraceFile> live = open_or_refuse(&TraceFile::map, mem.path());
  if (file.has_value() != loaded.has_value() || file.has_value() != live.has_value()) {
    std::abort();  // the three ways of opening disagree
  }
  if (!file) return 0;  // rejected with a message: fine

  // snapshot(false): only what the file says; asking the OS about the file's pids would make
  // the outcome depend on the machine.
  Snapshot snapshot = file->snapshot(false);
  std::vector<EventInfo> events = file->events();
  expect_same(snapshot, loaded->snapshot(false));
  expect_same(snapshot, live->snapshot(false));
  if (loaded->events().size() != events.size() || live->events().size() != events.size()) {
    std::abort();
  }
  exercise(snapshot, events);

  // Cut the file under the live reader, to a length the input chooses (its last two bytes).
  std::size_t cut = size >= 2 ? (std::size_t{data[size - 2]} << 8 | data[size - 1]) * 64 : 0;
  mem.truncate(std::min(cut, size));
  try {
    Snapshot after = live->snapshot(false);
    expect_same(snapshot, after);  // it still holds the whole layout: nothing changed
    (void)live->events();
  } catch (const TraceError&) {
  }
  return 0;
}
