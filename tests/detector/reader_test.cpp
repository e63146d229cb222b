// ceramic detector — reading trace files: TraceFile::from_bytes / load / map.
//
// The trace file is untrusted input (trace_format.hpp, THREAT MODEL): a corrupt, truncated or
// foreign file must throw TraceError with a message that says what is wrong, or parse; reading
// it must never crash, hang or read out of bounds. These tests are meant to pass under
// AddressSanitizer + UBSan.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/chrome_trace.hpp"
#include "ceramic/detector/report.hpp"
#include "ceramic/detector/snapshot.hpp"
#include "process_util.hpp"
#include "trace_image.hpp"

namespace ceramic_test {
namespace {

using ceramic::detector::EventInfo;
using ceramic::detector::Report;
using ceramic::detector::Snapshot;
using ceramic::detector::TraceError;
using ceramic::detector::TraceFile;
using Bytes = std::vector<unsigned char>;

constexpr std::size_t kHeaderBytes = sizeof(tf::FileHeader);

// The message of the TraceError that parsing bytes throws ("" if it parses).
std::string parse_error(Bytes bytes) {
  try {
    (void)TraceFile::from_bytes(std::move(bytes));
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Everything a reader of a parsed file can do; none of it may crash.
void exercise(const TraceFile& f) {
  Snapshot s = f.snapshot(false);
  std::vector<EventInfo> events = f.events();
  Report r = ceramic::detector::analyze(s);
  (void)ceramic::detector::to_text(r);
  (void)ceramic::detector::to_dot(r);
  (void)ceramic::detector::to_json(r);
  (void)ceramic::detector::to_chrome_json(s, events);
}

// ---------------------------------------------------------------------------------------------
// Valid files

TEST(TraceReader, FreshFileFromCreateFileLoadsEmpty) {
  TempDir dir;
  const std::string path = dir.file("t.trace");
  tf::create_file(path, small_capacities());
  TraceFile f = TraceFile::load(path);
  Snapshot s = f.snapshot(false);
  EXPECT_EQ(s.root_pid, getpid());
  EXPECT_TRUE(s.threads.empty());
  EXPECT_TRUE(s.channels.empty());
  EXPECT_TRUE(s.dead.empty());
  EXPECT_GE(s.taken_ns, 0);
  EXPECT_TRUE(f.events().empty());
  EXPECT_FALSE(ceramic::detector::analyze(s).deadlock);
}

TEST(TraceReader, FreshFileWithDefaultCapacitiesMapsAndLoads) {
  TempDir dir;
  const std::string path = dir.file("t.trace");
  tf::create_file(path);
  EXPECT_NO_THROW(exercise(TraceFile::map(path)));
  EXPECT_NO_THROW(exercise(TraceFile::load(path)));
}

TEST(TraceReader, CreateFileRefusesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("t.trace");
  tf::create_file(path, small_capacities());
  EXPECT_THROW(tf::create_file(path, small_capacities()), std::system_error);
}

TEST(TraceReader, CreateFileRefusesCapacitiesBeyondWhatReadersAccept) {
  TempDir dir;
  const std::string path = dir.file("t.trace");
  tf::Capacities c;
  c.channels = 1u << 24;  // 3 GiB of channel entries
  try {
    tf::create_file(path, c);
    FAIL() << "no std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EFBIG);
    EXPECT_TRUE(contains(e.what(), std::to_string(tf::kMaxFileBytes))) << e.what();
  }
  EXPECT_FALSE(file_exists(path));
}

TEST(TraceReader, HandWrittenStateReadsBack) {
  TraceImage img;
  auto& main = img.add_thread(100, "main");
  img.block(main, tf::WaitOp::send, 0xc1, "/src/race.cpp", 27);
  main.since_ns = 1000;
  auto& a = img.add_thread(101, "A");
  a.state = static_cast<std::uint32_t>(tf::ThreadState::exited);
  a.exit_code = 0;
  a.last_peer = 102;
  a.last_file = img.add_string("/src/race.cpp");
  a.last_line = 24;
  auto& b = img.add_thread(102, "B");
  b.state = static_cast<std::uint32_t>(tf::ThreadState::exited);
  auto& c = img.add_channel(0xc1, {100}, {101, 102});
  c.capacity = 0;
  c.file = img.add_string("/src/race.cpp");
  c.line = 23;
  c.creator_pid = 100;
  img.add_event(tf::EventKind::channel, 100, 0xc1);
  img.add_event(tf::EventKind::rendezvous, 101, 0xc1, 102, tf::WaitOp::send);
  img.add_event(tf::EventKind::block, 100, 0xc1, 0, tf::WaitOp::send);

  TraceFile f = TraceFile::from_bytes(img.bytes());
  Snapshot s = f.snapshot(false);
  ASSERT_EQ(s.threads.size(), 3u);
  EXPECT_EQ(s.threads[0].name, "main");
  EXPECT_TRUE(s.threads[0].blocked());
  EXPECT_EQ(s.threads[0].op, tf::WaitOp::send);
  ASSERT_EQ(s.threads[0].waits.size(), 1u);
  EXPECT_EQ(s.threads[0].waits[0].channel, 0xc1u);
  EXPECT_EQ(s.threads[0].file, "/src/race.cpp");
  EXPECT_EQ(s.threads[0].line, 27);
  EXPECT_EQ(s.threads[1].last_line, 24);
  EXPECT_EQ(s.threads[1].last_peer, 102);
  ASSERT_EQ(s.channels.size(), 1u);
  EXPECT_EQ(s.channels[0].holders, (std::vector<pid_t>{100}));
  EXPECT_EQ(s.channels[0].former, (std::vector<pid_t>{101, 102}));
  EXPECT_EQ(s.channels[0].line, 23);
  EXPECT_EQ(s.dead, (std::vector<pid_t>{101, 102}));

  std::vector<EventInfo> events = f.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].seq, 1u);
  EXPECT_EQ(events[0].kind, tf::EventKind::channel);
  EXPECT_EQ(events[1].peer, 102);
  EXPECT_EQ(events[2].kind, tf::EventKind::block);

  Report r = ceramic::detector::analyze(s);
  ASSERT_TRUE(r.deadlock);
  EXPECT_STREQ(kind_name(r.kind), "no live peer");
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_EQ(r.stuck[0].line, 27);
}

TEST(TraceReader, RingThatWrappedKeepsTheNewestEvents) {
  TraceImage img;
  const std::uint32_t cap = img.header().ring_capacity;
  for (std::uint32_t i = 0; i < 3 * cap + 5; ++i) img.add_event(tf::EventKind::start, 100);
  std::vector<EventInfo> events = TraceFile::from_bytes(img.bytes()).events();
  ASSERT_FALSE(events.empty());
  EXPECT_LE(events.size(), cap);
  EXPECT_EQ(events.back().seq, 3u * cap + 5);
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_EQ(events[i].seq, events[i - 1].seq + 1);
}

TEST(TraceReader, TrailingBytesBeyondTheLayoutAreIgnored) {
  TraceImage img;
  Bytes bytes = img.bytes();
  bytes.resize(bytes.size() + 4096, 0xab);
  EXPECT_EQ(parse_error(bytes), "");
}

TEST(TraceReader, MovedTraceFileStillReads) {
  TraceImage img;
  img.add_thread(100, "main");
  TraceFile f = TraceFile::from_bytes(img.bytes());
  TraceFile g(std::move(f));
  EXPECT_EQ(g.snapshot(false).threads.size(), 1u);
  TraceFile h = TraceFile::from_bytes(TraceImage().bytes());
  h = std::move(g);
  EXPECT_EQ(h.snapshot(false).threads.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Files that are not (complete) traces

TEST(TraceReader, MissingFileIsATraceError) {
  TempDir dir;
  try {
    (void)TraceFile::load(dir.file("missing.trace"));
    FAIL() << "no TraceError";
  } catch (const TraceError& e) {
    EXPECT_TRUE(contains(e.what(), "cannot open")) << e.what();
    EXPECT_TRUE(contains(e.what(), "missing.trace")) << e.what();
  }
  EXPECT_THROW((void)TraceFile::map(dir.file("missing.trace")), TraceError);
}

TEST(TraceReader, EmptyFileIsTooShort) {
  TempDir dir;
  const std::string path = dir.file("empty.trace");
  write_bytes(path, {});
  for (auto* open : {&TraceFile::load, &TraceFile::map}) {
    try {
      (void)open(path);
      FAIL() << "no TraceError";
    } catch (const TraceError& e) {
      EXPECT_TRUE(contains(e.what(), "too short")) << e.what();
      EXPECT_TRUE(contains(e.what(), "empty.trace")) << e.what();
    }
  }
  EXPECT_TRUE(contains(parse_error({}), "too short"));
}

TEST(TraceReader, EveryPrefixOfTheHeaderIsTooShort) {
  TraceImage img;
  for (std::size_t n = 0; n < kHeaderBytes; ++n) {
    std::string e = parse_error(img.prefix(n));
    EXPECT_TRUE(contains(e, "too short")) << "prefix of " << n << " bytes: " << e;
  }
}

TEST(TraceReader, EveryPrefixBeyondTheHeaderIsTruncated) {
  TraceImage img;
  std::vector<std::size_t> lengths;
  for (std::size_t n = kHeaderBytes; n < kHeaderBytes + 256; ++n) lengths.push_back(n);
  for (std::size_t n = kHeaderBytes + 256; n < img.size(); n += 61) lengths.push_back(n);
  lengths.push_back(img.size() - 1);
  for (std::size_t n : lengths) {
    std::string e = parse_error(img.prefix(n));
    EXPECT_TRUE(contains(e, "truncated")) << "prefix of " << n << " bytes: " << e;
    EXPECT_TRUE(contains(e, std::to_string(img.size()))) << e;  // says how long it should be
  }
  EXPECT_EQ(parse_error(img.prefix(img.size())), "");
}

TEST(TraceReader, TruncatedFileOnDiskIsReportedByLoadAndMap) {
  TempDir dir;
  const std::string path = dir.file("cut.trace");
  TraceImage img;
  write_bytes(path, img.prefix(img.size() / 2));
  EXPECT_THROW((void)TraceFile::load(path), TraceError);
  EXPECT_THROW((void)TraceFile::map(path), TraceError);
}

// ---------------------------------------------------------------------------------------------
// Files far bigger than a trace: load() and map() read the header first and never more than
// the geometry it declares, so the size of the file itself costs nothing. The files are sparse
// (ftruncate): no disk is used.

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

// Peak resident memory of this process so far, in bytes.
std::uint64_t peak_rss() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

// Writes bytes at the start of path, then extends it (sparse) to size bytes.
void write_sparse(const std::string& path, const Bytes& bytes, std::uint64_t size) {
  write_bytes(path, bytes);
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(size)), 0) << std::strerror(errno);
}

// Runs open(path) expecting a TraceError; returns its message ("" if it opened).
std::string open_error(TraceFile (*open)(const std::string&), const std::string& path) {
  try {
    (void)open(path);
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}

TEST(TraceReader, SmallTraceAtTheStartOfASparseThreeGiBFileLoadsWithoutReadingTheRest) {
  TempDir dir;
  const std::string path = dir.file("big.trace");
  TraceImage img;
  img.add_thread(100, "main");
  img.add_channel(0x1, {100});
  img.add_event(tf::EventKind::start, 100);
  write_sparse(path, img.bytes(), 3 * kGiB);
  const std::uint64_t before = peak_rss();
  for (auto* open : {&TraceFile::load, &TraceFile::map}) {
    TraceFile f = open(path);
    Snapshot s = f.snapshot(false);
    ASSERT_EQ(s.threads.size(), 1u);
    EXPECT_EQ(s.threads[0].name, "main");
    EXPECT_EQ(s.channels.size(), 1u);
    EXPECT_EQ(f.events().size(), 1u);
  }
  // The trace is a few KiB: whatever the reader holds is bounded by that, not by the file.
  EXPECT_LT(peak_rss() - before, std::uint64_t{64} << 20);
}

TEST(TraceReader, SparseThreeGiBFileOfZerosIsNotInitialisedAndCostsNothing) {
  TempDir dir;
  const std::string path = dir.file("zeros.trace");
  write_sparse(path, {}, 3 * kGiB);
  const std::uint64_t before = peak_rss();
  for (auto* open : {&TraceFile::load, &TraceFile::map}) {
    std::string e = open_error(open, path);
    EXPECT_TRUE(contains(e, "not initialised")) << e;
    EXPECT_TRUE(contains(e, "zeros.trace")) << e;
  }
  EXPECT_LT(peak_rss() - before, std::uint64_t{64} << 20);
}

// A header whose capacities are each in range, and whose layout is consistent, but which
// declares a file of 3 GiB: more than any trace the writer makes (trace::kMaxFileBytes).
TEST(TraceReader, HeaderDeclaringAnOversizeFileIsRefusedBeforeReadingIt) {
  TraceImage img;
  auto& h = img.header();
  h.max_channels = 1u << 24;
  tf::Geometry g = tf::geometry(h.max_threads, h.max_channels, h.ring_capacity, h.string_bytes);
  ASSERT_GT(g.file_bytes, tf::kMaxFileBytes);
  h.threads_off = g.threads_off;
  h.channels_off = g.channels_off;
  h.ring_off = g.ring_off;
  h.strings_off = g.strings_off;
  h.file_bytes = g.file_bytes;
  h.channels_used.store(1u << 24);  // every entry "used": a reader that believed it would read them
  TempDir dir;
  const std::string path = dir.file("huge.trace");
  write_sparse(path, img.prefix(kHeaderBytes), g.file_bytes);
  const std::uint64_t before = peak_rss();
  for (auto* open : {&TraceFile::load, &TraceFile::map}) {
    std::string e = open_error(open, path);
    EXPECT_TRUE(contains(e, "too large")) << e;
    EXPECT_TRUE(contains(e, std::to_string(g.file_bytes))) << e;          // what it declares
    EXPECT_TRUE(contains(e, std::to_string(tf::kMaxFileBytes))) << e;     // what is accepted
    EXPECT_TRUE(contains(e, "huge.trace")) << e;
  }
  EXPECT_LT(peak_rss() - before, std::uint64_t{64} << 20);
  EXPECT_TRUE(contains(parse_error(img.prefix(kHeaderBytes)), "too large"));
}

// ---------------------------------------------------------------------------------------------
// A live file that shrinks under its reader (someone truncates it while ceramic-run watches):
// every read checks the file still holds the whole layout, and reads with pread(2), never
// through a mapping, so a shrunk file is a TraceError, never SIGBUS.

// A small trace with entries in every section, written to path.
TraceImage write_populated(const std::string& path) {
  TraceImage img;
  auto& t = img.add_thread(100, "main");
  img.block(t, tf::WaitOp::recv, 0x1, "/src/main.cpp", 7);
  img.add_channel(0x1, {100});
  img.add_event(tf::EventKind::block, 100, 0x1, 0, tf::WaitOp::recv);
  write_bytes(path, img.bytes());
  return img;
}

TEST(TraceReader, FileShrunkUnderALiveReaderIsATraceError) {
  TempDir dir;
  const std::string path = dir.file("live.trace");
  const std::size_t full = write_populated(path).size();
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, kHeaderBytes, full / 2, full - 1}) {
    SCOPED_TRACE("shrunk to " + std::to_string(size) + " bytes");
    write_populated(path);
    TraceFile f = TraceFile::map(path);
    EXPECT_EQ(f.snapshot(false).threads.size(), 1u);
    ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(size)), 0);
    for (int read = 0; read < 2; ++read) {
      try {
        if (read == 0) {
          (void)f.snapshot(true);
        } else {
          (void)f.events();
        }
        ADD_FAILURE() << (read == 0 ? "snapshot" : "events") << ": no TraceError";
      } catch (const TraceError& e) {
        EXPECT_TRUE(contains(e.what(), "live.trace")) << e.what();
        EXPECT_TRUE(contains(e.what(), "shrank to " + std::to_string(size) + " bytes")) << e.what();
        EXPECT_TRUE(contains(e.what(), std::to_string(full))) << e.what();
      }
    }
  }
}

