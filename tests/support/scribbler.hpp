// ceramic tests — the peer of the threat model (core/src/layout.hpp): a process that maps a
// named channel's region and writes whatever it likes into it, without the channel lock,
// as a buggy or malicious process that can open /dev/shm/ceramic.<name> could.
//
// It reads the layout from the library's own headers (core/src is on the include path of
// the process-mode tests only), so a forged slot is exactly what the library would read.
#pragma once

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "identity.hpp"
#include "layout.hpp"
#include "region.hpp"

namespace ceramic_test {

class Scribbler {
 public:
  explicit Scribbler(const std::string& channel_name) {
    const std::string shm = "/ceramic." + channel_name;
    fd_ = shm_open(shm.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("scribbler: cannot open " + shm);
    void* h = mmap(nullptr, sizeof(ceramic::detail::Header), PROT_READ, MAP_SHARED, fd_, 0);
    if (h == MAP_FAILED) throw std::runtime_error("scribbler: cannot map the header");
    const auto& info = static_cast<const ceramic::detail::Header*>(h)->info;
    geo_ = ceramic::detail::Geometry::compute(info.elem_size, info.capacity, info.max_waiters,
                                              info.inline_bytes, info.max_value_bytes);
    munmap(h, sizeof(ceramic::detail::Header));
    void* p = mmap(nullptr, geo_.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) throw std::runtime_error("scribbler: cannot map the region");
    base_ = static_cast<unsigned char*>(p);
  }
  ~Scribbler() {
    munmap(base_, geo_.total);
    close(fd_);
  }
  Scribbler(const Scribbler&) = delete;
  Scribbler& operator=(const Scribbler&) = delete;

  const ceramic::detail::Geometry& geo() const { return geo_; }
  ceramic::detail::Header& hdr() { return *reinterpret_cast<ceramic::detail::Header*>(base_); }
  ceramic::detail::SlotHead& slot(std::uint32_t i) {
    return *reinterpret_cast<ceramic::detail::SlotHead*>(base_ + geo_.slots_off +
                                                         i * geo_.slot_stride);
  }
  ceramic::detail::SlotTail& tail(std::uint32_t i) {
    return *reinterpret_cast<ceramic::detail::SlotTail*>(base_ + geo_.slots_off +
                                                         i * geo_.slot_stride + geo_.tail_off);
  }
  ceramic::detail::RingEntry& entry(std::uint32_t i) {
    return *reinterpret_cast<ceramic::detail::RingEntry*>(base_ + geo_.ring_off +
                                                          i * geo_.entry_stride);
  }
  std::uint32_t state(std::uint32_t i) {
    return slot(i).state.load() & ceramic::detail::kStateMask;
  }

  // Makes slot i look like the live owner's slot, holding a fresh ticket: len, kind and ref
  // (its src_slot/src_ticket filled in) as given, state st. Not queued.
  void forge_slot(std::uint32_t i, std::uint32_t kind, std::uint64_t len,
                  ceramic::detail::ValueRef ref, std::uint32_t st) {
    ceramic::detail::SlotTail& t = tail(i);
    t.ticket = hdr().l.next_ticket++;
    t.pid = getpid();
    t.tid = gettid();
    ref.src_slot = i;
    ref.src_ticket = t.ticket;
    t.ref = ref;
    ceramic::detail::SlotHead& s = slot(i);
    s.kind = kind;
    s.len = len;
    // A live owner as far as anyone can tell: this (scribbling) process's identity.
    s.owner.store(ceramic::detail::self_identity());
    s.state.store(st);
  }
  // A forged sender of a len-byte value described by ref, queued in slot i.
  void queue_sender(std::uint32_t i, std::uint64_t len, ceramic::detail::ValueRef ref) {
    forge_slot(i, ceramic::detail::kSendKind, len, ref, ceramic::detail::kWaiting);
    hdr().l.send_mask0 |= std::uint64_t{1} << i;
  }
  // The forged owner of slot i "dies": its identity now names a process that held our pid
  // before us (same pid, another start time), as if it had died and we had taken its pid.
  void kill_owner(std::uint32_t i) {
    slot(i).owner.store(ceramic::detail::self_identity() + (std::uint64_t{1} << 32));
  }

 private:
  int fd_ = -1;
  unsigned char* base_ = nullptr;
  ceramic::detail::Geometry geo_;
};

}  // namespace ceramic_test
