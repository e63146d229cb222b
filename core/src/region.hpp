// ceramic — mapping, creating and attaching one channel's shared-memory region.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ceramic/detail/channel.hpp"
#include "layout.hpp"

namespace ceramic::detail {

// The region's geometry, computed by this process from the header's immutable fields and
// checked against the mapping's size at attach time. Offsets are never re-read from the region.
struct Geometry {
  std::uint32_t elem_size = 0;
  std::uint32_t capacity = 0;
  std::uint32_t slot_count = 0;   // 2 x max_waiters: the queue pool, then the transfer pool
  std::uint32_t queue_slots = 0;  // max_waiters: slots [0, queue_slots) hold queued waiters
  std::uint32_t mask_words = 0;
  std::uint32_t inline_bytes = 0;
  std::uint64_t max_value = 0;  // the longest value: elem_size, or ChanOptions::max_value_bytes
  std::size_t masks_off = 0;   // extra mask words (index >= 1): send[W-1] then recv[W-1]
  std::size_t slots_off = 0;
  std::size_t slot_stride = 0;
  std::size_t tail_off = 0;    // SlotTail offset within a slot
  std::size_t ring_off = 0;
  std::size_t entry_stride = 0;
  std::size_t total = 0;

  static Geometry compute(std::uint32_t elem_size, std::size_t capacity, std::size_t max_waiters,
                          std::size_t inline_bytes, std::uint64_t max_value_bytes);
};

class Region {
 public:
  static std::unique_ptr<Region> create_anonymous(Shape, const ChanOptions&, Site);
  static std::unique_ptr<Region> create_named(const std::string& shm_name, Shape,
                                              const ChanOptions&, Site);
  static std::unique_ptr<Region> open_named(const std::string& shm_name, Shape,
                                            const OpenOptions&);
  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  const Geometry& geo() const noexcept { return geo_; }
  Header& hdr() noexcept { return *reinterpret_cast<Header*>(base_); }
  std::uint64_t id() const noexcept { return id_; }
  // The region's backing file, kept open by std::string channels (values longer than a slot
  // are parked in it past geo().total); -1 otherwise.
  int value_fd() const noexcept { return value_fd_; }

  SlotHead& slot(std::uint32_t i) noexcept {
    return *reinterpret_cast<SlotHead*>(base_ + geo_.slots_off + i * geo_.slot_stride);
  }
  unsigned char* slot_data(std::uint32_t i) noexcept {
    return base_ + geo_.slots_off + i * geo_.slot_stride + kSlotDataOffset;
  }
  SlotTail& tail(std::uint32_t i) noexcept {
    return *reinterpret_cast<SlotTail*>(base_ + geo_.slots_off + i * geo_.slot_stride +
                                        geo_.tail_off);
  }
  RingEntry& entry(std::uint32_t i) noexcept {
    return *reinterpret_cast<RingEntry*>(base_ + geo_.ring_off + i * geo_.entry_stride);
  }
  unsigned char* entry_data(std::uint32_t i) noexcept {
    return base_ + geo_.ring_off + i * geo_.entry_stride + sizeof(RingEntry);
  }
  // Mask word w (0 <= w < mask_words) of the send or receive queue.
  std::uint64_t& mask(SlotKind k, std::uint32_t w) noexcept {
    if (w == 0) return k == kSendKind ? hdr().l.send_mask0 : hdr().l.recv_mask0;
    auto* extra = reinterpret_cast<std::uint64_t*>(base_ + geo_.masks_off);
    return extra[(k == kSendKind ? 0 : geo_.mask_words - 1) + (w - 1)];
  }

 private:
  Region(unsigned char* base, Geometry geo);
  static unsigned char* map(int fd, std::size_t bytes);
  // std::string channels park long values in it: buffered sends, and unbuffered ones whose
  // receiver may not read the sender's memory.
  static bool keeps_value_file(std::uint32_t elem_size) { return elem_size == 0; }
  void init(Shape, Site);
  unsigned char* base_;
  Geometry geo_;
  std::uint64_t id_ = 0;
  int value_fd_ = -1;
  // A named channel's object, kept open with a read lock on it for as long as this process (or a
  // child that inherited it) holds the channel: see "Holding a named channel" in region.cpp.
  int hold_fd_ = -1;
};

// "/ceramic.<name>" after validating name; throws ChannelError with the reason.
std::string shm_name_for(std::string_view name);

// Throws ChannelError: the shared state contradicts itself (a peer scribbled on it).
[[noreturn]] void corrupt(const char* what);

}  // namespace ceramic::detail
