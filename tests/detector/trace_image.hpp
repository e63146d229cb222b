// ceramic detector tests — a trace file image in memory, to write entries into by hand.
//
// TraceImage starts from a real file made by ceramic::trace::create_file (small capacities),
// copies it into 64-byte-aligned memory (the alignment the format's structs declare, as a
// mapped file has) and gives typed access to the header, thread entries, channel entries,
// events and strings, so a test can write exactly the state it wants and hand the bytes to
// TraceFile::from_bytes.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ceramic/trace_format.hpp"
#include "process_util.hpp"

namespace ceramic_test {

namespace tf = ceramic::trace;

inline tf::Capacities small_capacities() {
  tf::Capacities c;
  c.threads = 8;
  c.channels = 8;
  c.events = 16;
  c.string_bytes = 512;
  return c;
}

class TraceImage {
 public:
  explicit TraceImage(tf::Capacities caps = small_capacities()) {
    TempDir dir;
    const std::string path = dir.file("image.trace");
    tf::create_file(path, caps);
    std::string bytes = read_file(path);
    size_ = bytes.size();
    mem_.reset(static_cast<unsigned char*>(std::aligned_alloc(64, (size_ + 63) / 64 * 64)));
    std::memcpy(mem_.get(), bytes.data(), size_);
  }

  std::size_t size() const { return size_; }
  unsigned char* data() { return mem_.get(); }
  std::vector<unsigned char> bytes() const { return {mem_.get(), mem_.get() + size_}; }
  std::vector<unsigned char> prefix(std::size_t n) const {
    return {mem_.get(), mem_.get() + std::min(n, size_)};
  }

  tf::FileHeader& header() { return *reinterpret_cast<tf::FileHeader*>(mem_.get()); }
  tf::ThreadEntry& thread(std::uint32_t i) {
    return reinterpret_cast<tf::ThreadEntry*>(mem_.get() + header().threads_off)[i];
  }
  tf::ChannelEntry& channel(std::uint32_t i) {
    return reinterpret_cast<tf::ChannelEntry*>(mem_.get() + header().channels_off)[i];
  }
  tf::Event& event_slot(std::uint32_t i) {
    return reinterpret_cast<tf::Event*>(mem_.get() + header().ring_off)[i];
  }
  unsigned char* strings() { return mem_.get() + header().strings_off; }

  // Interns s the way the writer does (bump allocation, NUL-terminated); returns its offset.
  std::uint32_t add_string(const std::string& s) {
    if (s.empty()) return 0;  // offset 0 is the empty string
    auto off = header().strings_used.fetch_add(static_cast<std::uint32_t>(s.size() + 1));
    std::memcpy(strings() + off, s.c_str(), s.size() + 1);
    return off;
  }

  // Claims the next thread entry, published (seq even and non-zero).
  tf::ThreadEntry& add_thread(std::int32_t pid, const std::string& name) {
    std::uint32_t i = header().threads_used.fetch_add(1);
    tf::ThreadEntry& t = thread(i);
    t.pid = pid;
    t.tid = pid;
    t.ppid = 1;
    t.name = add_string(name);
    t.state = static_cast<std::uint32_t>(tf::ThreadState::running);
    t.seq.store(2);
    return t;
  }
  void block(tf::ThreadEntry& t, tf::WaitOp op, std::uint64_t channel, const std::string& file,
             int line) {
    t.state = static_cast<std::uint32_t>(tf::ThreadState::blocked);
    t.op = static_cast<std::uint8_t>(op);
    t.waits[0] = channel;
    t.wait_ops[0] = static_cast<std::uint8_t>(op);
    t.n_waits = 1;
    t.file = add_string(file);
    t.line = line;
  }

  tf::ChannelEntry& add_channel(std::uint64_t id, std::vector<std::int32_t> holders,
                                std::vector<std::int32_t> former = {}) {
    std::uint32_t i = header().channels_used.fetch_add(1);
    tf::ChannelEntry& c = channel(i);
    for (std::size_t k = 0; k < holders.size(); ++k) c.holders[k].store(holders[k]);
    for (std::size_t k = 0; k < former.size(); ++k) c.former[k].store(former[k]);
    c.former_next.store(static_cast<std::uint32_t>(former.size()));
    c.id.store(id);
    return c;
  }

  // Appends an event to the ring (sequence numbers from 1), published.
  tf::Event& add_event(tf::EventKind kind, std::int32_t pid, std::uint64_t channel = 0,
                       std::int32_t peer = 0, tf::WaitOp op = tf::WaitOp::none) {
    std::uint64_t seq = header().ring_head.fetch_add(1) + 1;
    tf::Event& e = event_slot(static_cast<std::uint32_t>(seq & (header().ring_capacity - 1)));
    e.t_ns = static_cast<std::int64_t>(seq) * 1000;
    e.pid = pid;
    e.tid = pid;
    e.peer = peer;
    e.kind = static_cast<std::uint8_t>(kind);
    e.op = static_cast<std::uint8_t>(op);
    e.channel = channel;
    e.seq.store(seq);
    return e;
  }

 private:
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char, Free> mem_;
  std::size_t size_ = 0;
};

// CERAMIC_TEST_SEED repeats a randomised run; otherwise a fresh seed, printed on failure.
inline std::uint64_t test_seed() {
  if (const char* s = std::getenv("CERAMIC_TEST_SEED"); s != nullptr && *s != '\0') {
    return std::strtoull(s, nullptr, 0);
  }
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

inline std::string seed_note(std::uint64_t s) {
  return "random seed " + std::to_string(s) + " (repeat with CERAMIC_TEST_SEED=" +
         std::to_string(s) + ")";
}

}  // namespace ceramic_test