TEST(TraceReader, FileThatShrankAndGrewBackReadsAgain) {
  TempDir dir;
  const std::string path = dir.file("live.trace");
  write_populated(path);
  TraceFile f = TraceFile::map(path);
  ASSERT_EQ(truncate(path.c_str(), 100), 0);
  EXPECT_THROW((void)f.snapshot(false), TraceError);
  write_populated(path);  // the same inode, rewritten whole
  Snapshot s = f.snapshot(false);
  ASSERT_EQ(s.threads.size(), 1u);
  EXPECT_EQ(s.threads[0].file, "/src/main.cpp");
}

// A thread whose entry changes all the time (here, as fast as a loop can write it) is at work:
// the live reader shows it in every snapshot, as a consistent copy or as running, never as a
// half-written state (it used to be left out whenever its entry moved under every attempt to
// copy it, or its writer was preempted in the middle of an update).
TEST(TraceReader, EntryThatNeverStopsMovingReadsAsRunning) {
  TempDir dir;
  const std::string path = dir.file("busy.trace");
  TraceImage img;
  img.add_thread(100, "busy");
  write_bytes(path, img.bytes());
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* p = mmap(nullptr, img.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(p, MAP_FAILED);
  auto& entry = *reinterpret_cast<tf::ThreadEntry*>(static_cast<unsigned char*>(p) +
                                                     img.header().threads_off);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::uint32_t seq = entry.seq.load();
    while (!stop.load(std::memory_order_relaxed)) {
      entry.seq.store(++seq, std::memory_order_relaxed);  // odd: changing
      std::atomic_thread_fence(std::memory_order_release);
      entry.state = static_cast<std::uint32_t>(tf::ThreadState::blocked);  // only while odd
      entry.op = static_cast<std::uint8_t>(tf::WaitOp::recv);
      ++entry.ops;
      entry.op = static_cast<std::uint8_t>(tf::WaitOp::none);
      entry.state = static_cast<std::uint32_t>(tf::ThreadState::running);
      entry.seq.store(++seq, std::memory_order_release);  // even: published
    }
  });
  TraceFile f = TraceFile::map(path);
  int missing = 0, torn = 0;
  for (int i = 0; i < 2000; ++i) {
    Snapshot s = f.snapshot(false);
    if (s.threads.size() != 1) {
      ++missing;
    } else if (s.threads[0].state != tf::ThreadState::running ||
               s.threads[0].op != tf::WaitOp::none || s.threads[0].pid != 100 ||
               s.threads[0].name != "busy" || s.threads[0].seq % 2 != 0) {
      ++torn;
    }
  }
  stop = true;
  writer.join();
  munmap(p, img.size());
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(torn, 0);
}

TEST(TraceReader, BadMagicIsNotATrace) {
  TraceImage img;
  img.header().magic.store(0x0123456789abcdefull);
  EXPECT_TRUE(contains(parse_error(img.bytes()), "bad magic"));
}

TEST(TraceReader, ZeroMagicIsNotInitialisedYet) {
  TraceImage img;
  img.header().magic.store(0);
  EXPECT_TRUE(contains(parse_error(img.bytes()), "not initialised"));
}

TEST(TraceReader, WrongVersionSaysBothVersions) {
  TraceImage img;
  img.header().version = tf::kVersion + 1;
  std::string e = parse_error(img.bytes());
  EXPECT_TRUE(contains(e, "version " + std::to_string(tf::kVersion + 1))) << e;
  EXPECT_TRUE(contains(e, "reads " + std::to_string(tf::kVersion))) << e;
}

TEST(TraceReader, CapacitiesOutOfRangeAreCorrupt) {
  struct Mutation {
    const char* what;
    void (*apply)(tf::FileHeader&);
  };
  const Mutation mutations[] = {
      {"ring 0", [](tf::FileHeader& h) { h.ring_capacity = 0; }},
      {"ring not a power of two", [](tf::FileHeader& h) { h.ring_capacity = 24; }},
      {"ring huge", [](tf::FileHeader& h) { h.ring_capacity = 1u << 31; }},
      {"threads huge", [](tf::FileHeader& h) { h.max_threads = UINT32_MAX; }},
      {"channels huge", [](tf::FileHeader& h) { h.max_channels = 1u << 25; }},
      {"strings huge", [](tf::FileHeader& h) { h.string_bytes = UINT32_MAX; }},
  };
  for (const Mutation& m : mutations) {
    TraceImage img;
    m.apply(img.header());
    std::string e = parse_error(img.bytes());
    EXPECT_TRUE(contains(e, "corrupt header")) << m.what << ": " << e;
  }
}

TEST(TraceReader, OffsetsThatDoNotMatchTheCapacitiesAreCorrupt) {
  struct Mutation {
    const char* what;
    void (*apply)(tf::FileHeader&);
  };
  const Mutation mutations[] = {
      {"threads_off", [](tf::FileHeader& h) { h.threads_off += 64; }},
      {"channels_off", [](tf::FileHeader& h) { h.channels_off = 0; }},
      {"ring_off", [](tf::FileHeader& h) { h.ring_off = UINT64_MAX; }},
      {"strings_off", [](tf::FileHeader& h) { h.strings_off -= 64; }},
      {"file_bytes", [](tf::FileHeader& h) { h.file_bytes += 64; }},
      {"capacity without offsets", [](tf::FileHeader& h) { h.max_threads += 1; }},
      {"ring without offsets", [](tf::FileHeader& h) { h.ring_capacity *= 2; }},
  };
  for (const Mutation& m : mutations) {
    TraceImage img;
    m.apply(img.header());
    std::string e = parse_error(img.bytes());
    EXPECT_TRUE(contains(e, "layout does not match")) << m.what << ": " << e;
  }
}

TEST(TraceReader, ConsistentHeaderForABiggerFileIsTruncated) {
  TraceImage img;
  auto& h = img.header();
  h.max_threads = 1u << 20;
  tf::Geometry g = tf::geometry(h.max_threads, h.max_channels, h.ring_capacity, h.string_bytes);
  h.threads_off = g.threads_off;
  h.channels_off = g.channels_off;
  h.ring_off = g.ring_off;
  h.strings_off = g.strings_off;
  h.file_bytes = g.file_bytes;
  std::string e = parse_error(img.bytes());
  EXPECT_TRUE(contains(e, "truncated")) << e;
  EXPECT_TRUE(contains(e, std::to_string(g.file_bytes))) << e;
}

TEST(TraceReader, RandomGarbageIsNotATrace) {
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    Bytes bytes(rng() % 4096);
    for (auto& b : bytes) b = static_cast<unsigned char>(rng());
    std::string e = parse_error(bytes);
    ASSERT_NE(e, "") << "garbage of " << bytes.size() << " bytes parsed";
    ASSERT_EQ(e.rfind("ceramic-trace: ", 0), 0u) << e;
  }
}

// Garbage after a valid magic: the header checks must catch it.
TEST(TraceReader, RandomHeaderAfterTheMagicIsRejectedOrParses) {
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  std::mt19937_64 rng(seed);
  TraceImage img;
  for (int i = 0; i < 2000; ++i) {
    Bytes bytes = img.bytes();
    // Randomise some of the header fields after the magic (and sometimes the version too).
    std::size_t from = i % 2 ? 8 : 12;
    for (std::size_t k = from; k < kHeaderBytes; ++k) {
      if (rng() % 4 == 0) bytes[k] = static_cast<unsigned char>(rng());
    }
    try {
      TraceFile f = TraceFile::from_bytes(std::move(bytes));
      exercise(f);
    } catch (const TraceError& e) {
      ASSERT_EQ(std::string(e.what()).rfind("ceramic-trace: ", 0), 0u) << e.what();
    }
  }
}

// A valid header over random contents: every entry, counter and index is garbage. It parses;
// nothing a reader does with it may crash, and every count is bounded by the capacities.
// (The strings are printable, so this test is about the reader, not UTF-8.)
TEST(TraceReader, RandomContentsUnderAValidHeaderAreReadSafely) {
  const std::uint64_t seed = test_seed();
  SCOPED_TRACE(seed_note(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 300; ++i) {
    TraceImage img;
    auto& h = img.header();
    const std::uint64_t body = h.threads_off, strings = h.strings_off, end = img.size();
    unsigned char* d = img.data();
    for (std::uint64_t k = body; k < strings; ++k) {
      // Mostly small values, so pids, ops and indices land both in and out of range.
      d[k] = static_cast<unsigned char>(rng() % 3 == 0 ? rng() : rng() % 4);
    }
    for (std::uint64_t k = strings; k < end; ++k) {
      d[k] = rng() % 8 == 0 ? 0 : static_cast<unsigned char>(' ' + rng() % 95);
    }
    // The counters: in range, out of range, or extreme.
    auto pick32 = [&](std::uint32_t cap) -> std::uint32_t {
      switch (rng() % 3) {
        case 0: return static_cast<std::uint32_t>(rng() % (cap + 1));
        case 1: return static_cast<std::uint32_t>(rng());
        default: return UINT32_MAX;
      }
    };
    h.threads_used.store(pick32(h.max_threads));
    h.channels_used.store(pick32(h.max_channels));
    h.strings_used.store(pick32(h.string_bytes));
    h.dropped_threads.store(static_cast<std::uint32_t>(rng()));
    h.ring_head.store(rng() % 2 ? rng() % 100 : rng() >> 1);
    TraceFile f = TraceFile::from_bytes(img.bytes());
    Snapshot s = f.snapshot(false);
    EXPECT_LE(s.threads.size(), h.max_threads);
    EXPECT_LE(s.channels.size(), h.max_channels);
    for (const auto& t : s.threads) {
      EXPECT_LE(t.waits.size(), tf::kMaxWaits);
      EXPECT_LT(t.name.size(), h.string_bytes);
    }
    for (const auto& c : s.channels) {
      EXPECT_LE(c.holders.size(), tf::kMaxHolders);
      EXPECT_LE(c.former.size(), tf::kMaxFormer);
    }
    EXPECT_LE(f.events().size(), h.ring_capacity);
    exercise(f);
  }
}

// ---------------------------------------------------------------------------------------------
// Entries with out-of-range contents

TEST(TraceReader, StringsWithoutTerminatorsAreBounded) {
  TraceImage img;
  const std::uint32_t n = img.header().string_bytes;
  auto& t = img.add_thread(100, "");
  auto& u = img.add_thread(101, "");
  auto& c = img.add_channel(0x1, {100});
  std::memset(img.strings(), 'x', n);  // not one NUL in the whole string area
  img.header().strings_used.store(n);  // all of it in use
  t.name = n - 10;  // the last ten bytes
  t.file = 1;       // runs to the end of the area
  t.last_file = n;  // one past the end
  u.name = UINT32_MAX;
  c.file = n - 1;
  c.name = n + 1000;
  Snapshot s = TraceFile::from_bytes(img.bytes()).snapshot(false);
  ASSERT_EQ(s.threads.size(), 2u);
  EXPECT_EQ(s.threads[0].name, std::string(10, 'x'));
  EXPECT_LE(s.threads[0].file.size(), n - 1);
  EXPECT_EQ(s.threads[0].file.find_first_not_of('x'), std::string::npos);
  EXPECT_EQ(s.threads[0].last_file, "");
  EXPECT_EQ(s.threads[1].name, "");
  ASSERT_EQ(s.channels.size(), 1u);
  EXPECT_EQ(s.channels[0].file, "x");
  EXPECT_EQ(s.channels[0].name, "");
}

// The writer publishes an offset only once the string is written, below strings_used: an
// offset beyond it is garbage, and reads as the empty string.
TEST(TraceReader, StringOffsetsBeyondTheUsedPartAreEmpty) {
  TraceImage img;
  auto& t = img.add_thread(100, "main");
  const std::uint32_t used = img.header().strings_used.load();
  std::memcpy(img.strings() + used, "stale", 6);  // never allocated
  t.file = used;
  Snapshot s = TraceFile::from_bytes(img.bytes()).snapshot(false);
  ASSERT_EQ(s.threads.size(), 1u);
  EXPECT_EQ(s.threads[0].name, "main");
  EXPECT_EQ(s.threads[0].file, "");
}

// Entries refer to strings by offset: a corrupt file can point every reference at one 4 KiB
// string, which would copy 64 times the size of the entries. 65536 thread entries, three
// references each to 4095 bytes: 805 MB of copies, refused before any is made.
TEST(TraceReader, EntriesReferringToMoreStringsThanAReaderCopiesAreRefused) {
  tf::Capacities caps = small_capacities();
  caps.threads = 1u << 16;
  caps.string_bytes = 8192;
  TraceImage img(caps);
  const std::uint32_t long_string = img.add_string(std::string(4095, 's'));
  for (std::uint32_t i = 0; i < caps.threads; ++i) {
    tf::ThreadEntry& t = img.thread(i);
    t.pid = t.tid = static_cast<std::int32_t>(i + 1);
    t.name = t.file = t.last_file = long_string;
    t.seq.store(2);
  }
  img.header().threads_used.store(caps.threads);
  const std::uint64_t before = peak_rss();
  std::string e;
  try {
    TraceFile f = TraceFile::from_bytes(img.bytes());
    Snapshot s = f.snapshot(false);
    ADD_FAILURE() << "read " << s.threads.size() << " threads";
  } catch (const TraceError& error) {
    e = error.what();
  }
  EXPECT_TRUE(contains(e, "corrupt trace: its entries refer to")) << e;
  EXPECT_TRUE(contains(e, std::to_string(std::uint64_t{3} * 4095 * caps.threads))) << e;
  EXPECT_LT(peak_rss() - before, std::uint64_t{256} << 20);

  // A tenth of them is a lot of long strings, but fine.
  img.header().threads_used.store(caps.threads / 10);
  EXPECT_EQ(parse_error(img.bytes()), "");
}

TEST(TraceReader, OutOfRangeFieldsInThreadEntriesAreClamped) {
  TraceImage img;
  auto& t = img.add_thread(100, "main");
  t.state = 77;       // not a ThreadState
  t.op = 200;         // not a WaitOp
  t.n_waits = 255;    // more than waits[] holds
  for (auto& w : t.wait_ops) w = 9;
  for (std::uint32_t i = 0; i < tf::kMaxWaits; ++i) t.waits[i] = 0xdead0000 + i;
  auto& u = img.add_thread(101, "B");
  u.state = static_cast<std::uint32_t>(tf::ThreadState::blocked);
  u.op = static_cast<std::uint8_t>(tf::WaitOp::join);
  u.join_pid = -5;    // joins no valid pid
  u.since_ns = -1;
  Snapshot s = TraceFile::from_bytes(img.bytes()).snapshot(false);
  ASSERT_EQ(s.threads.size(), 2u);
  EXPECT_EQ(s.threads[0].state, tf::ThreadState::running);
  EXPECT_EQ(s.threads[0].op, tf::WaitOp::none);
  ASSERT_EQ(s.threads[0].waits.size(), tf::kMaxWaits);
  for (const auto& w : s.threads[0].waits) EXPECT_EQ(w.op, tf::WaitOp::none);
  EXPECT_FALSE(ceramic::detector::analyze(s).deadlock);
}

TEST(TraceReader, CountersBeyondTheTablesAreClamped) {
  TraceImage img;
  img.add_thread(100, "main");
  img.add_channel(0x1, {100});
  img.header().threads_used.store(UINT32_MAX);
  img.header().channels_used.store(UINT32_MAX);
  img.header().strings_used.store(UINT32_MAX);
  TraceFile f = TraceFile::from_bytes(img.bytes());
  Snapshot s = f.snapshot(false);
  EXPECT_EQ(s.threads.size(), 1u);   // the other entries were never published (seq 0)
  EXPECT_EQ(s.channels.size(), 1u);  // the other entries have id 0
  exercise(f);
}

TEST(TraceReader, UnpublishedThreadEntriesAreSkippedAndHalfWrittenOnesShowAsRunning) {
  TraceImage img;
  img.add_thread(100, "stable");
  auto& writing = img.add_thread(101, "writing");
  img.block(writing, tf::WaitOp::recv, 0x1, "/src/half.cpp", 9);
  writing.seq.store(7);  // odd: a writer is in the middle of it (or was killed there)
  img.add_thread(102, "unpublished").seq.store(0);
  img.add_thread(103, "scribbled").seq.store(1);  // no writer stores 1
  Snapshot s = TraceFile::from_bytes(img.bytes()).snapshot(false);
  ASSERT_EQ(s.threads.size(), 2u);
  EXPECT_EQ(s.threads[0].name, "stable");
  EXPECT_EQ(s.threads[1].name, "writing");
  EXPECT_EQ(s.threads[1].pid, 101);
  EXPECT_EQ(s.threads[1].state, tf::ThreadState::running);  // not the half-written blocked state
  EXPECT_EQ(s.threads[1].op, tf::WaitOp::none);
  EXPECT_TRUE(s.threads[1].waits.empty());
  EXPECT_EQ(s.threads[1].file, "");
  EXPECT_EQ(s.threads[1].seq, 6u);
}

TEST(TraceReader, HolderSlotsWithNegativePidsAreIgnored) {
  TraceImage img;
  img.add_channel(0x1, {100, -1, 0, INT_MIN, 101}, {-7, 100, 102, 102});
  Snapshot s = TraceFile::from_bytes(img.bytes()).snapshot(false);
  ASSERT_EQ(s.channels.size(), 1u);
  EXPECT_EQ(s.channels[0].holders, (std::vector<pid_t>{100, 101}));
  EXPECT_EQ(s.channels[0].former, (std::vector<pid_t>{102}));  // not holders, no duplicates
}

TEST(TraceReader, EventsWithUnknownKindsAndOpsAreReadAndExported) {
  TraceImage img;
  img.add_event(static_cast<tf::EventKind>(0), 100);
  img.add_event(static_cast<tf::EventKind>(250), 100, 0x1, 0, static_cast<tf::WaitOp>(99));
  img.add_event(tf::EventKind::unblock, 100);  // closes nothing: no block before it
  img.add_event(tf::EventKind::block, 100, 0x1, 0, tf::WaitOp::recv);  // still open at the end
  TraceFile f = TraceFile::from_bytes(img.bytes());
  std::vector<EventInfo> events = f.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].op, tf::WaitOp::none);
  std::string chrome = ceramic::detector::to_chrome_json(f.snapshot(false), events);
  EXPECT_NE(chrome.find("still blocked"), std::string::npos);
}

TEST(TraceReader, EventSlotsWithTheWrongSequenceAreSkipped) {
  TraceImage img;
  img.add_event(tf::EventKind::start, 100);
  img.add_event(tf::EventKind::start, 101).seq.store(0);   // being rewritten
  img.add_event(tf::EventKind::start, 102).seq.store(99);  // a stale or foreign sequence
  std::vector<EventInfo> events = TraceFile::from_bytes(img.bytes()).events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].pid, 100);
}

// Timestamps are copied from the file: extreme values must not overflow the arithmetic on
// them (signed overflow is undefined behaviour: these fail under UBSan, which ctest runs with
// halt_on_error=1 when CERAMIC_SANITIZE includes undefined).
TEST(TraceReader, ExtremeCreationTimeIsSafe) {
  TraceImage img;
  img.header().created_mono_ns = INT64_MIN;  // snapshot(): taken_ns = now - created
  TraceFile f = TraceFile::from_bytes(img.bytes());
  EXPECT_NO_THROW(exercise(f));
}

TEST(TraceReader, ExtremeBlockedSinceIsSafe) {
  TraceImage img;
  auto& t = img.add_thread(100, "main");
  img.block(t, tf::WaitOp::recv, 0x1, "f.cpp", 1);
  t.since_ns = INT64_MIN;  // analyze(): blocked_ns = taken_ns - since
  img.add_channel(0x1, {100});
  TraceFile f = TraceFile::from_bytes(img.bytes());
  Report r = ceramic::detector::analyze(f.snapshot(false));
  ASSERT_TRUE(r.deadlock);
  EXPECT_NO_THROW(exercise(f));
}

TEST(TraceReader, ExtremeEventTimesAreSafe) {
  TraceImage img;
  img.add_event(tf::EventKind::block, 100, 0x1, 0, tf::WaitOp::recv).t_ns = INT64_MIN;
  img.add_event(tf::EventKind::unblock, 100).t_ns = INT64_MAX;  // to_chrome_json: dur = end - start
  TraceFile f = TraceFile::from_bytes(img.bytes());
  EXPECT_NO_THROW(exercise(f));
}

TEST(TraceReader, ExtremeStillBlockedEventTimeIsSafe) {
  TraceImage img;
  img.add_event(tf::EventKind::block, 100, 0x1, 0, tf::WaitOp::recv).t_ns = INT64_MIN;
  img.add_event(tf::EventKind::start, 200).t_ns = INT64_MAX;  // the slice is drawn up to here
  TraceFile f = TraceFile::from_bytes(img.bytes());
  EXPECT_NO_THROW(exercise(f));
}

// A ring head at the very end of the sequence space must not make events() loop forever.
// Run in a child with an alarm, so a hang fails the test instead of hanging it.
TEST(TraceReaderDeathTest, RingHeadAtTheMaximumDoesNotHang) {
  TraceImage img;
  img.add_event(tf::EventKind::start, 100);
  img.header().ring_head.store(UINT64_MAX);
  Bytes bytes = img.bytes();
  EXPECT_EXIT(
      {
        alarm(5);
        TraceFile f = TraceFile::from_bytes(bytes);
        (void)f.events();
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace ceramic_test
